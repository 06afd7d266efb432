"""Browser sessions: a random token in a Secure, HttpOnly, SameSite=Lax cookie; the
database keeps only its hash, with the user, a CSRF token and the expiry.

Server-side sessions (rather than aiohttp-session's signed cookies) so that signing out,
a password reset or an expiry ends a session for certain, on every replica.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import utcnow
from console.store.models import Session, User
from console.store.repository import Store

SESSION_COOKIE = "console_session"
# For forms shown before signing in (login, reset, accepting an invitation): the double
# submit pattern, the cookie's value echoed in a hidden field.
ANONYMOUS_CSRF_COOKIE = "console_csrf"
CSRF_FIELD = "csrf_token"
# last_seen_at is written at most this often, not on every request.
TOUCH_EVERY = dt.timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(presented: str, expected: str) -> bool:
    return bool(presented) and hmac.compare_digest(presented.encode(), expected.encode())


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    csrf_token: str
    token_hash: str


class Sessions:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        idle_seconds: int,
        max_age_seconds: int,
    ) -> None:
        self._sessions = sessions
        self._idle = dt.timedelta(seconds=idle_seconds)
        self._max_age = dt.timedelta(seconds=max_age_seconds)

    @property
    def max_age_seconds(self) -> int:
        return int(self._max_age.total_seconds())

    async def start(self, user: User) -> str:
        """A new session for `user`; returns the cookie's value."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        async with self._sessions.begin() as session:
            store = Store(session)
            await store.delete_expired_sessions(now)
            store.add(
                Session(
                    token_hash=_hash(token),
                    user_id=user.id,
                    csrf_token=secrets.token_urlsafe(32),
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self._max_age,
                )
            )
        return token

    async def resume(self, token: str) -> SignedIn | None:
        """The signed-in user behind the cookie, or None (unknown, idle too long, expired)."""
        if not token or len(token) > 100:
            return None
        now = utcnow()
        token_hash = _hash(token)
        async with self._sessions.begin() as session:
            store = Store(session)
            record = await store.session_by_hash(token_hash)
            if record is None:
                return None
            if record.expires_at <= now or record.last_seen_at + self._idle <= now:
                await store.delete_session(token_hash)
                return None
            user = await store.user(record.user_id)
            if user is None:
                return None
            if now - record.last_seen_at >= TOUCH_EVERY:
                record.last_seen_at = now
            return SignedIn(user=user, csrf_token=record.csrf_token, token_hash=token_hash)

    async def end(self, token_hash: str) -> None:
        async with self._sessions.begin() as session:
            await Store(session).delete_session(token_hash)
