"""What the server connects to on its users' behalf: one egress policy (docs/configuration.md, Egress).

Every outbound request the server makes for a user — a topic's HTTP push today, any later HTTP task —
goes through :class:`EgressPolicy`:

- **by default** every address is allowed (loopback and private ranges included, for local development)
  except link-local addresses (``169.254.0.0/16``, ``fe80::/10``), the cloud metadata addresses
  (``169.254.169.254``, ``fd00:ec2::254``, Alibaba Cloud's ``100.100.100.200``), the unspecified,
  multicast, broadcast and reserved ranges, and what ``deny`` adds;
- with an **allow list** (``allow``: host names, ``*.suffix`` names, addresses and CIDR networks) only the
  destinations it names are allowed; the refusals above still apply to the addresses a name resolves to.

:meth:`EgressPolicy.check_url` runs when an endpoint is given (a subscription is created): the scheme, the
port and a literal address (also in the spellings ``getaddrinfo`` accepts: ``2852039166``,
``0xa9fea9fe``, ``::ffff:169.254.169.254``). :meth:`EgressPolicy.resolve_and_check` runs when a
connection is opened: the name is resolved and **every** address checked. :meth:`EgressPolicy.client`
is an ``httpx.Client`` whose connections go only to the addresses that passed (no second lookup between
the check and the connect, so a name cannot be re-pointed in between), for every connection it opens:
a redirect, if a caller ever follows one, is checked like the first request. It never uses proxy
variables (a proxy would make the connected address unknowable) and never follows redirects itself.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from tidegate.errors import TidegateError

__all__ = [
    "DEFAULT_REFUSED",
    "EgressPolicy",
    "EgressRefused",
    "HostNotResolved",
    "Resolver",
    "parse_entries",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: ``(host, port) -> addresses``: how a name becomes the addresses to connect to.
Resolver = Callable[[str, int], Sequence[str]]


class EgressRefused(TidegateError):
    """The server's egress policy refuses this destination."""

    code = "EgressRefused"


class HostNotResolved(TidegateError):
    """The host name could not be resolved."""

    code = "HostNotResolved"


