"""What a container (:mod:`edgebot_common.container`) runs, ROS-free: the node list, each node's
own arguments, which node a failure belongs to.

The container is an ordinary node in a launch file (only documented YAML launch keys, so the
same file runs under ``ros2 launch`` and ``edgebot launch``). Its parameters say what it hosts:

- ``nodes``: ``["<pkg>/<executable>", "<pkg>/<executable>:<name>", ...]`` -- the console
  scripts a separate process would run (``ros2 run <pkg> <executable>``); ``<name>`` is the node
  name (default: the executable's name, which is every edgebot node's own name);
- ``<name>.<parameter>``: that node's parameter overrides, typed as in its own ``param:`` list;
- ``params_files.<name>``: its parameter files (``param: [{from: ...}]``), in order, before the
  overrides;
- ``remaps.<name>``: its remaps, ``"from:=to"``;
- ``enabled.<name>``: false leaves it out (a launch argument such as ``follower:=false``);
- ``on_failure.<name>``: ``continue`` -- its configuration error or exception is reported and it
  is left out while the others go on (a recorder that cannot write must not stop the robot);
  ``shutdown`` stops the process; default: the container's ``on_node_failure``.

Each node is constructed with its own command line (``Node(cli_args=..., use_global_arguments=
False)``), built here: its name, the container's namespace, the container's remaps (launch's
``set_remap``/``remap`` on the container), its parameter files, a file of its overrides, its
remaps. So its name, namespace, parameters, remaps and ``use_sim_time`` are what they would be
in a process of its own; the container's own parameters never reach it.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import yaml

RESERVED = (
    "nodes",
    "params_files",
    "remaps",
    "enabled",
    "on_failure",
    "executor",
    "on_node_failure",
)
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
ENTRY_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)/([A-Za-z0-9_.-]+)(?::(.*))?$")
REMAP_RE = re.compile(r"^[^:=\s]+:=[^\s]*$")
EXECUTORS = ("single", "multi", "events")
FAILURE_POLICIES = ("shutdown", "continue")


class CompositionError(ValueError):
    """A bad container configuration: one line naming the parameter, the value and what is
    allowed (the container stops at startup with exit status 2, as a node does)."""

    def __init__(self, name: str, value: Any, allowed: str):
        super().__init__(f"parameter '{name}' = {value!r}: {allowed}")


@dataclass
class Member:
    """One node the container hosts."""

    pkg: str
    executable: str
    name: str | None  # None: named after the executable
    params_files: list[str] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    remaps: list[str] = field(default_factory=list)
    on_failure: str | None = None  # None: the container's on_node_failure

    @property
    def key(self) -> str:
        return self.name or self.executable


def load_main(pkg: str, executable: str):
    """The ``main`` of ``ros2 run <pkg> <executable>`` (the package's console script)."""
    dist = pkg.replace("_", "-")
    for ep in entry_points(group="console_scripts", name=executable):
        if ep.dist is None or ep.dist.name.replace("_", "-") == dist:
            return ep.load()
    raise CompositionError(
        "nodes", f"{pkg}/{executable}", f"package '{pkg}' has no console script '{executable}'"
    )


def parse_entry(entry: str) -> tuple[str, str, str | None]:
    m = ENTRY_RE.match(entry.strip()) if isinstance(entry, str) else None
    if not m or (m.group(3) is not None and not NAME_RE.match(m.group(3))):
        raise CompositionError(
            "nodes",
            entry,
            "each entry must be '<pkg>/<executable>' or '<pkg>/<executable>:<node name>'",
        )
    return m.group(1), m.group(2), m.group(3)


def plan(params: dict[str, Any]) -> list[Member]:
    """The enabled members from the container's parameters (flat dotted names -> values)."""
    entries = params.get("nodes")
    if (
        not isinstance(entries, (list, tuple))
        or not entries
        or not all(isinstance(e, str) for e in entries)
    ):
        raise CompositionError(
            "nodes", entries, "a non-empty list of '<pkg>/<executable>[:<name>]'"
        )
    members: list[Member] = []
    seen: set[str] = set()
    for entry in entries:
        if not entry.strip():
            continue  # an empty entry: room for a conditional one in a launch file
        pkg, exe, name = parse_entry(entry)
        m = Member(pkg, exe, name)
        if m.key in seen:
            raise CompositionError("nodes", entry, f"node name '{m.key}' appears twice")
        if m.key in RESERVED:
            raise CompositionError("nodes", entry, f"'{m.key}' is reserved, give it a :<name>")
        seen.add(m.key)
        members.append(m)
    keys = {m.key: m for m in members}
    for full, value in params.items():
        head, _, rest = full.partition(".")
        if head in ("nodes", "executor", "on_node_failure", "use_sim_time") and not rest:
            continue
        if head in ("params_files", "remaps", "enabled", "on_failure"):
            if rest not in keys:
                raise CompositionError(full, value, f"no node '{rest}' in nodes {sorted(keys)}")
            m = keys[rest]
            if head == "on_failure":
                m.on_failure = validate_choice(full, value, FAILURE_POLICIES)
            elif head == "enabled":
                if not isinstance(value, bool):
                    raise CompositionError(full, value, "must be true or false")
                if not value:
                    members.remove(m)
            elif not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise CompositionError(full, value, "must be a list of strings")
            elif head == "params_files":
                m.params_files = [v for v in value if v]
            else:
                bad = [v for v in value if v and not REMAP_RE.match(v)]
                if bad:
                    raise CompositionError(full, value, "remaps are 'from:=to'")
                m.remaps = [v for v in value if v]
            continue
        if head in keys and rest:
            keys[head].overrides[rest] = value
            continue
        if head == "qos_overrides" or full.startswith("start_type_description_service"):
            continue  # rclpy's own parameters of the container node
        raise CompositionError(
            full, value, f"not a parameter of a hosted node (nodes: {sorted(keys)})"
        )
    return members


def validate_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise CompositionError(name, value, f"must be one of {list(choices)}")
    return value


def container_ros_args(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """(namespace, remaps) from the container's own command line, to pass to every member.

    Only what the launch file sets for the group the container is in: ``__ns`` and plain
    remaps (``set_remap``, the container's ``remap``); not its node name, not its parameter
    files (those carry the container's own parameters)."""
    ns, remaps = None, []
    in_ros = False
    it = iter(argv)
    for a in it:
        if a == "--ros-args":
            in_ros = True
            continue
        if a == "--":
            in_ros = False
            continue
        if not in_ros:
            continue
        if a in ("-r", "--remap"):
            rule = next(it, "")
            frm, sep, to = rule.partition(":=")
            if not sep:
                continue
            if frm in ("__ns", "__namespace"):
                ns = to
            elif frm in ("__node", "__name") or ":" in frm:
                continue  # the container's name; node-specific rules ('node:from:=to')
            else:
                remaps.append(rule)
        elif a in ("-p", "--param", "--params-file", "--log-level", "-e", "--enclave"):
            next(it, None)
    return ns, remaps


def member_args(
    name: str, namespace: str | None, remaps: Iterable[str], m: Member, overrides_file: str | None
) -> list[str]:
    """The node-specific command line of one member (rclpy ``Node(cli_args=...)``)."""
    args = ["--ros-args", "-r", f"__node:={name}"]
    if namespace and namespace != "/":
        args += ["-r", f"__ns:={namespace}"]
    for r in list(remaps) + m.remaps:
        args += ["-r", r]
    for f in m.params_files:
        args += ["--params-file", f]
    if overrides_file:
        args += ["--params-file", overrides_file]
    return args


def write_overrides(directory: str, name: str, overrides: dict[str, Any]) -> str | None:
    """A parameter file with a member's overrides (``/**``: the file is given to it alone)."""
    if not overrides:
        return None
    nested: dict[str, Any] = {}
    for key, v in sorted(overrides.items()):
        node = nested
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        if isinstance(v, float) and not math.isfinite(v):
            raise CompositionError(f"{name}.{key}", v, "must be finite")
        node[parts[-1]] = (
            list(v) if isinstance(v, (tuple, bytes)) or type(v).__name__ == ("array") else v
        )
    path = os.path.join(directory, f"{name}.yaml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump({"/**": {"ros__parameters": nested}}, f, default_flow_style=False)
    return path


def failed_member(tb, members: dict[int, str]) -> str | None:
    """Which member a callback's exception came from: the innermost frame whose ``self`` is
    one of the hosted nodes (``members``: id(node) -> name). None: not inside a node's code."""
    found = None
    while tb is not None:
        obj = tb.tb_frame.f_locals.get("self")
        for o in (obj, getattr(obj, "node", None), getattr(obj, "_node", None)):
            if o is not None and id(o) in members:
                found = members[id(o)]
                break
        tb = tb.tb_next
    return found
