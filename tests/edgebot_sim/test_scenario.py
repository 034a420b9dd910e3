"""Scenario files: every shipped one is valid; bad ones fail with one line naming file and key."""

import pathlib

import pytest
import yaml

from edgebot_sim import scenario as S
from edgebot_sim.paths import list_scenarios

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOOD = {
    "time_limit": 30.0,
    "floor": {"size": [6.0, 6.0]},
    "start": {"x": -1.0, "y": 0.0, "yaw": 0.0},
    "target": {"class": "ball", "x": 1.0, "y": 0.0},
    "obstacles": [{"shape": "box", "x": 0.0, "y": 1.5, "size": [0.2, 0.2, 0.2]}],
    "distractors": [{"class": "cone", "x": 2.0, "y": -2.0}],
    "randomize": {"target_xy": 0.2},
}


def write(tmp_path, data, name="s.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return str(p)


def test_shipped_scenarios_load():
    names = list_scenarios()
    assert {"open_field", "obstacle_stop", "near_cone", "near_ball"} <= set(names)
    for n in names:
        s = S.load(n)
        assert s.name == n
        assert s.time_limit > 0


def test_load_by_path_and_defaults(tmp_path):
    s = S.load(write(tmp_path, GOOD))
    assert s.name == "s" and s.seed == 0 and s.target.reach_distance == 0.35
    assert s.obstacles[0].shape == "box" and s.distractors[0].cls == "cone"


def test_resolved_is_seeded(tmp_path):
    s = S.load(write(tmp_path, GOOD))
    a, b, c = s.resolved(3), s.resolved(3), s.resolved(4)
    assert a == b
    assert (a.target.x, a.target.y) != (c.target.x, c.target.y)
    assert abs(a.target.x - 1.0) <= 0.2 and abs(a.target.y) <= 0.2
    assert a.randomize == S.Randomize()


@pytest.mark.parametrize(
    "patch, key, words",
    [
        ({"colour": "red"}, "colour", "unknown key"),
        (
            {"target": {"class": "ball", "x": 1.0, "y": 0.0, "size": 2}},
            "target.size",
            "unknown key",
        ),
        ({"target": {"class": "duck", "x": 1.0, "y": 0.0}}, "target.class", "missing model"),
        ({"robot": "no_such_rover.urdf"}, "robot", "missing model"),
        ({"time_limit": -5}, "time_limit", "must be > 0"),
        ({"time_limit": "soon"}, "time_limit", "must be a number"),
        ({"floor": {"size": [6.0, -1.0]}}, "floor.size[1]", "must be >= 0.5"),
        ({"target": {"class": "ball", "x": 9.0, "y": 0.0}}, "target", "off the floor"),
        ({"target": {"class": "ball", "x": -0.8, "y": 0.0}}, "target", "already within reach"),
        (
            {"obstacles": [{"shape": "box", "x": 1.0, "y": 0.0, "size": [0.2, 0.2, 0.2]}]},
            "obstacles[0]",
            "overlaps the target",
        ),
        (
            {"obstacles": [{"shape": "box", "x": -1.0, "y": 0.1, "size": [0.2, 0.2, 0.2]}]},
            "obstacles[0]",
            "overlaps the rover",
        ),
        (
            {"obstacles": [{"shape": "pyramid", "x": 0.0, "y": 2.0, "size": [1]}]},
            "obstacles[0].shape",
            "unknown shape",
        ),
        (
            {"obstacles": [{"shape": "box", "x": 0.0, "y": 2.0, "size": [0.2, 0.2]}]},
            "obstacles[0].size",
            "list of 3",
        ),
        (
            {"distractors": [{"class": "ball", "x": 2.0, "y": 2.0, "z": 1}]},
            "distractors[0].z",
            "unknown key",
        ),
        ({"seed": -1}, "seed", "integer >= 0"),
        ({"randomize": {"target_yaw": 1}}, "randomize.target_yaw", "unknown key"),
    ],
)
def test_bad_scenarios_name_file_and_key(tmp_path, patch, key, words):
    data = dict(GOOD)
    data.update(patch)
    path = write(tmp_path, data)
    with pytest.raises(S.ScenarioError) as ei:
        S.load(path)
    msg = str(ei.value)
    assert msg.startswith(path + ": key '" + key + "'"), msg
    assert words in msg, msg
    assert "\n" not in msg


def test_missing_target_and_missing_file(tmp_path):
    data = {k: v for k, v in GOOD.items() if k != "target"}
    with pytest.raises(S.ScenarioError, match=r"key 'target': missing"):
        S.load(write(tmp_path, data))
    with pytest.raises(S.ScenarioError, match=r"scenario 'no_such_world': no such file"):
        S.load("no_such_world")
    bad = tmp_path / "broken.yaml"
    bad.write_text("target: [unclosed\n")
    with pytest.raises(S.ScenarioError, match=r"broken.yaml: not valid YAML"):
        S.load(str(bad))


def test_target_distance_uses_the_footprint():
    t = S.Target("ball", 1.0, 0.0)
    assert abs(S.target_distance(0.0, 0.0, t) - 0.9) < 1e-9
    assert S.target_distance(1.0, 0.05, t) == 0.0


@pytest.mark.parametrize(
    "patch, key, words",
    [
        ({"time_limit": float("nan")}, "time_limit", "must be finite"),
        ({"time_limit": True}, "time_limit", "must be a number"),
        ({"start": {"x": float("inf")}}, "start.x", "must be finite"),
        ({"floor": {"rgba": [1, 1]}}, "floor.rgba", "list of 4"),
        ({"floor": {"colour": 1}}, "floor.colour", "allowed: ['friction', 'rgba', 'size'"),
        ({"obstacles": [5]}, "obstacles[0]", "must be a mapping"),
        ({"path": "/etc"}, "path", "unknown key"),
    ],
)
def test_one_engine_finite_strict_and_allowed_keys(tmp_path, patch, key, words):
    data = dict(GOOD)
    data.update(patch)
    with pytest.raises(S.ScenarioError) as ei:
        S.parse(data, "x.yaml")
    assert str(ei.value).startswith("x.yaml: key '" + key + "'"), ei.value
    assert words in str(ei.value), ei.value


def test_an_empty_key_means_the_default_and_objects_validate_on_construction():
    s = S.parse({**GOOD, "obstacles": None, "seed": None}, "x.yaml")
    assert s.obstacles == () and s.seed == 0
    with pytest.raises(ValueError):
        S.Target("duck", 1.0, 0.0)
    with pytest.raises(ValueError):
        S.Pose2D(float("nan"), 0.0)
