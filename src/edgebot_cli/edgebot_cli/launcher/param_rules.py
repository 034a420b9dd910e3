"""How a YAML launch file's parameter values become typed ROS parameters (ROS-free).

The rules are launch_ros' (Jazzy), so a file means the same under ``ros2 launch``:

- ``node`` → ``param: {name, value[, type]}`` (``Node.parse_nested_parameters`` wraps the value
  in ``ParameterValue(value, value_type=type)``; launch's ``parse_if_substitutions``,
  ``normalize_typed_substitution``, ``perform_typed_substitution`` and ``coerce_to_type`` do
  the rest):

  - a YAML literal is taken as YAML typed it: ``1`` is an int, ``"1"`` (quoted) stays the string
    ``"1"`` -- a string without substitutions is never re-read as YAML;
  - a string with substitutions is substituted and then read as YAML (``$(var n)`` with
    ``n=3`` is the int 3); text that is not valid YAML, or YAML that is not a bool, int, float,
    string or uniform list (a mapping, ``null``), is an error; an empty result stays ``""``;
  - ``type:`` (``str``, ``int``, ``float``, ``bool``, ``list_of_str|int|float|bool``, ``yaml``)
    checks a literal (``type: int`` with ``value: "5"`` is an error: a quoted literal is a
    string) and coerces a substituted value (``str`` keeps the text as it is, ``int``/``float``
    convert it, ``bool`` also takes ``1``/``0``, list types read it as a YAML list);
  - a list holds items of one type (``[1, 2.5]`` is an error under ros2 launch as well).

- ``set_parameter: {name, value}``: ``value`` must be a YAML string (``SetParameter.parse``
  reads it with ``get_attr('value')``; an unquoted ``true`` is ``TypeError: Attribute 'value'
  of Entity 'set_parameter' expected to be of type '<class 'str'>'``); after substitution it is
  always read as YAML (``evaluate_parameter_dict``): ``"true"`` is a bool, ``""`` stays ``""``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

TYPES = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "list_of_str": list[str],
    "list_of_int": list[int],
    "list_of_float": list[float],
    "list_of_bool": list[bool],
    "yaml": None,
}
SCALARS = (int, float, bool, str)

# evaluate(text) -> (result, had_substitutions)
Evaluate = Callable[[str], tuple[str, bool]]


class ParamRuleError(ValueError):
    pass


def _split(data_type) -> tuple[type | None, bool]:
    if data_type is None:
        return None, False
    if data_type in SCALARS:
        return data_type, False
    return data_type.__args__[0], True


def _tname(data_type) -> str:
    for k, v in TYPES.items():
        if v is data_type and v is not None:
            return k
    return "yaml"


def _valid(value, can_be_str=False) -> bool:
    """launch's is_instance_of_valid_type: a scalar, or a list of one scalar type."""
    if isinstance(value, list):
        if not value:
            return True
        member = next((type(x) for x in value if type(x) is not str), str)
        if member not in SCALARS:
            return False
        ok = (member, str) if can_be_str else member
        return all(isinstance(x, ok) for x in value)
    return isinstance(value, SCALARS)


def _instance_of(value, data_type, can_be_str=False) -> bool:
    if data_type is None:
        return _valid(value, can_be_str)
    scalar, is_list = _split(data_type)
    ok = (str, scalar) if can_be_str else scalar
    if not is_list:
        return isinstance(value, ok)
    return isinstance(value, list) and all(isinstance(x, ok) for x in value)


def _yaml(text: str, what: str):
    if not text:
        return text
    try:
        out = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ParamRuleError(
            f"{what} is not valid YAML ({str(e).splitlines()[0]}); "
            "launch_ros reads a substituted value as YAML: give the param "
            "'type: str' to keep it text"
        ) from None
    if not _valid(out):
        raise ParamRuleError(
            f"{what} reads as YAML {type(out).__name__} {out!r}, not a bool, "
            "int, float, string or uniform list (give the param 'type: str' "
            "to keep it text)"
        )
    return out


