"""Outbound HTTP that cannot be turned against the inside: the one SSRF guard.

Every request the services send to Lightroom, Adobe IMS, a platform or a REST target goes
through a `session(policy)`. The policy names what a client was configured to reach: its
hosts, their ports, and whether private addresses are allowed (only the local sandbox). The
guard works at two points, so that neither a parser trick nor DNS can move a request:

1. Before sending (`check_url`, on the URL requests is about to send): http(s) only, https
   unless private addresses are allowed; no userinfo, backslash, whitespace or control
   character anywhere; a host written the canonical way (no decimal, octal or hex IPv4, no
   zone id); `urllib.parse` and urllib3 must read the same host and port (a URL the two
   parsers disagree on is refused, not interpreted); host and port on the policy.
2. When connecting (`_GuardedConnection`): the host is resolved once, every address it
   resolves to must be public (`is_public`), and the socket connects to exactly those checked
   addresses. TLS SNI, certificate verification and the Host header still use the name. A
   name that answers differently on its next lookup (DNS rebinding) cannot reach an address
   that was not checked, because there is no next lookup.

Redirects are never followed (the publishers also pass `allow_redirects=False`), and proxies
from the environment are ignored: a proxy would connect on our behalf to an unchecked address.
A refused destination raises `UnsafeDestination` (a `requests.InvalidURL`, so every caller's
`except requests.RequestException` sees it; `http.classify` makes it permanent). A name that
does not resolve is a connection error, retryable like any other (DNS fails transiently).
Sources: OWASP SSRF Prevention Cheat Sheet; RFC 6890 special-purpose registries (via
`ipaddress`), RFC 6052 (NAT64), RFC 3056 (6to4), RFC 4291 section 2.5.5 (IPv4-compatible and
-mapped IPv6), RFC 3879 (deprecated site-local), RFC 6761 (`localhost`).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

USER_AGENT = "SocialOmega/0.1 (+https://github.com/socialomega)"
DEFAULT_PORTS = {"https": 443, "http": 80}
MAX_URL_LENGTH = 8192

# Anything a parser could read two ways: ASCII controls, space, DEL, backslash.
_AMBIGUOUS = re.compile(r"[\x00-\x20\x7f\\]")
# Host names as DNS writes them (IDNA already applied), or a bracketed IPv6 literal.
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$"
)
# inet_aton accepts 2130706433, 0x7f.1, 0177.0.0.1, 127.1: all-numeric names that are not a
# canonical dotted quad are refused rather than left to the resolver's reading.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*\.?$")

# IPv6 ranges that carry an IPv4 address or are not unicast; `ipaddress.is_global` calls some
# of them global (Python 3.13: ::127.0.0.1, 64:ff9b::7f00:1, fec0::1, ff02::1).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


class UnsafeDestination(requests.exceptions.InvalidURL):
    """The URL, or an address its host resolves to, is not one this client may call. The
    message names scheme, host and port only: paths and queries may carry signatures."""


class _Refused(ValueError):
    """Raised inside urllib3 when connecting: urllib3 wraps every OSError (and requests'
    exceptions are OSErrors) into a retryable connection error, so the refusal travels as a
    plain ValueError and `GuardedAdapter.send` turns it back into UnsafeDestination."""


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global unicast address that does not lead back into a private network."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public(ip.ipv4_mapped)
        if any(ip in net for net in _NAT64) or ip in _IPV4_COMPATIBLE or ip in _SITE_LOCAL:
            return False
        if ip in _SIX_TO_FOUR and not is_public(ip.sixtofour or ipaddress.IPv4Address(0)):
            return False
        if ip.teredo is not None:
            return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved and not ip.is_unspecified


@dataclass(frozen=True)
class EgressPolicy:
    """Where one client may connect. `hosts` None means any host (public addresses only)."""

    hosts: frozenset[str] | None
    ports: frozenset[int] = field(default_factory=lambda: frozenset({443}))
    allow_private: bool = False  # the local sandbox on loopback: also allows plain http

    @classmethod
    def of(
        cls,
        *urls: str | None,
        hosts: Iterable[str] | None = None,
        allow_private: bool = False,
        ports: Iterable[int] = (),
    ) -> EgressPolicy:
        """The policy of a client configured with `urls`: their hosts (or the explicit `hosts`
        allow-list), their ports plus 443, and the private-network switch. Each configured URL
        must itself pass `check_url` under the resulting policy."""
        given = [u for u in urls if u]
        allowed_ports = {443, *ports}
        names: set[str] = set()
        for url in given:
            parts = _split(url)
            names.add(parts[1])
            allowed_ports.add(parts[2])
        if hosts is not None:
            names = {_normal_host(h) for h in hosts}
        policy = cls(frozenset(names), frozenset(allowed_ports), allow_private)
        for url in given:
            check_url(url, policy)
        return policy


def _normal_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


def _split(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a plain URL, or UnsafeDestination."""
    if not isinstance(url, str) or not url:
        raise UnsafeDestination("the URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeDestination(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if _AMBIGUOUS.search(url):
        raise UnsafeDestination("the URL contains a backslash, whitespace or a control character")
    if not url.isascii():
        raise UnsafeDestination("the URL is not ASCII (IDNA-encode the host, percent-encode the path)")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an IPv4 address in brackets
        raise UnsafeDestination("the URL cannot be parsed") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeDestination(f"scheme {scheme!r} is not allowed")
    authority = parts.netloc
    if "@" in authority:
        raise UnsafeDestination("the URL carries a user name or password")
    host = _normal_host(parts.hostname or "")
    try:
        port = parts.port
    except ValueError:
        raise UnsafeDestination("the URL's port is not a number from 1 to 65535") from None
    if port == 0:
        raise UnsafeDestination("the URL's port is not a number from 1 to 65535")
    port = port or DEFAULT_PORTS[scheme]
    if not host:
        raise UnsafeDestination("the URL has no host")
    # The URL requests will send is read by urllib3: both parsers must see the same destination.
    try:
        other = urllib3.util.parse_url(url)
    except urllib3.exceptions.LocationParseError:
        raise UnsafeDestination("the URL cannot be parsed") from None
    other_host = _normal_host((other.host or "").strip("[]"))
    if other_host != host or (other.port or DEFAULT_PORTS[scheme]) != port or other.auth:
        raise UnsafeDestination("the URL reads differently to different parsers")
    return scheme, host, port


def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a plain URL as both parsers read it, or None."""
    try:
        return _split(url)
    except UnsafeDestination:
        return None


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url: str, policy: EgressPolicy) -> tuple[str, str, int]:
    """Refuse `url` unless it is plain and its scheme, host and port are on `policy`;
    returns (scheme, host, port). Addresses behind a name are checked when connecting."""
    scheme, host, port = _split(url)
    where = f"{scheme}://{host}:{port}"
    ip = _literal(host)
    if ip is None:
        if "%" in host or ":" in host:
            raise UnsafeDestination(f"{where}: the host is not a valid name or address")
        if _NUMERIC_HOST.match(host):
            raise UnsafeDestination(f"{where}: a numeric host must be a canonical dotted-quad address")
        if not _HOST_NAME.match(host):
            raise UnsafeDestination(f"{where}: the host is not a valid DNS name")
    if policy.hosts is not None and host not in policy.hosts:
        raise UnsafeDestination(f"{where}: host {host!r} is not on the target's allow-list")
    if not policy.allow_private:
        if ip is not None and not is_public(ip):
            raise UnsafeDestination(f"{where}: {ip} is a non-public address")
        if ip is None and (host == "localhost" or host.endswith(".localhost")):
            raise UnsafeDestination(f"{where}: {host} is a loopback name (non-public)")
        if scheme == "http":
            raise UnsafeDestination(
                f"{where}: plain http is allowed only for the local sandbox "
                "(allow_private_network); credentials and image links need https"
            )
    if port not in policy.ports:
        raise UnsafeDestination(f"{where}: port {port} is not one the target was configured with")
    return scheme, host, port


def resolve(host: str, port: int, policy: EgressPolicy) -> list[str]:
    """The addresses to connect to for `host`: resolved once here, each one checked. A failed
    lookup raises `socket.gaierror` (a connection error, retryable)."""
    host = _normal_host(host)
    if policy.hosts is not None and host not in policy.hosts:
        raise UnsafeDestination(f"host {host!r} is not on the target's allow-list")
    if port not in policy.ports:
        raise UnsafeDestination(f"{host}: port {port} is not one the target was configured with")
    infos = socket.getaddrinfo(host, port, urllib3.util.connection.allowed_gai_family(), socket.SOCK_STREAM)
    addresses: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not policy.allow_private and not is_public(ip):
            raise UnsafeDestination(f"host {host!r} resolves to non-public address {ip}")
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} resolved to no address")
    return addresses


def _connect_pinned(conn: HTTPConnection, policy: EgressPolicy, connect: Callable[[], Any]) -> Any:
    """Open `conn`'s socket to a checked address of its host (urllib3 connects to `_dns_host`;
    `host`, which TLS and the Host header use, is left as the name)."""
    name = conn._dns_host
    try:
        addresses = resolve(name, conn.port, policy)
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    except UnsafeDestination as exc:
        raise _Refused(str(exc)) from None
    failure: Exception | None = None
    for address in addresses:
        conn._dns_host = address
        try:
            return connect()
        except (NewConnectionError, ConnectTimeoutError) as exc:
            failure = exc
        finally:
            conn._dns_host = name
    assert failure is not None
    raise failure


class _GuardedHTTPConnection(HTTPConnection):
    egress_policy: EgressPolicy

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = _connect_pinned(self, self.egress_policy, super()._new_conn)
        return sock


class _GuardedHTTPSConnection(HTTPSConnection):
    egress_policy: EgressPolicy

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = _connect_pinned(self, self.egress_policy, super()._new_conn)
        return sock


class GuardedAdapter(HTTPAdapter):
    """requests' adapter with the two checks; mounted for http:// and https://."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        extra = {"egress_policy": self.policy}
        http_conn = type("PinnedHTTPConnection", (_GuardedHTTPConnection,), extra)
        https_conn = type("PinnedHTTPSConnection", (_GuardedHTTPSConnection,), extra)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PinnedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("PinnedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        if proxies:
            raise UnsafeDestination("proxies are not used for guarded requests")
        check_url(request.url or "", self.policy)
        try:
            return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        except _Refused as exc:
            raise UnsafeDestination(str(exc), request=request) from None

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise UnsafeDestination("proxies are not used for guarded requests")


class _NoRedirects(requests.Session):
    """A redirect is answered, never followed: the 3xx response is what the caller gets (a
    redirect could point anywhere, and requests would re-send the credentials to it). requests
    follows, and with `allow_redirects=False` still parses the Location to offer `.next`, in
    `resolve_redirects`; here it yields nothing. (`max_redirects = 0` is not the way: requests
    then raises on every 3xx, even one it was told not to follow.)"""

    def resolve_redirects(self, *args: Any, **kwargs: Any) -> Any:
        return iter(())


def session(policy: EgressPolicy) -> requests.Session:
    """A requests session that reaches only what `policy` allows (see the module docstring)."""
    s = _NoRedirects()
    s.trust_env = False  # no proxies or .netrc credentials from the environment
    s.headers["User-Agent"] = USER_AGENT
    adapter = GuardedAdapter(policy)
    s.adapters.clear()
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    return s
