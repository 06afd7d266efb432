"""HarvestEmulator: one Greenhouse organisation's Harvest API (v1 and v3) and OAuth
token endpoint, served in-process over HTTPS, for testing a Harvest client against a
faithful peer: it enforces authentication, per-key permissions (v1) and scopes (v3),
On-Behalf-Of and `sub`, validation, pagination and the rate limits, and can be made to
fail (faults) and observed (requests, stats). Where Harvest v3's behaviour is still
unconfirmed it plays the reading `v3_behaviour` chooses, the worst one by default.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from greenhouse_emulator.harvest.answers import HarvestError
from greenhouse_emulator.harvest.app import create_app
from greenhouse_emulator.harvest.behaviour import V3Behaviour
from greenhouse_emulator.harvest.customfields import FIELD_TYPES, SELECT_TYPES
from greenhouse_emulator.harvest.permissions import (
    ALL_PERMISSIONS,
    ALL_SCOPES,
    checked_permissions,
    checked_scopes,
)
from greenhouse_emulator.harvest.ratelimit import WindowCount
from greenhouse_emulator.harvest.records import HarvestRequest, HarvestStats, TokenRequest
from greenhouse_emulator.harvest.service import Service, Settings
from greenhouse_emulator.harvest.v3 import TOKEN_PATH
from greenhouse_emulator.serving import Served, serve
from greenhouse_emulator.tls import (
    DEFAULT_NAMES,
    TlsFiles,
)

_WILDCARD_HOSTS: Final = frozenset({"", "0.0.0.0", "::"})


class HarvestEmulator:
    """Harvest for one organisation. Use as `async with HarvestEmulator() as harvest:`
    or call `start()`/`stop()`.

    Set up the organisation (`add_user`, `add_application`, `add_custom_field`, ...),
    hand the client a credential (`issue_v1_key`, `issue_v3_client`) and a Site Admin's
    id for On-Behalf-Of/`sub`, then look at `requests`, `stats()` and the records.
    `rate_limit`, `rate_window_seconds`, `v3_rate_window_seconds`,
    `token_lifetime_seconds` and `v3_behaviour` may be changed at any time; they apply
    from the next request.
    """

    def __init__(
        self,
        *,
        tls: bool = True,
        rate_limit: int = 50,
        rate_window_seconds: float = 10.0,
        v3_rate_window_seconds: float = 30.0,
        token_lifetime_seconds: float = 3600.0,
        v3_behaviour: V3Behaviour | None = None,
        first_id: int | None = None,
        cert_dir: str | Path | None = None,
        token_clock: Callable[[], float] = time.time,
    ) -> None:
        """`first_id` is the first id handed out (to users, applications, fields and
        options alike; default: a random large one). `cert_dir` keeps the generated
        certificates there instead of in a temporary directory. `v3_behaviour` chooses
        among the plausible readings of what is unconfirmed about v3 (default: the worst
        case for a client, `V3Behaviour()`). `token_clock` (wall-clock seconds) times the
        v3 tokens' lives; a test may move it by hand."""
        self.tls = tls
        settings = Settings(
            rate_limit,
            rate_window_seconds,
            token_lifetime_seconds,
            v3_rate_window_seconds,
            v3_behaviour or V3Behaviour(),
        )
        self._service = Service(settings, first_id, token_clock=token_clock)
        self._cert_dir = Path(cert_dir) if cert_dir is not None else None
        self._tls_files: TlsFiles | None = None
        self._served: Served | None = None
        self._host = ""
        self._port = 0

    # --- lifecycle -------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Generate the TLS certificate (unless tls=False) and serve on host:port (0
        picks a free port)."""
        if self._served is not None:
            raise RuntimeError("the Harvest emulator is already started")
        self._host = host if host not in _WILDCARD_HOSTS else "127.0.0.1"
        self._service.restarting()
        served = await serve(
            create_app(self._service),
            host,
            port,
            tls_names=[*DEFAULT_NAMES, self._host] if self.tls else None,
            cert_dir=self._cert_dir,
            temp_prefix="harvest-emulator-",
        )
        self._served, self._tls_files, self._port = served, served.tls_files, served.port
        self._service.base_url = self.base_url

    async def stop(self) -> None:
        """Answer any request held by a timeout fault, stop serving and remove generated
        certificates (unless they were written to a given cert_dir)."""
        self._service.stopping()
        if self._served is not None:
            await self._served.stop()
            self._served = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- addresses -------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port it listens on."""
        self._require_started()
        return self._port

    @property
    def base_url(self) -> str:
        """scheme://host:port; v1 is under base_url + "/v1", v3 under base_url + "/v3"."""
        self._require_started()
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{'https' if self.tls else 'http'}://{host}:{self._port}"

    @property
    def token_url(self) -> str:
        """Stands in for https://auth.greenhouse.io/token."""
        return self.base_url + TOKEN_PATH

    @property
    def ca_cert_path(self) -> Path | None:
        """The PEM CA certificate that signed the server's (None with tls=False)."""
        self._require_started()
        return self._tls_files.ca_cert if self._tls_files is not None else None

    # --- settings --------------------------------------------------------------------

    @property
    def rate_limit(self) -> int:
        """Requests per credential per rate window (X-RateLimit-Limit)."""
        return self._service.settings.rate_limit

    @rate_limit.setter
    def rate_limit(self, value: int) -> None:
        self._service.settings.rate_limit = value

    @property
    def rate_window_seconds(self) -> float:
        """v1's sliding window (Harvest v1: 10 s)."""
        return self._service.settings.rate_window_seconds

    @rate_window_seconds.setter
    def rate_window_seconds(self, value: float) -> None:
        self._service.settings.rate_window_seconds = value

    @property
    def v3_rate_window_seconds(self) -> float:
        """v3's fixed window (harvest-v3-facts.md row 39: 30 s)."""
        return self._service.settings.v3_rate_window_seconds

    @v3_rate_window_seconds.setter
    def v3_rate_window_seconds(self, value: float) -> None:
        self._service.settings.v3_rate_window_seconds = value

    @property
    def v3_behaviour(self) -> V3Behaviour:
        """The reading played of each unconfirmed v3 behaviour (behaviour.py)."""
        return self._service.settings.v3

    @v3_behaviour.setter
    def v3_behaviour(self, value: V3Behaviour) -> None:
        self._service.settings.v3 = value

    @property
    def token_lifetime_seconds(self) -> float:
        """How long v3 tokens issued from now on live (Harvest: an hour)."""
        return self._service.settings.token_lifetime_seconds

    @token_lifetime_seconds.setter
    def token_lifetime_seconds(self, value: float) -> None:
        self._service.settings.token_lifetime_seconds = value

    # --- the organisation --------------------------------------------------------------

    def add_user(
        self,
        first_name: str,
        last_name: str,
        email: str,
        *,
        site_admin: bool = False,
        disabled: bool = False,
        secondary_emails: Sequence[str] = (),
        employee_id: str | None = None,
    ) -> int:
        """A user created in Greenhouse (a Site Admin if asked: unlike Harvest, the UI can
        make one); returns the id. ValueError for a blank name or an invalid or taken
        e-mail."""
        try:
            user = self._service.organisation.add_user(
                first_name,
                last_name,
                email,
                site_admin=site_admin,
                disabled=disabled,
                secondary_emails=secondary_emails,
                employee_id=employee_id,
            )
        except HarvestError as error:
            raise ValueError(error.message) from error
        return user.id

    def set_site_admin(self, user_id: int, site_admin: bool = True) -> None:
        """Promote (or demote) a user, as a Site Admin would in the UI."""
        self._user(user_id).site_admin = site_admin

    def set_disabled(self, user_id: int, disabled: bool = True) -> None:
        """Disable (or enable) a user."""
        self._user(user_id).disabled = disabled

    def user(self, user_id: int) -> dict[str, Any]:
        """The Harvest user JSON (with its user-attribute custom fields); KeyError if
        unknown."""
        return self._service.organisation.user_json(self._user(user_id), attributes=True)

    def users_by_email(self, email: str) -> list[dict[str, Any]]:
        """Users with this primary or secondary e-mail (case-insensitive)."""
        organisation = self._service.organisation
        return [organisation.user_json(user) for user in organisation.users_by_email(email)]

    def add_application(self, *, candidate_id: int | None = None, status: str = "active") -> int:
        """A new application (of a new candidate unless `candidate_id` is given) with
        status active, rejected, hired or converted; returns its id."""
        return self._service.organisation.add_application(candidate_id, status)

    def delete_application(self, application_id: int) -> None:
        """Delete it in Greenhouse: from now on Harvest answers 404 "Application {id}
        has been deleted."."""
        self._application(application_id).deleted = True

    def application(self, application_id: int) -> dict[str, Any]:
        """The Harvest application JSON (also for a deleted one); KeyError if unknown."""
        return self._service.organisation.application_json(self._application(application_id))

    def add_custom_field(
        self,
        name: str,
        *,
        field_type: str = "application",
        value_type: str = "number",
        options: Sequence[str] = (),
        description: str | None = None,
    ) -> dict[str, Any]:
        """A custom field someone else created in Greenhouse, validated as Harvest's
        Create Custom Field would (ValueError otherwise); `options` are the names of a
        select field's options. Returns the field's JSON."""
        body: dict[str, Any] = {
            "name": name,
            "field_type": field_type,
            "value_type": value_type,
            "description": description,
        }
        if value_type in SELECT_TYPES:
            body["custom_field_options"] = [
                {"name": option, "priority": priority} for priority, option in enumerate(options)
            ]
        try:
            return self._service.organisation.create_field(body).to_json()
        except HarvestError as error:
            raise ValueError(error.message) from error

    def deactivate_custom_field(self, field_id: int) -> None:
        """Soft-delete a field (`active` false), as DELETE /v1/custom_fields/{id} does."""
        fields = self._service.organisation.fields
        if field_id not in fields:
            raise KeyError(f"no custom field {field_id}")
        fields[field_id].active = False

    def set_application_custom_field(self, application_id: int, name_key: str, value: Any) -> None:
        """Write an application field's value as someone in Greenhouse would (None removes
        it), given as a PATCH takes it or as a v3 read shows it (a currency as `{"value",
        "unit"}`); KeyError for an unknown application or field, ValueError for a value
        that does not fit the field."""
        self._service.organisation.set_value(self._application(application_id), name_key, value)

    def custom_fields(
        self, field_type: str = "application", *, include_inactive: bool = False
    ) -> list[dict[str, Any]]:
        """The fields of one type, as List Custom Fields shows them."""
        if field_type not in FIELD_TYPES:
            raise ValueError(f"field_type must be one of {FIELD_TYPES}")
        fields = self._service.organisation.fields_of(field_type, include_inactive=include_inactive)
        return [custom_field.to_json() for custom_field in fields]

    # --- credentials -----------------------------------------------------------------

    def issue_v1_key(self, permissions: Iterable[str] = ALL_PERMISSIONS) -> str:
        """A new Harvest v1/v2 API key with these endpoint permissions; returns its token
        (the Basic auth username)."""
        return self._service.credentials.issue_v1_key(checked_permissions(permissions)).token

    def grant_v1_permissions(self, api_token: str, permissions: Iterable[str]) -> None:
        """A Greenhouse admin ticks more endpoint permissions for a v1 key (API Credential
        Management → Manage Permissions); the key's next request has them."""
        self._service.credentials.grant_v1(api_token, checked_permissions(permissions))

    def key_id(self, api_token: str) -> str:
        """The public id a v1 key appears under in `requests` (`credential`)."""
        key_id = self._service.credentials.key_id(api_token)
        if key_id is None:
            raise KeyError("no such API key")
        return key_id

    def issue_v3_client(self, scopes: Iterable[str] = ALL_SCOPES) -> tuple[str, str]:
        """A new Harvest v3 (OAuth) client granted these scopes (`ALL_SCOPES`, or names
        such as "harvest:users:list"); returns (client_id, client_secret)."""
        client = self._service.credentials.issue_v3_client(checked_scopes(scopes))
        return client.client_id, client.client_secret

    def set_v3_scopes(self, client_id: str, scopes: Iterable[str]) -> None:
        """Change a client's scopes, as an admin does under Manage Scopes: a scope taken
        away stops working at once, a scope added only reaches tokens issued from now on
        (harvest-v3-facts.md E16). KeyError for an unknown client."""
        self._service.credentials.client(client_id).scopes = checked_scopes(scopes)

    def revoke_tokens(self) -> None:
        """Every bearer token issued so far answers 401 from now on (an early expiry)."""
        self._service.credentials.revoke_tokens()

    # --- faults ----------------------------------------------------------------------

    def inject_faults(
        self,
        probability: float,
        statuses: Sequence[int] = (429, 500, 502, 503),
        *,
        seconds: float | None = None,
        hang_seconds: float = 0.0,
        seed: int | None = None,
    ) -> None:
        """For the next `seconds` (None: until clear_faults), fail each Harvest API
        request (not /token) with `probability`, with a status drawn from `statuses`:
        answered at once, before authentication, not applied and not counted against
        the rate limit (a 429 carries Retry-After: 1). A status of 0 is a timeout: the
        request is applied normally but answered only after `hang_seconds` (also used
        for a 0 in `next_statuses`) and recorded with status 0 (`late_status` says what
        was sent). A status below 400 means "behave normally"."""
        until = time.monotonic() + seconds if seconds is not None else None
        self._service.faults.inject(
            probability, statuses, until=until, hang_seconds=hang_seconds, seed=seed
        )

    def clear_faults(self) -> None:
        """No more random faults, and no scripted ones (`next_statuses` and every
        `route_statuses` are emptied)."""
        self._service.faults.clear()
        self._service.faults.routes.clear()
        self._service.next_statuses.clear()

    def route_statuses(self, method: str, path: str) -> deque[int]:
        """Scripted answers for the next requests to exactly this route (say "POST",
        "/v3/users"), FIFO, before `next_statuses`; same meanings as in inject_faults."""
        return self._service.faults.routes.setdefault((method.upper(), path), deque())

    @property
    def next_statuses(self) -> deque[int]:
        """Scripted answers for the next API requests, FIFO, before any random fault;
        same meanings as in inject_faults (200 behaves normally)."""
        return self._service.next_statuses

    @next_statuses.setter
    def next_statuses(self, value: Iterable[int]) -> None:
        self._service.next_statuses.clear()
        self._service.next_statuses.extend(value)

    @property
    def hang_seconds(self) -> float:
        """How long a timeout fault holds its answer."""
        return self._service.faults.hang_seconds

    @hang_seconds.setter
    def hang_seconds(self, value: float) -> None:
        self._service.faults.hang_seconds = value

    # --- observation -----------------------------------------------------------------

    @property
    def requests(self) -> list[HarvestRequest]:
        """Every Harvest API request so far, in arrival order."""
        return self._service.requests

    @property
    def token_requests(self) -> list[TokenRequest]:
        """Every POST /token so far."""
        return self._service.token_requests

    def stats(self) -> HarvestStats:
        """A summary of `requests`. `max_in_window` is the most requests one credential
        had counted in one window: v1's sliding or v3's fixed ones."""
        service = self._service
        most = max(service.limiter.max_in_window, service.v3_limiter.max_in_window)
        return HarvestStats.of(service.requests, most)

    def window_counts(self, credential: str | None = None) -> list[WindowCount]:
        """v3's fixed windows that saw a request, in time order: per credential (a client
        id; None: every one) the requests counted and the 429s answered in each."""
        windows = self._service.v3_limiter.windows.values()
        chosen = [w for w in windows if credential is None or w.credential == credential]
        return sorted(chosen, key=lambda w: (w.index, w.credential))

    # --- internals -------------------------------------------------------------------

    def _require_started(self) -> None:
        if self._served is None:
            raise RuntimeError("the Harvest emulator is not started")

    def _user(self, user_id: int) -> Any:
        users = self._service.organisation.users
        if user_id not in users:
            raise KeyError(f"no user {user_id}")
        return users[user_id]

    def _application(self, application_id: int) -> Any:
        applications = self._service.organisation.applications
        if application_id not in applications:
            raise KeyError(f"no application {application_id}")
        return applications[application_id]
