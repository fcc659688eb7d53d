"""The SSRF guard of outgoing webhooks: a subscriber URL may be called only when it is
http(s), carries no credentials, and every address its host resolves to is public — not
private, loopback, link-local, multicast, reserved or unspecified (RFC 6890 special-purpose
registries, as Python's ``ipaddress`` knows them) — unless the allow-list
(``AUTOINVOICE_WEBHOOK_ALLOW``: host names, addresses, CIDR networks) names it.

It runs when subscribing and again before every send, and the request then goes to the
address that was checked (the name stays in ``Host`` and TLS SNI), so a DNS answer that
changes in between (DNS rebinding) cannot turn a webhook against the internal network.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from ..domain.errors import InvalidValue

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]


class UnsafeTarget(InvalidValue):
    """A subscriber URL that may not be called (scheme, credentials, a non-public address)."""

    code = "unsafe_target"


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver (``getaddrinfo``: hosts file, DNS) gives."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class TargetPolicy:
    """The allow-list: host names, and addresses or networks (CIDR), that may be called
    although they are not public — a receiver on the same machine or the office network."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, setting: str) -> TargetPolicy:
        """From the comma-separated setting.

        >>> TargetPolicy.parse("hooks.local, 10.1.0.0/16,::1").networks[1]
        IPv6Network('::1/128')
        """
        hosts, networks = set(), []
        for item in (s.strip() for s in setting.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, address: IPAddress) -> bool:
        return any(address in n for n in self.networks if n.version == address.version)


def is_public(address: IPAddress) -> bool:
    """False for private, loopback, link-local, multicast, reserved, unspecified and other
    non-global addresses (an IPv4-mapped IPv6 address is judged as the IPv4 one)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


@dataclass(frozen=True)
class Target:
    """A checked URL and the address to connect to."""

    url: httpx.URL
    address: str

    @property
    def pinned(self) -> httpx.URL:
        return self.url.copy_with(host=self.address)


def check_target(url: str, policy: TargetPolicy, *, resolve: Resolver = resolve_host) -> Target:
    """Refuse (``UnsafeTarget``) what may not be called; return where to connect. A name
    that does not resolve raises ``OSError`` (at send time: try again later)."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeTarget(f"{url!r} is not a URL ({exc})", field="url") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UnsafeTarget(
            "the URL must start with http:// or https:// and name a host", field="url"
        )
    if parsed.userinfo:
        raise UnsafeTarget(
            "put no credentials in the URL: the signature proves who we are", field="url"
        )
    host = parsed.host.lower().rstrip(".")
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = list(resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80)))
    if not addresses:
        raise OSError(f"{host} has no address")
    if host not in policy.hosts:
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if not policy.allows(address) and not is_public(address):
                raise UnsafeTarget(
                    f"{host} is at {address}, which is not a public address; allow it with "
                    "AUTOINVOICE_WEBHOOK_ALLOW if it is meant",
                    field="url",
                )
    return Target(parsed, addresses[0])
