"""pydantic's validation errors as the one-line messages of edgebot's configuration files
(ROS-free). The pin map, the MQTT map, the Modbus register map, the scenarios and the mission
files are pydantic models; each loader reports the first error as ``<file>: <key path> =
<value>: <what is allowed>`` with these pieces:

    errs = errors_unknown_first(e)         # a mistyped key is reported before what it causes
    first = errs[0]
    key_path(first["loc"])                 # ('motors', 0, 'pwm') -> 'motors[0].pwm'
    reason(first)                          # 'must be >= 1', 'must be one of ...', a rule's text
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

#: pydantic's error types for a key the model does not have (BaseModel, pydantic dataclass)
UNKNOWN_KEY = ("extra_forbidden", "unexpected_keyword_argument")

_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def key_path(loc: Sequence) -> str:
    """A pydantic error location as the key path a user finds in the file:
    ``('devices', 0, 'points', 2, 'name')`` -> ``devices[0].points[2].name``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def errors_unknown_first(e: ValidationError) -> list[dict]:
    """The errors with unknown keys first (a mistyped key also makes a required one missing:
    the typo is what the author needs to see), locations without pydantic's validator-function
    steps (``function-after[...]``)."""
    errs = e.errors(include_url=False)
    for err in errs:
        err["loc"] = tuple(
            p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
    return sorted(errs, key=lambda x: x["type"] not in UNKNOWN_KEY)


def reason(err: dict, texts: dict[str, str] | None = None) -> str:
    """What is allowed, for one error: a validator's own text (without pydantic's ``Value
    error, ``), a bound (``must be >= 1``), one of the allowed literals, ``texts[type]``, or
    pydantic's message."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        return str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    bound = next((k for k in _BOUNDS if k in ctx), None)
    if bound is not None and kind.startswith(("greater_than", "less_than")):
        return f"must be {_BOUNDS[bound]} {ctx[bound]}"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}"
    return (texts or {}).get(kind, err["msg"])


__all__ = ["UNKNOWN_KEY", "errors_unknown_first", "key_path", "reason"]