def coerce(text: str, data_type, what: str):
    """launch.utilities.type_utils.coerce_to_type (can_be_str=False)."""
    if data_type is None:
        return _yaml(text, what)
    scalar, is_list = _split(data_type)
    if is_list:
        out = _yaml(text, what)
        if not isinstance(out, list) or not all(isinstance(x, scalar) for x in out):
            raise ParamRuleError(f"{what} is not a list of {scalar.__name__}")
        return out
    if scalar is str:
        return text
    if scalar in (int, float):
        try:
            return scalar(text)
        except ValueError:
            raise ParamRuleError(
                f"{what} is not {'an int' if scalar is int else 'a float'}"
            ) from None
    t = {"1": "true", "0": "false"}.get(text, text)
    out = _yaml(t, what)
    if not isinstance(out, bool):
        raise ParamRuleError(f"{what} is not a bool")
    return out


def node_param_value(raw: Any, type_id: Any, evaluate: Evaluate, name: str):
    """The value of ``param: {name, value, type}`` as launch_ros evaluates it."""
    if type_id is not None:
        if not isinstance(type_id, str) or type_id not in TYPES:
            raise ParamRuleError(
                f"parameter '{name}': type {type_id!r} is not one of {', '.join(TYPES)}"
            )
        data_type = TYPES[type_id]
    else:
        data_type = None
    tname = _tname(data_type)
    # Entity.get_attr('value', data_type=..., can_be_str=True)
    if isinstance(raw, dict) or raw is None or not _instance_of(raw, data_type, can_be_str=True):
        want = (
            f"of type {tname}"
            if data_type is not None
            else "a bool, int, float, string or a list of items of one type"
        )
        if data_type is not None and _split(data_type)[1] and isinstance(raw, str):
            want += " (list types take a YAML list, e.g. [\"$(var a)\", 2])"
        raise ParamRuleError(
            f"parameter '{name}': value {raw!r} ({type(raw).__name__}) is not {want}"
        )
    items = raw if isinstance(raw, list) else [raw]
    parsed = []  # (literal, value) | (substituted, text)
    kinds = set()
    for x in items:
        if isinstance(x, str):
            text, substituted = evaluate(x)
            if substituted:
                parsed.append((True, text))
                continue
            kinds.add(str)
            parsed.append((False, text))
        else:
            kinds.add(type(x))
            parsed.append((False, x))
    if not isinstance(raw, list):
        substituted, v = parsed[0]
        what = f"parameter '{name}': value {v!r}"
        if substituted:
            return coerce(v, data_type, what)
        if not _instance_of(v, data_type):
            raise ParamRuleError(
                f"{what} is not of type {tname} (a quoted literal is a string; "
                "only substituted values are converted)"
            )
        return v
    # lists (parse_if_substitutions: literal items of one type; normalize_typed_substitution)
    if len(kinds) > 1:
        raise ParamRuleError(
            f"parameter '{name}': list {raw!r} mixes item types "
            f"({', '.join(sorted(k.__name__ for k in kinds))})"
        )
    scalar, is_list = _split(data_type)
    if data_type is not None and not is_list:
        raise ParamRuleError(f"parameter '{name}': a list is not of type {tname}")
    if kinds and scalar is not None:
        (kind,) = kinds
        if kind is not scalar and not (scalar is float and kind is int):
            raise ParamRuleError(f"parameter '{name}': list {raw!r} is not of type {tname}")
    out = [
        coerce(v, scalar, f"parameter '{name}': item {v!r}")
        if substituted
        else (float(v) if scalar is float and not isinstance(v, bool) else v)
        for substituted, v in parsed
    ]
    if not _instance_of(out, data_type):
        raise ParamRuleError(f"parameter '{name}': list {out!r} is not uniform")
    return out


def set_parameter_value(raw: Any, evaluate: Evaluate, name: str):
    """The value of ``set_parameter: {name, value}`` as launch_ros evaluates it."""
    if not isinstance(raw, str):
        raise ParamRuleError(
            f"set_parameter '{name}': value must be a string under ros2 launch, got "
            f"{type(raw).__name__} {raw!r} (quote it: \"{_yaml_text(raw)}\")"
        )
    text, _ = evaluate(raw)
    if text == "":
        return ""
    what = f"set_parameter '{name}': value {text!r}"
    try:
        out = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ParamRuleError(f"{what} is not valid YAML ({str(e).splitlines()[0]})") from None
    if isinstance(out, SCALARS):
        return out
    if (
        isinstance(out, list)
        and out
        and type(out[0]) in SCALARS
        and all(isinstance(x, type(out[0])) for x in out)
    ):
        return out
    raise ParamRuleError(
        f"{what} reads as YAML {type(out).__name__} {out!r}: allowed are bool, "
        "int, float, string and non-empty uniform lists"
    )


def _yaml_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
