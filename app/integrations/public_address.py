"""Where outbound webhooks may go: HTTPS to addresses on the public internet.

An endpoint URL is an owner's input that makes Tessera's servers send requests, so it must not
reach the machines around Tessera (cloud metadata at 169.254.169.254, databases on 10.x, the app
itself on 127.0.0.1). Every address the host resolves to is checked, when the endpoint is saved
and again before each send: a name that resolved to a public address yesterday can resolve to a
private one today (DNS rebinding).
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

Resolver = Callable[[str, int], list[str]]


class UnsafeDestination(ValueError):
    """The URL may not receive webhooks; the message says why, for the owner."""


def resolve_host(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeDestination(f"the host {host} cannot be resolved ({exc})") from None
    return sorted({info[4][0] for info in infos})


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_webhook_url(url: str, *, allow_private: bool, resolve: Resolver = resolve_host) -> None:
    """Raises UnsafeDestination unless the URL is https to a host whose every address is public
    (any http(s) URL when private destinations are allowed: local use and tests)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeDestination("an https:// URL with a host name")
    if parts.username or parts.password:
        raise UnsafeDestination("a URL without a user name or password in it")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeDestination("a URL with a valid port number") from None
    if allow_private:
        return
    if parts.scheme != "https":
        raise UnsafeDestination("an https:// URL (webhooks carry members' data)")
    addresses = resolve(parts.hostname, port)
    private = [a for a in addresses if not _is_public(a)]
    if not addresses or private:
        raise UnsafeDestination(f"a URL on the public internet ({parts.hostname} resolves to "
                                f"{', '.join(private) or 'nothing'}, which is not a public address)")
