"""Declare :class:`~edgebot_common.params.ParamSpec` lists on an rclpy node and validate them.

    from edgebot_common.params import ParamSpec
    from edgebot_common.ros_params import declare_params

    SPECS = [ParamSpec("wheel_radius", 0.033, "wheel radius [m]", min=0.0, min_exclusive=True)]
    self.p = declare_params(self, SPECS)   # dict name -> validated value, or ParameterError

Every parameter gets a descriptor (description with its constraints, read-only unless the spec
says otherwise). Types are checked by the spec, not by rclpy, so an int given for a float is
accepted and a wrong value gets *our* one-line message naming parameter, value and allowed.
"""
from __future__ import annotations

from typing import Sequence

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

from .params import ParameterError, ParamSpec


def declare_params(node: Node, specs: Sequence[ParamSpec]) -> dict:
    values = {}
    for spec in specs:
        desc = spec.description
        constraint = spec.constraint_text()
        if constraint:
            desc = f"{desc} [{constraint}]" if desc else constraint
        descriptor = ParameterDescriptor(
            description=desc, read_only=spec.read_only, dynamic_typing=True
        )
        try:
            param = node.declare_parameter(spec.name, spec.default, descriptor)
        except Exception as e:  # rclpy's own type/value exceptions
            raise ParameterError(spec.name, getattr(e, "value", "?"), str(e)) from None
        value = param.value
        if spec.type is list and value is None:
            value = []
        if spec.type is list and isinstance(value, (bytes, bytearray)):
            value = list(value)
        values[spec.name] = spec.validate(value)
    return values


def declared_overrides(node: Node, prefix: str) -> dict:
    """Parameters given to the node under ``prefix.`` that no spec declared (for maps/pin lists).

    rclpy only keeps overrides for undeclared names when the node is created with
    ``allow_undeclared_parameters=True`` or
    ``automatically_declare_parameters_from_overrides=True``; this reads the raw overrides.
    """
    out = {}
    for name, param in node._parameter_overrides.items():  # noqa: SLF001 (no public API)
        if name.startswith(prefix + "."):
            out[name[len(prefix) + 1:]] = param.value
    return out
