"""ROS 2 message definitions as ``ros2msg`` schema text, from the installed ``.msg`` files.

Foxglove and rosbag2/MCAP describe a ROS 2 type by its ``.msg`` text followed by the text of
every type it depends on, each introduced by a line of 80 ``=`` and ``MSG: pkg/Type``::

    std_msgs/Header header
    string data
    ================================================================================
    MSG: std_msgs/Header
    builtin_interfaces/Time stamp
    ...

The ``.msg`` files are found through the ament index (``<prefix>/share/<pkg>/msg/<Type>.msg``
for every prefix of ``AMENT_PREFIX_PATH``), the venv's ``share/`` for the wheels and
``install/<pkg>/share`` for the workspace's own interfaces. No rclpy import here.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import re

from edgebot_common.msg_dict import SIZED_PRIMITIVES

SEPARATOR = "=" * 80

PRIMITIVES = frozenset({"bool", "byte", "char", *SIZED_PRIMITIVES})

_ARRAY = re.compile(r"\[[^\]]*\]$")
_BOUNDED_STRING = re.compile(r"^(w?string)<=\d+$")


class UnknownMessageType(LookupError):
    """No ``.msg`` file for a type in any ament prefix."""


def normalize_type(type_name: str) -> tuple[str, str]:
    """``sensor_msgs/msg/Imu`` or ``sensor_msgs/Imu`` -> ``("sensor_msgs", "Imu")``."""
    parts = [p for p in type_name.strip().split("/") if p]
    if len(parts) == 3 and parts[1] == "msg":
        return parts[0], parts[2]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise UnknownMessageType(f"not a ROS 2 message type name: {type_name!r}")


def full_name(type_name: str) -> str:
    pkg, name = normalize_type(type_name)
    return f"{pkg}/msg/{name}"


def _prefixes() -> list[pathlib.Path]:
    return [pathlib.Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]


@functools.cache
def _find_file(pkg: str, name: str, suffix: str) -> pathlib.Path | None:
    for prefix in _prefixes():
        path = prefix / "share" / pkg / "msg" / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def msg_text(type_name: str) -> str:
    """The ``.msg`` file text of one type (``UnknownMessageType`` when not installed)."""
    pkg, name = normalize_type(type_name)
    path = _find_file(pkg, name, ".msg")
    if path is None:
        raise UnknownMessageType(
            f"no {pkg}/msg/{name}.msg in any AMENT_PREFIX_PATH prefix "
            f"({os.environ.get('AMENT_PREFIX_PATH', '')!r})"
        )
    return path.read_text()


def field_types(text: str, pkg: str) -> list[str]:
    """The non-primitive types (``pkg/Type``) the fields of a ``.msg`` text refer to."""
    out: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        ftype = line.split()[0]
        ftype = _ARRAY.sub("", ftype)
        if ftype in PRIMITIVES or _BOUNDED_STRING.match(ftype):
            continue
        if "/" in ftype:
            dep_pkg, dep_name = normalize_type(ftype)
        elif ftype == "Header":  # ROS 1 shorthand some files still carry
            dep_pkg, dep_name = "std_msgs", "Header"
        else:
            dep_pkg, dep_name = pkg, ftype
        dep = f"{dep_pkg}/{dep_name}"
        if dep not in out:
            out.append(dep)
    return out


@functools.cache
def ros2msg_definition(type_name: str) -> str:
    """The full ``ros2msg`` schema text of a type, dependencies included (depth-first)."""
    pkg, name = normalize_type(type_name)
    root = msg_text(type_name)
    seen: dict[str, str] = {}

    def visit(text: str, text_pkg: str) -> None:
        for dep in field_types(text, text_pkg):
            if dep in seen:
                continue
            dep_pkg, _ = normalize_type(dep)
            seen[dep] = ""  # mark before recursion (cycles cannot occur in ROS, but be safe)
            dep_text = msg_text(dep)
            seen[dep] = dep_text
            visit(dep_text, dep_pkg)

    visit(root, pkg)
    parts = [root.rstrip("\n") + "\n"]
    for dep, text in seen.items():
        parts.append(f"{SEPARATOR}\nMSG: {dep}\n{text.rstrip(chr(10))}\n")
    return "".join(parts)


@functools.cache
def type_hash(type_name: str) -> str:
    """The ``RIHS01_...`` type description hash from the installed ``.json``, or ``""``."""
    pkg, name = normalize_type(type_name)
    path = _find_file(pkg, name, ".json")
    if path is None:
        return ""
    try:
        data = json.loads(path.read_text())
        for entry in data.get("type_hashes", []):
            if entry.get("type_name") == f"{pkg}/msg/{name}":
                return str(entry.get("hash_string", ""))
    except (OSError, ValueError):
        pass
    return ""
