"""What compose checks across a whole project once the files are merged: every network, volume, secret and
config a service uses is declared at the top level, volume specs have no empty part, and no two services
claim one container_name. Each is an error at the line that names it, as compose refuses to run them."""

from __future__ import annotations

from .merge import WINDOWS_DRIVE, volume_source
from .model import ConfigIssue
from .yamlloc import YNode


def _declared(merged: YNode, key: str) -> set[str]:
    node = merged.get(key)
    return set(node.value) if node is not None and isinstance(node.value, dict) else set()


def check_references(merged: YNode, issues: list[ConfigIssue]) -> None:
    services = merged.get("services")
    if services is None or not isinstance(services.value, dict):
        return
    networks = _declared(merged, "networks") | {"default"}
    volumes, secrets, configs = (_declared(merged, k) for k in ("volumes", "secrets", "configs"))
    names: dict[str, str] = {}  # container_name -> the service that has it
    for name, service in services.value.items():
        if not isinstance(service.value, dict):
            continue
        _networks(name, service, networks, issues)
        _volumes(name, service, volumes, issues)
        for key, declared in (("secrets", secrets), ("configs", configs)):
            _named_items(name, service.get(key), key[:-1], declared, issues)
        _extra_hosts(name, service.get("extra_hosts"), issues)
        container = service.get("container_name")
        if container is not None and isinstance(container.value, str):
            if container.value in names:
                issues.append(ConfigIssue(container.where, f"{name}: container name '{container.value}' is "
                                          f"already the one of service {names[container.value]}",
                                          "expected a container name of its own, or none"))
            else:
                names[container.value] = name


def _undefined(name: str, kind: str, ref: str, node: YNode, declared: set[str]) -> ConfigIssue:
    known = sorted(declared - {"default"}) if kind == "network" else sorted(declared)
    hint = f"expected one of the top-level {kind}s: {', '.join(known)}" if known else \
        f"expected it declared under the top-level {kind}s:"
    return ConfigIssue(node.key_loc or node.where, f"{name}: refers to undefined {kind} '{ref}'", hint)


def _networks(name: str, service: YNode, declared: set[str], issues: list[ConfigIssue]) -> None:
    node = service.get("networks")
    if node is None:
        return
    refs: list[tuple[str, YNode]] = []
    if isinstance(node.value, list):
        refs = [(item.value, item) for item in node.value if isinstance(item.value, str)]
    elif isinstance(node.value, dict):
        refs = list(node.value.items())
    for ref, at in refs:
        if ref not in declared:
            issues.append(_undefined(name, "network", ref, at, declared))


def _volumes(name: str, service: YNode, declared: set[str], issues: list[ConfigIssue]) -> None:
    node = service.get("volumes")
    if node is None or not isinstance(node.value, list):
        return
    for item in node.value:
        if isinstance(item.value, str) and not WINDOWS_DRIVE.match(item.value):
            parts = item.value.split(":")
            if len(parts) > 1 and "" in parts[:2]:
                issues.append(ConfigIssue(item.where, f"{name}: malformed volume '{item.value}': an empty part "
                                          "between colons", "expected SOURCE:TARGET[:MODE], or TARGET"))
                continue
        source = volume_source(item)
        if source and source not in declared:
            issues.append(_undefined(name, "volume", source, item, declared))


def _named_items(name: str, node: YNode | None, kind: str, declared: set[str], issues: list[ConfigIssue]) -> None:
    if node is None or not isinstance(node.value, list):
        return
    for item in node.value:
        ref = item.value if isinstance(item.value, str) else None
        if isinstance(item.value, dict):
            src = item.get("source")
            ref = src.value if src is not None and isinstance(src.value, str) else None
        if ref is not None and ref not in declared:
            issues.append(_undefined(name, kind, ref, item, declared))


def _extra_hosts(name: str, node: YNode | None, issues: list[ConfigIssue]) -> None:
    """`HOST:IP` (or `HOST=IP`) entries, or a mapping: an empty host name (an unset `${VAR}`) is refused."""
    if node is None:
        return
    entries: list[tuple[str, YNode]] = []
    if isinstance(node.value, list):
        for item in node.value:
            if isinstance(item.value, str):
                text = item.value
                sep = "=" if "=" in text else ":"
                entries.append((text.split(sep, 1)[0].strip(), item))
    elif isinstance(node.value, dict):
        entries = [(str(host).strip(), item) for host, item in node.value.items()]
    for host, item in entries:
        if not host:
            issues.append(ConfigIssue(item.key_loc or item.where, f"{name}: extra_hosts entry with an empty host "
                                      "name", "expected HOST:IP, such as db.local:10.0.0.2"))

