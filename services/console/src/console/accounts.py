"""The console's people: invitations, accepting them, signing in, password resets, roles,
and the audit log. Use cases own their transactions; SQL is in store.py.

Signing in goes through one interface, `Authenticator`: passwords today
(`PasswordAuthenticator`, argon2id); an OIDC provider can replace it without touching
sessions, roles or pages (see the console README).
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.acting import OWNER, ROLES
from alooba_common.db import utcnow
from alooba_common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from alooba_common.outbox import enqueue
from alooba_common.secrets import SecretBox
from console.store.models import OUTBOX, AuditEntry, Link, LoginFailure, Membership, User
from console.store.repository import Store

log = structlog.get_logger("console.accounts")

INVITATION = "invitation"
RESET = "reset"
EMAIL_KIND = "console.email"
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MAX_EMAIL = 320


def new_id() -> str:
    return uuid.uuid4().hex


def normalize_email(raw: str) -> str:
    email = raw.strip().lower()
    local, _, domain = email.rpartition("@")
    if (
        not local
        or "." not in domain
        or len(email) > MAX_EMAIL
        or any(c.isspace() or c in "<>\"'" for c in email)
    ):
        raise InvalidArgument("that is not an e-mail address")
    return email


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidArgument(f"the password must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidArgument(f"the password must be at most {MAX_PASSWORD} characters")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidArgument("the role must be owner, admin or member")
    return role


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something, for the audit log: a signed-in user, or an operator."""

    user_id: str | None
    label: str

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, user.email)


OPERATOR = Actor(None, "operator (alooba-gh)")


@dataclass(frozen=True, slots=True)
class LinkPreview:
    kind: str
    email: str
    organization_id: str | None
    role: str | None
    # The invited person already has an account (they confirm with their password).
    existing_user: bool


def verify_password(hasher: PasswordHasher, hashed: str, password: str) -> bool:
    try:
        return bool(hasher.verify(hashed, password))
    except (VerificationError, InvalidHashError):
        return False


# --- signing in ------------------------------------------------------------------


class Authenticator(Protocol):
    """Who the credentials belong to, or None. The one place login is decided."""

    async def authenticate(self, email: str, password: str) -> User | None: ...


class PasswordAuthenticator:
    """argon2id password hashes (argon2-cffi's defaults, RFC 9106's second choice)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], hasher: PasswordHasher) -> None:
        self._sessions = sessions
        self._hasher = hasher
        # Verified against when the user is unknown, so both cases take the same time.
        self._dummy = hasher.hash(secrets.token_urlsafe(16))

    async def authenticate(self, email: str, password: str) -> User | None:
        async with self._sessions.begin() as session:
            user = await Store(session).user_by_email(email)
        if user is None or user.password_hash is None:
            verify_password(self._hasher, self._dummy, password)
            return None
        if not verify_password(self._hasher, user.password_hash, password):
            return None
        if self._hasher.check_needs_rehash(user.password_hash):
            async with self._sessions.begin() as session:
                stored = await Store(session).user(user.id)
                if stored is not None:
                    stored.password_hash = self._hasher.hash(password)
        return user


class LoginThrottle:
    """Failed sign-ins per e-mail address and per client address, in the database so
    every replica counts the same. Subjects are keyed hashes: no address is stored."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        window_seconds: int,
        per_email: int,
        per_address: int,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._window = dt.timedelta(seconds=window_seconds)
        self._limits = (per_email, per_address)

    def _subjects(self, email: str, address: str) -> tuple[str, str]:
        return (
            "e:" + self._box.lookup_hash("login-email:" + email)[:64],
            "a:" + self._box.lookup_hash("login-address:" + address)[:64],
        )

    async def retry_after(self, email: str, address: str) -> int | None:
        """Seconds to wait when either limit is spent, else None."""
        since = utcnow() - self._window
        async with self._sessions.begin() as session:
            store = Store(session)
            for subject, limit in zip(self._subjects(email, address), self._limits, strict=True):
                if await store.failures_since(subject, since) >= limit:
                    return int(self._window.total_seconds())
        return None

    async def failed(self, email: str, address: str) -> None:
        now = utcnow()
        async with self._sessions.begin() as session:
            store = Store(session)
            for subject in self._subjects(email, address):
                store.add(LoginFailure(id=new_id(), subject=subject, occurred_at=now))
            await store.prune_failures(now - self._window)

    async def succeeded(self, email: str) -> None:
        async with self._sessions.begin() as session:
            await Store(session).forget_failures(self._subjects(email, "")[0])


