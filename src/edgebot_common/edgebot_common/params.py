"""Parameter specifications and validation, free of rclpy.

A node lists its parameters as :class:`ParamSpec` objects; :mod:`edgebot_common.ros_params`
declares them with full descriptors and validates the values the node was given. Validation
errors are :class:`ParameterError` whose message names the parameter, the value and what is
allowed, e.g.::

    parameter 'wheel_radius' = -0.03: must be > 0.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

_TYPES = (bool, int, float, str, list)


class ParameterError(ValueError):
    """A parameter has a value that is not allowed. The message is meant for the user."""

    def __init__(self, name: str, value: Any, allowed: str):
        self.name = name
        self.value = value
        self.allowed = allowed
        super().__init__(f"parameter '{name}' = {value!r}: {allowed}")


@dataclass
class ParamSpec:
    """One parameter: name (dotted for hierarchies), default, description and constraints.

    ``type`` is inferred from ``default`` unless given (``float`` accepts ints).
    ``min``/``max`` are inclusive; ``min_exclusive``/``max_exclusive`` make them strict.
    ``choices`` restricts to a set. ``check`` is a callable returning an error string or None.
    ``item_type`` types list elements (float, int, str, bool).
    ``renamed_from``: former names; a node given one stops at startup naming the new name
    (a renamed parameter in an old parameter file must not be ignored silently).
    """

    name: str
    default: Any
    description: str = ""
    type: type | None = None
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    choices: Sequence[Any] | None = None
    item_type: type | None = None
    check: Callable[[Any], str | None] | None = None
    read_only: bool = True
    renamed_from: Sequence[str] = ()
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.type is None:
            if self.default is None:
                raise TypeError(f"ParamSpec {self.name}: give type= when default is None")
            self.type = type(self.default)
            if self.type is tuple:
                self.type = list
        if self.type not in _TYPES:
            raise TypeError(f"ParamSpec {self.name}: unsupported type {self.type!r}")

    # -- description text used for the ROS descriptor -------------------------------------
    def constraint_text(self) -> str:
        parts = []
        if self.choices is not None:
            parts.append(f"one of {list(self.choices)}")
        if self.min is not None:
            parts.append(f"{'>' if self.min_exclusive else '>='} {self.min}")
        if self.max is not None:
            parts.append(f"{'<' if self.max_exclusive else '<='} {self.max}")
        return ", ".join(parts)

    def validate(self, value: Any) -> Any:
        """Return the value coerced to the spec's type, or raise ParameterError."""
        v = value
        t = self.type
        if t is float:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ParameterError(self.name, value, "must be a number")
            v = float(v)
            if not math.isfinite(v):
                raise ParameterError(self.name, value, "must be finite")
        elif t is int:
            if isinstance(v, bool) or not isinstance(v, int):
                raise ParameterError(self.name, value, "must be an integer")
        elif t is bool:
            if not isinstance(v, bool):
                raise ParameterError(self.name, value, "must be true or false")
        elif t is str:
            if not isinstance(v, str):
                raise ParameterError(self.name, value, "must be a string")
        elif t is list:
            if not isinstance(v, (list, tuple)):
                raise ParameterError(self.name, value, "must be a list")
            v = list(v)
            if self.item_type is not None:
                out = []
                for i, item in enumerate(v):
                    if (
                        self.item_type is float
                        and isinstance(item, int)
                        and not isinstance(item, bool)
                    ):
                        item = float(item)
                    if not isinstance(item, self.item_type) or (
                        self.item_type is int and isinstance(item, bool)
                    ):
                        raise ParameterError(
                            self.name, value, f"item {i} must be {self.item_type.__name__}"
                        )
                    if self.item_type is float and not math.isfinite(item):
                        raise ParameterError(self.name, value, f"item {i} must be finite")
                    out.append(item)
                v = out
        if self.choices is not None and v not in self.choices:
            raise ParameterError(self.name, value, f"must be one of {list(self.choices)}")
        if t in (int, float):
            if self.min is not None:
                if (v <= self.min) if self.min_exclusive else (v < self.min):
                    raise ParameterError(
                        self.name,
                        value,
                        f"must be {'>' if self.min_exclusive else '>='} {self.min}",
                    )
            if self.max is not None:
                if (v >= self.max) if self.max_exclusive else (v > self.max):
                    raise ParameterError(
                        self.name,
                        value,
                        f"must be {'<' if self.max_exclusive else '<='} {self.max}",
                    )
        if self.check is not None:
            err = self.check(v)
            if err:
                raise ParameterError(self.name, value, err)
        return v


def validate_all(specs: Sequence[ParamSpec], values: dict) -> dict:
    """Validate ``values`` (name -> value) against ``specs``; defaults fill the gaps."""
    out = {}
    for s in specs:
        out[s.name] = s.validate(values.get(s.name, s.default))
    return out


def require_order(values: dict, low: str, high: str, strict: bool = False) -> None:
    """Cross-parameter check: values[low] <= values[high] (or <)."""
    a, b = values[low], values[high]
    if (a >= b) if strict else (a > b):
        raise ParameterError(high, b, f"must be {'>' if strict else '>='} {low} ({a})")


def nested(values: dict) -> dict:
    """{'a.b': 1, 'a.c': 2} -> {'a': {'b': 1, 'c': 2}}."""
    root: dict = {}
    for key, v in values.items():
        node = root
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = v
    return root
