"""Driving the console over HTTP without a browser: a client that keeps cookies, reads
each page's CSRF token and posts forms as a browser would."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from pathlib import Path

import aiohttp
from support.console import Console
from support.inprocess import System

from alooba.assessments.v1 import assessments_pb2 as apb

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LINK = re.compile(r"(https?://\S+/(?:invite|password/reset)/[A-Za-z0-9_-]+)")
PASSWORD = "correct horse battery staple"


@dataclass
class Page:
    status: int
    url: str
    text: str

    @property
    def csrf(self) -> str:
        match = _CSRF.search(self.text)
        assert match, f"no form on {self.url}"
        return match.group(1)


@dataclass
class WebClient:
    base: str
    http: aiohttp.ClientSession
    last: Page | None = None
    history: list[Page] = field(default_factory=list)

    async def get(self, path: str) -> Page:
        async with self.http.get(self.base + path) as response:
            page = Page(response.status, str(response.url), await response.text())
        self.last = page
        return page

    async def post(self, path: str, fields: dict[str, str], *, csrf: str | None = None) -> Page:
        """Posts `fields` with the CSRF token of the last page seen (or `csrf`)."""
        data = dict(fields)
        if csrf is not None:
            data["csrf_token"] = csrf
        elif "csrf_token" not in data and self.last is not None:
            data["csrf_token"] = self.last.csrf
        async with self.http.post(self.base + path, data=data) as response:
            page = Page(response.status, str(response.url), await response.text())
        self.last = page
        return page


@asynccontextmanager
async def web_client(console: Console) -> AsyncIterator[WebClient]:
    # unsafe=True: keep cookies for an IP address host (127.0.0.1), as browsers do.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield WebClient(console.url, http)


def emailed_link(mail_dir: str, to: str) -> str:
    """The link in the newest email to `to` (the console's emails are .eml files here)."""
    found = []
    for path in Path(mail_dir).glob("*.eml"):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if message["To"] != to:
            continue
        body = message.get_body(preferencelist=("plain",))
        match = _LINK.search(body.get_content() if body else "")
        if match:
            found.append((path.stat().st_mtime, match.group(1)))
    assert found, f"no email to {to} in {mail_dir}"
    return max(found)[1]


def unique_email(name: str = "person") -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@customer.example"


async def new_organization(system: System, name: str | None = None) -> apb.Organization:
    response = await system.admin.CreateOrganization(
        apb.CreateOrganizationRequest(name=name or f"Org {uuid.uuid4().hex[:10]}")
    )
    return response.organization


async def joined(console: Console, client: WebClient, organization_id: str, role: str) -> str:
    """Invites a new person with `role` (as `alooba-gh user invite` does), and accepts it
    in `client`, which is then signed in. Returns their e-mail address."""
    email = unique_email(role)
    link = await console.invite(organization_id, email, role)
    page = await client.get(link.removeprefix(console.url))
    assert page.status == 200, page.text
    page = await client.post(
        link.removeprefix(console.url),
        {"display_name": f"The {role}", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert page.status == 200, page.text
    return email