# --- the accounts -----------------------------------------------------------------


class Accounts:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        hasher: PasswordHasher,
        *,
        invitation_ttl: dt.timedelta,
        reset_ttl: dt.timedelta,
        outbox_committed: Any = None,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._hasher = hasher
        self._invitation_ttl = invitation_ttl
        self._reset_ttl = reset_ttl
        self._outbox_committed = outbox_committed or (lambda: None)

    # --- links ---------------------------------------------------------------

    async def _new_link(
        self,
        store: Store,
        kind: str,
        email: str,
        ttl: dt.timedelta,
        *,
        organization_id: str | None = None,
        role: str | None = None,
        invited_by: str | None = None,
    ) -> tuple[Link, str]:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        link = Link(
            id=new_id(),
            kind=kind,
            token_hash=self._box.lookup_hash(token),
            email=email,
            organization_id=organization_id,
            role=role,
            invited_by=invited_by,
            created_at=now,
            expires_at=now + ttl,
        )
        link.encrypted_token = self._box.encrypt(token, context=link.id)
        store.add(link)
        # Emailed by the relay; the message carries the link's id only.
        await enqueue(store.session, OUTBOX, EMAIL_KIND, {"link_id": link.id}, dedupe_key=link.id)
        return link, token

    async def invite(
        self, organization_id: str, email: str, role: str, actor: Actor
    ) -> tuple[Link, str]:
        """A link for `email` to join `organization_id` as `role`, emailed to them. The
        caller has checked that the organization exists and that `actor` may invite."""
        email = normalize_email(email)
        role = check_role(role)
        async with self._sessions.begin() as session:
            store = Store(session)
            user = await store.user_by_email(email)
            if user is not None and await store.membership(user.id, organization_id):
                raise AlreadyExists(f"{email} is already a member")
            link, token = await self._new_link(
                store,
                INVITATION,
                email,
                self._invitation_ttl,
                organization_id=organization_id,
                role=role,
                invited_by=actor.user_id,
            )
            self._audit(store, organization_id, actor, "user.invited", email=email, role=role)
        self._outbox_committed()
        log.info("user.invited", organization_id=organization_id, link_id=link.id, role=role)
        return link, token

    async def preview(self, token: str, kind: str) -> LinkPreview:
        async with self._sessions.begin() as session:
            store = Store(session)
            link = await self._usable_link(store, token, kind)
            user = await store.user_by_email(link.email)
            return LinkPreview(
                kind=link.kind,
                email=link.email,
                organization_id=link.organization_id,
                role=link.role,
                existing_user=user is not None and user.password_hash is not None,
            )

    async def _usable_link(self, store: Store, token: str, kind: str) -> Link:
        link = await store.link_by_hash(self._box.lookup_hash(token)) if token else None
        if link is None or link.kind != kind or link.used_at is not None:
            raise NotFound("this link is not valid (used already, or mistyped)")
        if link.expires_at <= utcnow():
            raise NotFound("this link has expired: ask for a new one")
        return link

    async def accept_invitation(self, token: str, display_name: str, password: str) -> User:
        """Joins the organization. A new person sets their name and password; someone
        who already has an account confirms with their password."""
        async with self._sessions.begin() as session:
            store = Store(session)
            link = await self._usable_link(store, token, INVITATION)
            if link.organization_id is None or link.role is None:
                raise NotFound("this link is not valid")
            now = utcnow()
            user = await store.user_by_email(link.email)
            if user is not None and user.password_hash is not None:
                if not verify_password(self._hasher, user.password_hash, password):
                    raise InvalidArgument("that is not the password of this account")
            else:
                name = display_name.strip()
                if not name or len(name) > 200:
                    raise InvalidArgument("your name must be 1-200 characters")
                password_hash = self._hasher.hash(check_password(password))
                if user is None:
                    user = User(id=new_id(), email=link.email, created_at=now)
                    store.add(user)
                user.display_name = name
                user.password_hash = password_hash
                user.password_changed_at = now
            if await store.membership(user.id, link.organization_id) is None:
                store.add(
                    Membership(
                        user_id=user.id,
                        organization_id=link.organization_id,
                        role=link.role,
                        created_at=now,
                    )
                )
            link.used_at = now
            link.encrypted_token = None
            self._audit(store, link.organization_id, Actor.of(user), "user.joined", role=link.role)
        log.info("user.joined", organization_id=link.organization_id, user_id=user.id)
        return user

    async def request_reset(self, email: str) -> None:
        """Emails a reset link when the address has an account; says nothing either way."""
        try:
            email = normalize_email(email)
        except InvalidArgument:
            return
        async with self._sessions.begin() as session:
            store = Store(session)
            user = await store.user_by_email(email)
            if user is None or user.password_hash is None:
                return
            await self._new_link(store, RESET, email, self._reset_ttl)
        self._outbox_committed()
        log.info("password.reset_requested", user_id=user.id)

    async def reset_password(self, token: str, password: str) -> User:
        """Sets the new password and signs the person out everywhere."""
        password_hash = self._hasher.hash(check_password(password))
        async with self._sessions.begin() as session:
            store = Store(session)
            link = await self._usable_link(store, token, RESET)
            user = await store.user_by_email(link.email)
            if user is None:
                raise NotFound("this link is not valid")
            now = utcnow()
            user.password_hash = password_hash
            user.password_changed_at = now
            link.used_at = now
            link.encrypted_token = None
            await store.delete_sessions_of(user.id)
        log.info("password.reset", user_id=user.id)
        return user

    # --- memberships -------------------------------------------------------------

    async def memberships(self, user_id: str) -> Sequence[Membership]:
        async with self._sessions.begin() as session:
            return await Store(session).memberships_of(user_id)

    async def membership(self, user_id: str, organization_id: str) -> Membership | None:
        async with self._sessions.begin() as session:
            return await Store(session).membership(user_id, organization_id)

    async def members(self, organization_id: str) -> Sequence[tuple[Membership, User]]:
        async with self._sessions.begin() as session:
            return await Store(session).members(organization_id)

    async def change_role(
        self, organization_id: str, user_id: str, role: str, actor: Actor
    ) -> None:
        role = check_role(role)
        async with self._sessions.begin() as session:
            store = Store(session)
            membership = await store.membership(user_id, organization_id)
            if membership is None:
                raise NotFound("no such member")
            if membership.role == role:
                return
            if membership.role == OWNER and await store.owner_count(organization_id) <= 1:
                raise FailedPrecondition("the organization's last Owner cannot be demoted")
            user = await store.user(user_id)
            previous, membership.role = membership.role, role
            self._audit(
                store,
                organization_id,
                actor,
                "role.changed",
                email=user.email if user else user_id,
                role=role,
                previous=previous,
            )

    async def set_grader(
        self, organization_id: str, user_id: str, grader: bool, actor: Actor
    ) -> None:
        """Lets a member record manual evaluations, or no longer (audited when it changes)."""
        async with self._sessions.begin() as session:
            store = Store(session)
            membership = await store.membership(user_id, organization_id)
            if membership is None:
                raise NotFound("no such member")
            if membership.grader == grader:
                return
            membership.grader = grader
            user = await store.user(user_id)
            self._audit(
                store,
                organization_id,
                actor,
                "grader.granted" if grader else "grader.revoked",
                email=user.email if user else user_id,
            )

    # --- the audit log -----------------------------------------------------------

    def _audit(
        self, store: Store, organization_id: str, actor: Actor, action: str, **detail: Any
    ) -> None:
        store.add(
            AuditEntry(
                id=new_id(),
                organization_id=organization_id,
                actor_user_id=actor.user_id,
                actor_label=actor.label,
                action=action,
                detail=detail,
                occurred_at=utcnow(),
            )
        )

    async def audit(self, organization_id: str, actor: Actor, action: str, **detail: Any) -> None:
        """Records what was done elsewhere (a key issued in assessments, say), once it
        has been done. Details must hold no secret."""
        async with self._sessions.begin() as session:
            self._audit(Store(session), organization_id, actor, action, **detail)
        log.info("audit.recorded", action=action, organization_id=organization_id)

    async def audit_entries(self, organization_id: str, limit: int = 200) -> Sequence[AuditEntry]:
        async with self._sessions.begin() as session:
            return await Store(session).audit_entries(organization_id, limit)
