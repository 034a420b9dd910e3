"""Generic ROS message <-> Python dict conversion (rosidl_runtime_py is not a wheel).

- :func:`get_message_class` ``"sensor_msgs/msg/Imu"`` (or ``sensor_msgs/Imu``) -> class: the
  one message-type lookup (:class:`UnknownTypeError`, a LookupError and ValueError, if absent).
- :func:`to_dict` any message -> plain dict/list/number/str (numpy arrays and array.array as
  lists, ``bytes``/``uint8[]`` as lists of ints unless ``bytes_as`` says otherwise).
- :func:`from_dict` dict -> message, raising :class:`MessageFieldError` naming the field path
  for unknown fields and wrong types (used to validate commands from outside).
- :func:`to_yaml` for ``edgebot topic echo``.
"""

from __future__ import annotations

import array
import base64
import importlib
import math
from typing import Any

import numpy as np
import yaml

#: primitive type names spelled alike in .msg files and in rosidl's Python field types
#: (sized numbers and strings); each side adds its own (``bool``/``byte``/``char`` in .msg,
#: ``boolean``/``double``/``octet``... in Python)
SIZED_PRIMITIVES = (
    "float32",
    "float64",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "string",
    "wstring",
)


class MessageFieldError(ValueError):
    def __init__(self, path: str, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path or '<message>'}: {problem}")


class UnknownTypeError(LookupError, ValueError):
    """A type name that is malformed or not installed (both a LookupError and, for older
    callers, a ValueError)."""


def split_type(type_name: str):
    parts = [p for p in type_name.strip().split("/") if p]
    if len(parts) == 3:
        pkg, kind, name = parts
    elif len(parts) == 2:
        pkg, name = parts
        kind = "msg"
    else:
        raise UnknownTypeError(f"not a ROS type name: {type_name!r} (expected pkg/msg/Name)")
    return pkg, kind, name


def get_message_class(type_name: str):
    pkg, kind, name = split_type(type_name)
    try:
        module = importlib.import_module(f"{pkg}.{kind}")
        return getattr(module, name)
    except (ImportError, AttributeError):
        raise UnknownTypeError(f"unknown ROS type {type_name!r} (not installed?)") from None


def type_name_of(msg_or_cls) -> str:
    cls = msg_or_cls if isinstance(msg_or_cls, type) else type(msg_or_cls)
    pkg = cls.__module__.split(".")[0]
    kind = cls.__module__.split(".")[1] if "." in cls.__module__ else "msg"
    kind = kind.lstrip("_")
    return f"{pkg}/{kind}/{cls.__name__}"


def is_message(obj) -> bool:
    return hasattr(type(obj), "get_fields_and_field_types")


def to_dict(msg, bytes_as: str = "list") -> Any:
    """bytes_as: 'list' (ints), 'base64' (str) or 'omit' (length only)."""
    if is_message(msg):
        out = {}
        for field in type(msg).get_fields_and_field_types():
            out[field] = to_dict(getattr(msg, field), bytes_as)
        return out
    if isinstance(msg, (bytes, bytearray)) or (
        isinstance(msg, array.array) and msg.typecode == "B"
    ):
        raw = bytes(msg)
        if bytes_as == "base64":
            return base64.b64encode(raw).decode("ascii")
        if bytes_as == "omit":
            return f"<{len(raw)} bytes>"
        return list(raw)
    if isinstance(msg, np.ndarray):
        if msg.dtype == np.uint8 and bytes_as != "list":
            return to_dict(msg.tobytes(), bytes_as)
        return msg.tolist()
    if isinstance(msg, array.array):
        return msg.tolist()
    if isinstance(msg, (list, tuple)):
        return [to_dict(x, bytes_as) for x in msg]
    if isinstance(msg, float):
        return msg
    if isinstance(msg, np.generic):
        return msg.item()
    return msg


