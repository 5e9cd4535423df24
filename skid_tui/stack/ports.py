"""Compose `ports:` entries, short (`"127.0.0.1:8080:80/udp"`) and long (mapping) syntax."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .model import PortSpec

SHORT_EXPECTED = "expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]"
LONG_KEYS = ("target", "published", "host_ip", "protocol", "mode", "name", "app_protocol")
PROTOCOLS = ("tcp", "udp", "sctp")
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


class PortError(ValueError):
    """A port entry that cannot be read; `field` names the long-syntax key at fault, if any."""

    def __init__(self, message: str, expected: str, field: str | None = None) -> None:
        self.message = message
        self.expected = expected
        self.field = field
        super().__init__(f"{message} ({expected})")


def parse_port(value: str | int) -> list[PortSpec]:
    """One short-syntax entry; a range (`"8000-8002:8000-8002"`) gives one PortSpec per port."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PortError(f"malformed port {value!r}", SHORT_EXPECTED)
    if isinstance(value, int):
        return [PortSpec(_port(value, str(value)))]
    text = value.strip()
    spec, protocol = text, "tcp"
    if "/" in text:
        spec, protocol = text.rsplit("/", 1)
        protocol = protocol.lower()
        if protocol not in PROTOCOLS:
            raise PortError(f"malformed port '{value}'", SHORT_EXPECTED)
    host_ip: str | None = None
    if spec.startswith("["):  # `[::1]:8080:80`
        end = spec.find("]:")
        if end < 0:
            raise PortError(f"malformed port '{value}'", SHORT_EXPECTED)
        host_ip, parts = spec[1:end], spec[end + 2 :].split(":")
        if len(parts) != 2:
            raise PortError(f"malformed port '{value}'", SHORT_EXPECTED)
    else:
        parts = spec.split(":")
        if len(parts) > 3:  # unbracketed IPv6 host: everything before the last two fields
            host_ip, parts = ":".join(parts[:-2]), parts[-2:]
        elif len(parts) == 3:
            host_ip, parts = parts[0], parts[1:]
    host_ip = host_ip or None  # `:443:443` (an empty `${BIND:-}`): compose binds every address, as with none
    host = parts[0] if len(parts) == 2 else ""
    return _expand(value, host, parts[-1], host_ip, protocol)


def parse_port_mapping(entry: Mapping[str, object]) -> list[PortSpec]:
    """One long-syntax entry (`{target: 80, published: "8080", host_ip: ..., protocol: ...}`)."""
    for key in entry:
        if key not in LONG_KEYS:
            raise PortError(f"unknown key '{key}'", f"expected one of: {', '.join(LONG_KEYS)}", key)
    target = entry.get("target")
    if target is None:
        raise PortError("missing key 'target'", "expected the container port, such as target: 80")
    if isinstance(target, bool) or not isinstance(target, int | str) or not str(target).isdigit():
        raise PortError(f"malformed port {target!r}", "expected a container port", "target")
    published = entry.get("published")
    if published is not None and (isinstance(published, bool) or not isinstance(published, int | str)):
        raise PortError(f"malformed port {published!r}", "expected a host port or range", "published")
    host_ip = entry.get("host_ip")
    if host_ip is not None and not isinstance(host_ip, str):
        raise PortError(f"malformed host_ip {host_ip!r}", "expected an IP address", "host_ip")
    protocol = entry.get("protocol") or "tcp"
    if not isinstance(protocol, str) or protocol.lower() not in PROTOCOLS:
        raise PortError(
            f"malformed protocol {protocol!r}", f"expected one of: {', '.join(PROTOCOLS)}", "protocol"
        )
    host = "" if published is None else str(published)
    for field, text in (("target", str(target)), ("published", host)):
        try:
            if text:
                _range(text, text)
        except PortError as e:
            e.field = field
            e.expected = "expected a container port" if field == "target" else "expected a host port or range"
            raise
    try:
        return _expand(str(target), host, str(target), host_ip or None, protocol.lower())
    except PortError as e:
        e.field = "published"  # what is left to fail: the two ranges do not match
        raise


def _expand(value: object, host: str, container: str, host_ip: str | None, protocol: str) -> list[PortSpec]:
    c_first, c_last = _range(value, container)
    if c_first == 0:
        raise PortError(f"malformed port '{value}': 0 is out of range", "expected a port from 1 to 65535")
    if not host:
        return [PortSpec(p, None, host_ip, protocol) for p in range(c_first, c_last + 1)]
    h_first, h_last = _range(value, host)
    if h_first == h_last == 0:  # host port 0: the engine picks one
        return [PortSpec(p, None, host_ip, protocol) for p in range(c_first, c_last + 1)]
    if c_first == c_last and h_first != h_last:
        # `8000-8010:80`: the engine picks a free host port from the range; a PortSpec holds one
        # port, so the host side stays unknown until the container runs
        return [PortSpec(c_first, None, host_ip, protocol)]
    if h_last - h_first != c_last - c_first:
        raise PortError(f"malformed port '{value}': host and container ranges differ in size", SHORT_EXPECTED)
    return [PortSpec(c, h_first + (c - c_first), host_ip, protocol) for c in range(c_first, c_last + 1)]


def _range(value: object, text: str) -> tuple[int, int]:
    m = _RANGE.match(text)
    if not m:
        raise PortError(f"malformed port '{value}'", SHORT_EXPECTED)
    first = _port(int(m.group(1)), value)
    last = _port(int(m.group(2)), value) if m.group(2) else first
    if last < first:
        raise PortError(f"malformed port '{value}'", SHORT_EXPECTED)
    return first, last


def _port(number: int, value: object) -> int:
    if not 0 <= number <= 65535:
        raise PortError(
            f"malformed port '{value}': {number} is out of range", "expected a port from 1 to 65535"
        )
    return number