_METADATA = "a cloud metadata address"
#: What the default policy refuses, most specific first (the first match names the reason).
DEFAULT_REFUSED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), reason)
    for net, reason in (
        ("169.254.169.254/32", _METADATA),
        ("fd00:ec2::254/128", _METADATA),
        ("100.100.100.200/32", _METADATA),
        ("169.254.0.0/16", "a link-local address"),
        ("fe80::/10", "a link-local address"),
        ("0.0.0.0/8", "an unspecified address"),
        ("::/128", "the unspecified address"),
        ("224.0.0.0/4", "a multicast address"),
        ("ff00::/8", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_NAME = re.compile(rf"(\*\.)?{_LABEL}(\.{_LABEL})*")
_AT_LIKE = re.compile(r"[0-9a-fx.]+")


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``getaddrinfo`` gives for ``host`` (TCP), in its order, without repeats.

    Raises:
        HostNotResolved: the name has no address.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise HostNotResolved(f"{host[:200]} could not be resolved") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _literal(host: str) -> IPAddress | None:
    """``host`` as an address when it is one, in any spelling the system resolver reads as one."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _AT_LIKE.fullmatch(host):
        try:  # 2852039166, 0xa9fea9fe, 169.254.43518: getaddrinfo reads these as IPv4 addresses
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _forms(ip: IPAddress) -> list[IPAddress]:
    """``ip`` and the IPv4 address it carries (IPv4-mapped, 6to4, NAT64), which is where it leads."""
    out: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(ip.packed)  # without a zone
        out = [ip]
        if ip.ipv4_mapped is not None:
            out.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            out.append(ip.sixtofour)
        if ip in _NAT64:
            out.append(ipaddress.IPv4Address(ip.packed[-4:]))
    return out


def _host(host: str) -> str:
    """A host as compared: lower case, no brackets, no trailing dot."""
    return host.strip().strip("[]").lower().rstrip(".")


@dataclass(frozen=True, slots=True)
class _Entries:
    """Host names (``*.suffix`` for a whole domain) and networks of an allow or deny list."""

    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.names or self.networks)

    def has_name(self, name: str) -> bool:
        if name in self.names:
            return True
        return any(n.startswith("*.") and name.endswith(n[1:]) for n in self.names)

    def has_address(self, ip: IPAddress) -> bool:
        return any(f in net for f in _forms(ip) for net in self.networks if f.version == net.version)


def parse_entries(text: str | Iterable[str] | None, what: str = "entry") -> _Entries:
    """Parse a list of hosts and networks: ``hooks.example.com``, ``*.example.com``, ``10.0.0.0/8``,
    ``192.0.2.7``, ``[::1]`` (a string is split on commas and blanks).

    Raises:
        ValueError: an entry that is neither (its message names it).
    """
    items = re.split(r"[\s,]+", text) if isinstance(text, str) else list(text or ())
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for raw in items:
        item = _host(raw)
        if not item:
            continue
        if _literal(item.split("/", 1)[0]) is not None:
            try:
                networks.append(ipaddress.ip_network(item.split("%", 1)[0]))
                continue
            except ValueError as exc:
                if "/" in item:
                    raise ValueError(f"{what} {raw.strip()[:100]!r} is not a network: {exc}") from None
            # 2852039166 and the like: the system resolver reads them as addresses; spell them as one
            raise ValueError(f"{what} {raw.strip()[:100]!r}: write the address as 192.0.2.7 or a network as 10.0.0.0/8")
        if not _NAME.fullmatch(item) or len(item) > 253:
            raise ValueError(f"{what} {raw.strip()[:100]!r} is neither a host name nor an address or network")
        names.add(item)
    return _Entries(frozenset(names), tuple(networks))


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """Where the server may connect on a user's behalf.

    Args:
        allow: when not empty, the only destinations allowed (names, addresses, networks).
        deny: destinations refused besides :data:`DEFAULT_REFUSED`.
        resolver: how names become addresses (``getaddrinfo`` by default; tests give their own).
    """

    allow: _Entries = field(default_factory=_Entries)
    deny: _Entries = field(default_factory=_Entries)
    resolver: Resolver = system_resolver

    @classmethod
    def parse(
        cls,
        allow: str | Iterable[str] | None = None,
        deny: str | Iterable[str] | None = None,
        *,
        resolver: Resolver = system_resolver,
    ) -> EgressPolicy:
        """Build a policy from the lists as the settings give them.

        Raises:
            ValueError: an entry that is not a host name, an address or a network.
        """
        return cls(parse_entries(allow, "--egress-allow entry"), parse_entries(deny, "--egress-deny entry"), resolver)

    def refusal(self, ip: IPAddress, *, name_allowed: bool = False) -> str | None:
        """Why the policy refuses a connection to ``ip``, or None when it allows it.

        ``name_allowed``: the host name was on the allow list (its addresses need not be).
        """
        hard = self._hard_refusal(ip)
        if hard is not None:
            return hard
        if self.allow and not name_allowed and not self.allow.has_address(ip):
            return f"{ip} is not on the --egress-allow list"
        return None

    def _hard_refusal(self, ip: IPAddress) -> str | None:
        """Why ``ip`` is refused whatever the allow list says (the built-in ranges and ``deny``)."""
        for form in _forms(ip):
            for net, reason in DEFAULT_REFUSED:
                if form.version == net.version and form in net:
                    return f"{form} is {reason}"
        if self.deny.has_address(ip):
            return f"{ip} is on the --egress-deny list"
        return None

    def check_url(self, url: str) -> None:
        """Check an endpoint when it is given: an http(s) URL with a host, a port in 1-65535, and a literal
        address or a name the policy does not refuse (a name's addresses are checked at connect time).

        Raises:
            EgressRefused: why (the message names the address and the rule, never a resolved address).
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise EgressRefused("the URL is not valid") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise EgressRefused("only http and https URLs are fetched")
        if not parts.hostname:
            raise EgressRefused("the URL names no host")
        if port == 0:
            raise EgressRefused("port 0 cannot be connected to")
        self._check_host(_host(parts.hostname))

    def _check_host(self, host: str) -> IPAddress | None:
        ip = _literal(host)
        if ip is not None:
            reason = self.refusal(ip)
            if reason is not None:
                raise EgressRefused(reason)
            return ip
        if self.deny.has_name(host):
            raise EgressRefused(f"{host} is on the --egress-deny list")
        return None

    def resolve_and_check(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for ``host``: resolved now, every one checked.

        A name with any refused address is refused as a whole (a name that also leads to the metadata
        service is not trusted for its other addresses); with an allow list, only the addresses it
        allows are returned (all of them for a name on the list).

        Raises:
            EgressRefused: the name or one of its addresses is refused, or no address is allowed.
            HostNotResolved: the name has no address.
        """
        name = _host(host)
        literal = self._check_host(name)
        if literal is not None:
            return [str(literal)]
        name_allowed = self.allow.has_name(name)
        resolved = [a for a in (_literal(r) for r in self.resolver(name, port)) if a is not None]
        if not resolved:
            raise HostNotResolved(f"{name[:200]} has no address")
        allowed: list[str] = []
        for ip in resolved:
            hard = self._hard_refusal(ip)
            if hard is not None:
                raise EgressRefused(f"{name} resolves to {hard}")
            if not self.allow or name_allowed or self.allow.has_address(ip):
                allowed.append(str(ip))
        if not allowed:
            raise EgressRefused(f"{name} resolves to no address on the --egress-allow list")
        return allowed

    def client(self, *, timeout: float) -> httpx.Client:
        """An HTTP client that connects only where this policy allows (no redirects, no proxies)."""
        return httpx.Client(transport=egress_transport(self), timeout=timeout, follow_redirects=False, trust_env=False)


class _Backend(httpcore.NetworkBackend):
    """httpcore's connections, opened only to the addresses the policy vetted (TLS keeps the host name)."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        options = list(socket_options or ())
        last: httpcore.ConnectError | None = None
        for address in self._policy.resolve_and_check(host, port):
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, options)
            except httpcore.ConnectError as exc:  # the next address, as create_connection would
                last = exc
        assert last is not None  # resolve_and_check returns at least one address
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise EgressRefused("connections to local sockets are not made for users")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def egress_transport(policy: EgressPolicy) -> httpx.HTTPTransport:
    """httpx's own transport (its error mapping and connection pool) over :class:`_Backend`."""
    transport = httpx.HTTPTransport(retries=0)
    transport._pool = httpcore.ConnectionPool(  # httpx offers no argument for the network backend
        ssl_context=httpx.create_ssl_context(), network_backend=_Backend(policy)
    )
    return transport