def _scalar(path: str, ftype: str, value):
    if ftype in ("float", "double", "float32", "float64"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MessageFieldError(path, f"expected a number, got {type(value).__name__}")
        return float(value)
    if ftype in ("boolean", "bool"):
        if not isinstance(value, bool):
            raise MessageFieldError(path, f"expected true/false, got {type(value).__name__}")
        return value
    if ftype in ("string", "wstring") or ftype.startswith("string<"):
        if not isinstance(value, str):
            raise MessageFieldError(path, f"expected a string, got {type(value).__name__}")
        return value
    if ftype in ("octet", "byte", "char"):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
            raise MessageFieldError(path, "expected an integer 0..255")
        return bytes([value]) if ftype == "octet" else value
    # integer types
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise MessageFieldError(path, f"expected an integer, got {value!r}")
    bits = {
        "int8": 8,
        "uint8": 8,
        "int16": 16,
        "uint16": 16,
        "int32": 32,
        "uint32": 32,
        "int64": 64,
        "uint64": 64,
    }.get(ftype)
    if bits:
        lo, hi = (
            (0, 2**bits - 1) if ftype.startswith("u") else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        )
        if not lo <= value <= hi:
            raise MessageFieldError(path, f"{value} out of range for {ftype}")
    return value


def _element_type(ftype: str) -> str:
    base = ftype
    if base.startswith("sequence<"):
        base = base[len("sequence<") :].rstrip(">").split(",")[0]
    elif "[" in base:
        base = base.split("[")[0]
    return base


def from_dict(cls, data: Any, path: str = ""):
    """Build a message of ``cls`` from ``data``; missing fields keep their defaults."""
    if isinstance(cls, str):
        cls = get_message_class(cls)
    if not isinstance(data, dict):
        raise MessageFieldError(path, f"expected an object, got {type(data).__name__}")
    fields = cls.get_fields_and_field_types()
    msg = cls()
    for key, value in data.items():
        sub = f"{path}.{key}" if path else key
        if key not in fields:
            raise MessageFieldError(sub, f"unknown field (fields: {', '.join(fields)})")
        ftype = fields[key]
        is_seq = ftype.startswith("sequence<") or ftype.endswith("]")
        etype = _element_type(ftype)
        if is_seq:
            if not isinstance(value, list):
                raise MessageFieldError(sub, "expected a list")
            if "/" in etype:
                items = [
                    from_dict(get_message_class(etype), v, f"{sub}[{i}]")
                    for i, v in enumerate(value)
                ]
            else:
                items = [_scalar(f"{sub}[{i}]", etype, v) for i, v in enumerate(value)]
            try:
                setattr(msg, key, items)
            except (AssertionError, TypeError, ValueError) as e:
                raise MessageFieldError(sub, str(e) or "invalid list") from None
        elif "/" in etype:
            setattr(msg, key, from_dict(get_message_class(etype), value, sub))
        else:
            v = _scalar(sub, etype, value)
            try:
                setattr(msg, key, v)
            except (AssertionError, TypeError, ValueError) as e:
                raise MessageFieldError(sub, str(e) or "invalid value") from None
    return msg


def finite_check(data: Any, path: str = "") -> None:
    """Raise MessageFieldError at the first NaN/inf float in a dict/list tree."""
    if isinstance(data, float) and not math.isfinite(data):
        raise MessageFieldError(path, "not a finite number")
    if isinstance(data, dict):
        for k, v in data.items():
            finite_check(v, f"{path}.{k}" if path else k)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            finite_check(v, f"{path}[{i}]")


def to_yaml(msg, max_array: int = 64) -> str:
    def trim(x):
        if isinstance(x, dict):
            return {k: trim(v) for k, v in x.items()}
        if isinstance(x, list):
            if len(x) > max_array:
                return [trim(v) for v in x[:max_array]] + [f"... ({len(x)} items)"]
            return [trim(v) for v in x]
        return x

    return yaml.safe_dump(trim(to_dict(msg)), sort_keys=False, default_flow_style=False, width=120)
