"""Declare :class:`~edgebot_common.params.ParamSpec` lists on an rclpy node and validate them.

    from edgebot_common.params import ParamSpec
    from edgebot_common.ros_params import declare_params

    SPECS = [ParamSpec("wheel_radius", 0.033, "wheel radius [m]", min=0.0, min_exclusive=True)]
    self.p = declare_params(self, SPECS)   # dict name -> validated value, or ParameterError

Every parameter gets a descriptor (description with its constraints, read-only unless the spec
says otherwise) and, for numbers with a ``min``/``max``, the descriptor's ``integer_range`` /
``floating_point_range`` (as foxglove_bridge's ``param_utils.cpp`` declares them), so
``ros2 param describe`` and GUIs show the range. Descriptor ranges are inclusive: a strict
bound (``min_exclusive``) is given as the bound itself for floats and enforced by the spec.
Types are checked by the spec, not by rclpy, so an int given for a float is accepted, and a
wrong value gets *our* one-line message naming parameter, value and allowed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node

from .params import ParameterError, ParamSpec

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def descriptor_range(spec: ParamSpec) -> dict:
    """``integer_range``/``floating_point_range`` keyword for a ParameterDescriptor ({} if
    the spec has no bound or is not a number)."""
    if spec.min is None and spec.max is None:
        return {}
    if spec.type is int:
        lo = INT64_MIN if spec.min is None else int(spec.min) + (1 if spec.min_exclusive else 0)
        hi = INT64_MAX if spec.max is None else int(spec.max) - (1 if spec.max_exclusive else 0)
        return {"integer_range": [IntegerRange(from_value=lo, to_value=hi, step=0)]}
    if spec.type is float:
        lo = -math.inf if spec.min is None else float(spec.min)
        hi = math.inf if spec.max is None else float(spec.max)
        return {"floating_point_range": [FloatingPointRange(from_value=lo, to_value=hi, step=0.0)]}
    return {}


def reject_renamed(node: Node, spec: ParamSpec) -> None:
    """ParameterError when the node was given a former name of ``spec`` (see CHANGELOG.md)."""
    for old in spec.renamed_from:
        probe = node.declare_parameter(old, None, ParameterDescriptor(dynamic_typing=True))
        value = probe.value
        node.undeclare_parameter(old)
        if value is not None:
            raise ParameterError(old, value, f"renamed to '{spec.name}' (see CHANGELOG.md)")


def declare_params(node: Node, specs: Sequence[ParamSpec]) -> dict:
    values = {}
    for spec in specs:
        reject_renamed(node, spec)
        desc = spec.description
        constraint = spec.constraint_text()
        if constraint:
            desc = f"{desc} [{constraint}]" if desc else constraint
        ranged = ParameterDescriptor(
            description=desc,
            read_only=spec.read_only,
            dynamic_typing=True,
            **descriptor_range(spec),
        )
        try:
            param = node.declare_parameter(spec.name, spec.default, ranged)
        except Exception:
            # out of the descriptor's range (or a type rclpy refuses): declare it without
            # the range so the spec can name parameter, value and what is allowed
            param = None
        if param is None:
            try:
                param = node.declare_parameter(
                    spec.name,
                    spec.default,
                    ParameterDescriptor(
                        description=desc, read_only=spec.read_only, dynamic_typing=True
                    ),
                )
            except Exception as e:  # rclpy's own type/value exceptions
                raise ParameterError(spec.name, getattr(e, "value", "?"), str(e)) from None
        value = param.value
        if spec.type is list and value is None:
            value = []
        if spec.type is list and isinstance(value, (bytes, bytearray)):
            value = list(value)
        values[spec.name] = spec.validate(value)
    return values
