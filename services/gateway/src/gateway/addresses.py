"""Who is calling: the client address the throttle and the webhook gate count by."""

from __future__ import annotations

from aiohttp import web


def client_address(request: web.Request, trusted_proxy_hops: int) -> str:
    """The caller's address: the peer, or behind `trusted_proxy_hops` proxies the entry
    the outermost trusted one appended to X-Forwarded-For (those to its left are the
    client's to forge)."""
    if trusted_proxy_hops > 0:
        hops = [
            hop.strip()
            for value in request.headers.getall("X-Forwarded-For", [])
            for hop in value.split(",")
        ]
        if len(hops) >= trusted_proxy_hops and hops[-trusted_proxy_hops]:
            return hops[-trusted_proxy_hops][:64]
    return request.remote or "unknown"
