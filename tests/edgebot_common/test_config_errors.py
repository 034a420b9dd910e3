"""edgebot_common.config_errors: pydantic's errors as the pieces of a one-line message."""

from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edgebot_common.config_errors import errors_unknown_first, key_path, reason


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    rate: float = Field(1.0, gt=0.0, le=100.0)
    order: Literal["big", "little"] = "big"

    @field_validator("name")
    @classmethod
    def _name(cls, v):
        if " " in v:
            raise ValueError("must be a ROS name (no spaces)")
        return v


class Device(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: list[Point]


def first(doc):
    with pytest.raises(ValidationError) as e:
        Device.model_validate(doc)
    return errors_unknown_first(e.value)[0]


def test_key_path():
    assert key_path(("devices", 0, "points", 2, "name")) == "devices[0].points[2].name"
    assert key_path(("board",)) == "board" and key_path(()) == ""


def test_an_unknown_key_comes_before_the_missing_one_it_causes():
    e = first({"points": [{"nmae": "a"}]})
    assert e["type"] == "extra_forbidden" and key_path(e["loc"]) == "points[0].nmae"


@pytest.mark.parametrize(
    "point,path,text",
    [
        ({"name": "a", "rate": 0}, "points[0].rate", "must be > 0.0"),
        ({"name": "a", "rate": 500}, "points[0].rate", "must be <= 100.0"),
        ({"name": "a", "order": "middle"}, "points[0].order", "must be one of 'big' or 'little'"),
        ({"name": "a b"}, "points[0].name", "must be a ROS name (no spaces)"),
    ],
)
def test_reason_names_what_is_allowed(point, path, text):
    e = first({"points": [point]})
    assert key_path(e["loc"]) == path and reason(e) == text


def test_reason_falls_back_to_the_callers_texts_then_pydantic():
    e = first({"points": 3})
    assert reason(e, {"list_type": "must be a list"}) == "must be a list"
    assert reason(e) == e["msg"]
