"""The shapes shared by the endpoint logic and the two API versions: who is calling
(`Principal`), what an endpoint sees (`Call`), what it is (`Endpoint`), and what a
version must provide (`ApiVersion`): its authentication, permission check, acting user
and pagination. The pipeline that puts them in order is in app.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from multidict import CIMultiDictProxy, MultiMapping

from greenhouse_emulator.harvest.answers import Answer, no_access
from greenhouse_emulator.harvest.state import Organisation

if TYPE_CHECKING:
    from greenhouse_emulator.harvest.service import Service


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: its public credential id, what it was granted (v1
    permission labels or v3 scopes) and, for a v3 token, its `sub`."""

    credential: str
    grants: frozenset[str]
    sub: int | None = None


@dataclass(frozen=True)
class Call:
    """What an endpoint's logic gets: the organisation, the version ("v1"/"v3"), the path
    parameters, the query (for a list, the one its filters come from: a v3 cursor's),
    the parsed JSON body (None without one) and the acting user of a write."""

    organisation: Organisation
    version: str
    match_info: Mapping[str, str]
    query: MultiMapping[str]
    body: Any
    acting_user: int | None


@dataclass(frozen=True)
class Listing:
    """A list endpoint's whole result, in id order; the version pages it."""

    items: list[dict[str, Any]]


@dataclass(frozen=True)
class Endpoint:
    """One Harvest endpoint, as served under both versions. `v1_paging` is how v1 pages
    a list endpoint (None: not a list); every v3 list uses cursors."""

    name: str
    method: str
    permission: str
    handler: Callable[[Call], Answer | Listing]
    v1_path: str
    v3_path: str
    write: bool = False
    v1_paging: Literal["classic", "next"] | None = None


class Pager(Protocol):
    """Pagination of one list request."""

    @property
    def query(self) -> MultiMapping[str]:
        """The query the list's filters are read from."""
        ...

    def answer(self, items: list[dict[str, Any]]) -> Answer:
        """The page of `items` this request gets, with its Link header."""
        ...


Headers = CIMultiDictProxy[str]


class ApiVersion(Protocol):
    """What differs between Harvest v1 and v3."""

    name: str

    def path(self, endpoint: Endpoint) -> str:
        """The route of `endpoint` under this version."""
        ...

    def authenticate(self, service: Service, headers: Headers, now: float) -> Principal | Answer:
        """The caller, or the 401 to answer."""
        ...

    def identify(self, service: Service, headers: Headers, now: float) -> str | None:
        """The credential id of a request, if it authenticates (for records only)."""
        ...

    def refusal(self, endpoint: Endpoint, principal: Principal) -> Answer | None:
        """The answer when the caller lacks the endpoint's permission."""
        ...

    def acting_user(self, service: Service, principal: Principal, headers: Headers) -> int:
        """The Site Admin a write acts as; HarvestError otherwise."""
        ...

    def on_behalf_of(self, principal: Principal | None, headers: Headers) -> int | None:
        """The acting user to record."""
        ...

    def pager(
        self, service: Service, endpoint: Endpoint, path: str, query: MultiMapping[str]
    ) -> Pager:
        """The pagination of a list request (HarvestError for bad paging parameters)."""
        ...


def acting_site_admin(organisation: Organisation, user_id: int) -> int:
    """`user_id` if that user is a Site Admin; Harvest's 403 otherwise.

    The docs do not say whether these writes need a Site Admin acting user (reference
    §3.3, UNCONFIRMED); the emulator takes the conservative side and requires one for
    every write, so a client that works here works whatever Greenhouse checks."""
    user = organisation.users[user_id]
    if not user.site_admin:
        raise no_access()
    return user_id
