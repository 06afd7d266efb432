"""The shapes shared by the endpoint logic and the two API versions: who is calling
(`Principal`), what an endpoint sees (`Call`), what it is (`Endpoint`), and what a
version must provide (`ApiVersion`): its authentication, permission check, acting user
and pagination. The pipeline that puts them in order is in app.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from multidict import CIMultiDictProxy, MultiMapping

from greenhouse_emulator.harvest.answers import Answer, HarvestError
from greenhouse_emulator.harvest.behaviour import V3Behaviour
from greenhouse_emulator.harvest.ratelimit import Limiter
from greenhouse_emulator.harvest.state import Organisation

if TYPE_CHECKING:
    from greenhouse_emulator.harvest.service import Service


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: its public credential id, what it was granted (v1
    permission labels or v3 scopes) and, for a v3 token, its `sub` and the token's
    number (records name a token by it, never by its secret)."""

    credential: str
    grants: frozenset[str]
    sub: int | None = None
    token: int | None = None


@dataclass(frozen=True)
class Call:
    """What an endpoint's logic gets: the organisation, the version ("v1"/"v3"), the path
    parameters, the query (for a list, the one its filters come from: a v3 cursor's),
    the parsed JSON body (None without one), the acting user of a write and, for v3, the
    emulator's choices where v3's behaviour is unconfirmed."""

    organisation: Organisation
    version: str
    match_info: Mapping[str, str]
    query: MultiMapping[str]
    body: Any
    acting_user: int | None
    # v3's settings for what is unconfirmed (None for v1).
    behaviour: V3Behaviour | None = None


@dataclass(frozen=True)
class Listing:
    """A list endpoint's whole result, in id order; the version pages it."""

    items: list[dict[str, Any]]


@dataclass(frozen=True)
class Endpoint:
    """One Harvest endpoint of one version, at `path` under the version's prefix.
    `grant` is the v1 permission label or the v3 scope it needs. `paging` is how a list
    endpoint pages (None: not a list). `parameters` are the query parameters a v3
    endpoint knows (E3: any other is refused)."""

    name: str
    method: str
    path: str
    grant: str
    handler: Callable[[Call], Answer | Listing]
    write: bool = False
    paging: Literal["classic", "next", "cursor"] | None = None
    parameters: frozenset[str] = frozenset()


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

    prefix: str
    endpoints: tuple[Endpoint, ...]

    def authenticate(self, service: Service, headers: Headers, now: float) -> Principal | Answer:
        """The caller, or the 401 to answer."""
        ...

    def identify(self, service: Service, headers: Headers, now: float) -> str | None:
        """The credential id of a request, if it authenticates (for records only)."""
        ...

    def refusal(self, service: Service, endpoint: Endpoint, principal: Principal) -> Answer | None:
        """The answer when the caller lacks the endpoint's permission or scope."""
        ...

    def read_refusal(
        self, service: Service, endpoint: Endpoint, principal: Principal, query: MultiMapping[str]
    ) -> Answer | None:
        """For a read, the answer when the caller may not read this way (v3: unknown query
        parameters, a reader who is not a Site Admin); None to go on."""
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

    def limiter(self, service: Service) -> tuple[Limiter, float]:
        """The version's rate limiter and its window."""
        ...

    def shaped(self, answer: Answer) -> Answer:
        """An answer built from the rules both versions share, in this version's shape."""
        ...


def acting_site_admin(organisation: Organisation, user_id: int, refused: Answer) -> int:
    """`user_id` if that user is a Site Admin; `refused` (the version's 403) otherwise.

    The docs do not say whether these writes need a Site Admin acting user (reference
    §3.3, UNCONFIRMED); the emulator takes the conservative side and requires one for
    every write, so a client that works here works whatever Greenhouse checks. (For v3,
    W6W and AB: "a missing scope or a non-Site-Admin authorizing user surfaces as a 403",
    row 34.)"""
    user = organisation.users[user_id]
    if not user.site_admin:
        raise HarvestError(refused.status, refused.body, refused.headers)
    return user_id
