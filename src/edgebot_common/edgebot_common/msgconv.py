"""Per-type ROS message -> dict converters (ROS-free: works on the generated message classes).

:func:`edgebot_common.msg_dict.to_dict` walks a message field by field, asking each value what it
is (``isinstance`` chain, ``get_fields_and_field_types()`` per nested message) — for every
message. The telemetry path converts thousands of messages of the same few types, so
:func:`converter` compiles, once per message class, a function that builds the same dict
directly: plain scalar fields (numbers, booleans, strings) are read as they are, nested
messages go through their own compiled converter, and everything else (arrays, sequences,
bytes, ``octet``, ``char``) is handed to ``to_dict`` itself. The result is equal to
``to_dict(msg, bytes_as)`` — same keys, same order, same values (the unit tests check that on
real message types).

``only`` restricts the conversion to some top-level fields (a route with ``fields`` needs only
the fields it selects, plus ``header`` for the stamp): the dict then holds just those fields,
in declaration order; names the type does not have are ignored.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterable
from typing import Any

from .msg_dict import SIZED_PRIMITIVES, to_dict

#: field types whose Python value is an int, float, bool or str, which to_dict returns unchanged
PLAIN_TYPES = frozenset({"boolean", "bool", "float", "double", "long double", *SIZED_PRIMITIVES})

Converter = Callable[[Any, str], Any]
_cache: dict[tuple[type, frozenset[str] | None], Converter] = {}


def is_message_class(cls) -> bool:
    return isinstance(cls, type) and hasattr(cls, "get_fields_and_field_types")


def _plain(ftype: str) -> bool:
    if ftype in PLAIN_TYPES:
        return True
    # bounded strings: string<=N / wstring<=N (not arrays or sequences of them)
    return ftype.startswith(("string<", "wstring<")) and "[" not in ftype


def _is_sequence(ftype: str) -> bool:
    return ftype.startswith("sequence<") or ftype.endswith("]")


def _access(name: str) -> str:
    if name.isidentifier() and not keyword.iskeyword(name):
        return f"m.{name}"
    return f"getattr(m, {name!r})"


def _convert_any(x, bytes_as: str):
    """One element of a sequence: a message through its converter, anything else to_dict."""
    cls = type(x)
    if is_message_class(cls):
        return converter(cls)(x, bytes_as)
    return to_dict(x, bytes_as)


def _convert_list(value, bytes_as: str):
    """A sequence of messages (a list): element by element, as to_dict does."""
    if isinstance(value, (list, tuple)):
        return [_convert_any(x, bytes_as) for x in value]
    return to_dict(value, bytes_as)


def converter(cls, only: Iterable[str] | None = None) -> Converter:
    """``f(msg, bytes_as) -> dict`` for messages of ``cls`` (cached per class and ``only``)."""
    key = (cls, None if only is None else frozenset(only))
    f = _cache.get(key)
    if f is None:
        f = _compile(cls, key[1])
        _cache[key] = f
    return f


def _compile(cls, only: frozenset[str] | None) -> Converter:
    if not is_message_class(cls):
        raise TypeError(f"{cls!r} is not a ROS message class")
    fields = cls.get_fields_and_field_types()
    default = None
    env: dict = {"_to_dict": to_dict, "_convert_list": _convert_list}
    items = []
    for i, (name, ftype) in enumerate(fields.items()):
        if only is not None and name not in only:
            continue
        get = _access(name)
        if _plain(ftype):
            expr = get
        elif "/" in ftype and not _is_sequence(ftype):
            if default is None:
                default = cls()
            sub = type(getattr(default, name))
            if is_message_class(sub):
                env[f"_c{i}"] = converter(sub)
                expr = f"_c{i}({get}, b)"
            else:
                expr = f"_to_dict({get}, b)"
        elif "/" in ftype:
            expr = f"_convert_list({get}, b)"  # sequence/array of messages
        else:
            expr = f"_to_dict({get}, b)"  # arrays, bytes, octet, char, ...
        items.append(f"{name!r}: {expr}")
    src = "def convert(m, b='list'):\n    return {" + ", ".join(items) + "}\n"
    exec(compile(src, f"<msgconv {cls.__module__}.{cls.__name__}>", "exec"), env)
    fn = env["convert"]
    fn.__doc__ = f"{cls.__name__} -> dict (fields: {', '.join(fields) if only is None else ', '.join(sorted(only))})"
    return fn


def top_level(fields: Iterable[str]) -> frozenset[str]:
    """The top-level field names the dotted ``fields`` go through."""
    return frozenset(f.split(".", 1)[0] for f in fields)
