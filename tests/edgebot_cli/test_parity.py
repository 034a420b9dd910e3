"""`edgebot launch` reads YAML launch files as ros2 launch (launch + launch_ros, Jazzy) does.

Each test names the behaviour of the real launcher it matches and where it comes from in
launch_ros / launch. Parameter values end up in the ``--params-file`` files of the node's
command line; those are read back here (the same files rcl reads).
"""

import os
import pathlib
import stat

import pytest
import yaml

from edgebot_cli.launcher import cli
from edgebot_cli.launcher.errors import LaunchError
from edgebot_cli.launcher.loader import load

ROOT = pathlib.Path(__file__).resolve().parents[2]
NODE = "- node:\n    pkg: edgebot_common\n    exec: talker\n    name: t\n"


def _file(tmp_path, text, name="p.launch.yaml"):
    f = tmp_path / name
    f.write_text(text)
    return f


def _params(proc):
    merged = {}
    for i, a in enumerate(proc.cmd):
        if a == "--params-file":
            doc = yaml.safe_load(open(proc.cmd[i + 1])) or {}
            for body in doc.values():
                merged.update(body["ros__parameters"])
    return merged


def _node_params(tmp_path, params_yaml, **args):
    text = "launch:\n" + "".join(f"- arg: {{name: {k}, default: '{v}'}}\n" for k, v in args.items())
    text += NODE + "    param:\n" + params_yaml
    (proc,) = load(str(_file(tmp_path, text)), {}).processes
    return _params(proc)


def _error(tmp_path, text, **args):
    f = _file(tmp_path, text)
    with pytest.raises(LaunchError) as e:
        load(str(f), {k: str(v) for k, v in args.items()})
    msg = str(e.value)
    assert "\n" not in msg and str(f) in msg
    return msg


def test_quoted_literals_stay_strings(tmp_path):
    """launch's ``parse_if_substitutions`` returns a string without substitutions as the plain
    str, and ``normalize_typed_substitution``/``perform_typed_substitution`` keep a scalar as
    it is: ``value: "1"`` reaches the node as the string "1". Unquoted YAML scalars keep their
    YAML type; only a value with substitutions is read as YAML after substitution."""
    p = _node_params(
        tmp_path,
        """\
    - {name: s_int, value: "1"}
    - {name: s_bool, value: "true"}
    - {name: s_float, value: "1.5"}
    - {name: s_empty, value: ""}
    - {name: i, value: 1}
    - {name: b, value: true}
    - {name: f, value: 1.5}
    - {name: sub_int, value: "$(var n)"}
    - {name: sub_bool, value: "$(var flag)"}
    - {name: sub_text, value: "$(var word)"}
    - {name: sub_empty, value: "$(var empty)"}
    - {name: sub_list, value: "$(var lst)"}
    - {name: strs, value: ["1", "a"]}
    - {name: ints, value: [1, 2]}
""",
        n=3,
        flag="true",
        word="hello",
        empty="",
        lst="[1.5, 2.5]",
    )
    assert p["s_int"] == "1" and p["s_bool"] == "true" and p["s_float"] == "1.5"
    assert p["s_empty"] == "" and p["sub_empty"] == ""
    assert (p["i"], p["b"], p["f"]) == (1, True, 1.5)
    assert type(p["i"]) is int and type(p["f"]) is float
    assert p["sub_int"] == 3 and type(p["sub_int"]) is int
    assert p["sub_bool"] is True and p["sub_text"] == "hello"
    assert p["sub_list"] == [1.5, 2.5]
    assert p["strs"] == ["1", "a"] and p["ints"] == [1, 2]


def test_type_on_param_is_accepted_and_honoured(tmp_path):
    """``Node.parse_nested_parameters`` reads ``type`` with ``get_data_type_from_identifier``
    (str, int, float, bool, list_of_str|int|float|bool, yaml) and builds
    ``ParameterValue(value, value_type=type)``; ``coerce_to_type`` converts a substituted
    value (str keeps the text, int()/float(), bool also takes 1/0, list types read YAML).
    ``type: str`` keeps XML whose comment holds a colon a string (robot_description)."""
    xml = tmp_path / "robot.urdf"
    xml.write_text('<?xml version="1.0"?>\n<!-- a comment: with a colon -->\n<robot name="r"/>\n')
    p = _node_params(
        tmp_path,
        f"""\
    - {{name: as_str, type: str, value: "$(var n)"}}
    - {{name: as_int, type: int, value: "$(var n)"}}
    - {{name: as_float, type: float, value: "$(var n)"}}
    - {{name: as_bool, type: bool, value: "$(var one)"}}
    - {{name: as_yaml, type: yaml, value: "$(var n)"}}
    - {{name: ints, type: list_of_int, value: ["$(var n)", 4]}}
    - {{name: lit_ints, type: list_of_int, value: [1, 2]}}
    - {{name: lit_str, type: str, value: "a: b"}}
    - name: robot_description
      type: str
      value: "$(command 'cat {xml}')"
""",
        n=7,
        one=1,
    )
    assert p["as_str"] == "7" and p["as_int"] == 7 and p["as_float"] == 7.0
    assert type(p["as_float"]) is float and p["as_bool"] is True and p["as_yaml"] == 7
    assert p["ints"] == [7, 4] and p["lit_ints"] == [1, 2] and p["lit_str"] == "a: b"
    assert p["robot_description"] == xml.read_text()
    # without type: str the same XML is read as YAML and fails, as under ros2 launch
    msg = _error(
        tmp_path,
        "launch:\n"
        + NODE
        + f"""    param:
    - {{name: robot_description, value: "$(command 'cat {xml}')"}}
""",
    )
    assert "parameter 'robot_description'" in msg and "not valid YAML" in msg


@pytest.mark.parametrize(
    "entry, expected",
    [
        ('{name: x, type: int, value: "5"}', "value '5' is not of type int"),  # a literal is a str
        ('{name: x, type: float, value: 1}', "value 1 (int) is not of type float"),
        ('{name: x, type: str, value: 5}', "value 5 (int) is not of type str"),
        ('{name: x, type: number, value: "1"}', "type 'number' is not one of"),
        ('{name: x, type: int, value: "$(var w)"}', "is not an int"),
        ('{name: x, type: bool, value: "$(var w)"}', "is not a bool"),
        ('{name: x, type: str, value: [a, b]}', "is not of type str"),
        (
            '{name: x, value: [1, 2.5]}',
            "not a bool, int, float, string or a list of items of one type",
        ),
        ('{name: x, value: [1, "a"]}', "mixes item types"),
        ('{name: x, type: list_of_int, value: "$(var w)"}', "list types take a YAML list"),
        ('{name: g, type: str, param: [{name: y, value: 1}]}', "nested 'param' excludes ['type']"),
        ('{name: x}', "needs 'value' or nested 'param'"),
    ],
)
def test_type_errors_are_errors_as_under_ros2_launch(tmp_path, entry, expected):
    """``Entity.get_attr('value', data_type=...)``, ``normalize_typed_substitution`` and
    ``coerce_to_type`` raise for these; ``get_data_type_from_identifier`` for an unknown type;
    ``parse_if_substitutions`` for a list of mixed item types ("non-uniform list");
    ``parse_nested_parameters`` for ``type`` with nested params and for neither value nor
    param."""
    msg = _error(
        tmp_path,
        "launch:\n- arg: {name: w, default: word}\n" + NODE + f"    param:\n    - {entry}\n",
    )
    assert expected in msg and "[node]" in msg


def test_a_missing_parameter_file_is_a_warning(tmp_path):
    """launch_ros ``Node._perform_substitutions``: a ``from`` file that is not a file logs
    "Parameter file path is not a file: <path>" and is skipped; the node still starts. With
    ``allow_substs: true`` ``ParameterFile.evaluate`` opens it and fails (an error)."""
    f = _file(
        tmp_path,
        "launch:\n"
        + NODE
        + """    param:
    - {from: /nonexistent/p.yaml}
    - {name: rate, value: 5.0}
""",
    )
    plan = load(str(f), {})
    (proc,) = plan.processes
    assert _params(proc) == {"rate": 5.0}
    assert "/nonexistent/p.yaml" not in proc.cmd
    assert (
        len(plan.warnings) == 1
        and "parameter file not found, skipped: /nonexistent/p.yaml" in plan.warnings[0]
    )
    assert f"{f}:" in plan.warnings[0]
    msg = _error(
        tmp_path,
        "launch:\n" + NODE + "    param:\n    - {from: /nonexistent/p.yaml, allow_substs: true}\n",
    )
    assert "parameter file not found: /nonexistent/p.yaml" in msg


@pytest.mark.parametrize(
    "value, expected",
    [
        ("a: b: c", "is not valid YAML"),
        ("[unclosed", "is not valid YAML"),
        ("{a: 1}", "reads as YAML dict"),
        ("null", "reads as YAML NoneType"),
    ],
)
def test_a_substituted_value_that_is_not_valid_yaml_is_an_error(tmp_path, value, expected):
    """``coerce_to_type(value, None)`` -> ``yaml.safe_load`` failure is "Failed to convert
    '<value>' using yaml rules: yaml.safe_load() failed", and a result that is no allowed type
    (a mapping, null) "output type is not allowed". The error names the file (and line), the
    entity, the parameter and the substituted value."""
    msg = _error(
        tmp_path,
        "launch:\n- arg: {name: v}\n" + NODE + "    param:\n    - {name: p, value: \"$(var v)\"}\n",
        v=value,
    )
    assert expected in msg
    assert "[node]" in msg and "parameter 'p'" in msg and repr(value) in msg
    assert "type: str" in msg  # the way out


def test_set_parameter_values_are_strings_read_as_yaml(tmp_path):
    """``SetParameter.parse`` reads ``value`` with ``entity.get_attr('value')`` (a string):
    an unquoted YAML bool is "TypeError: Attribute 'value' of Entity 'set_parameter' expected
    to be of type '<class 'str'>', got '<class 'bool'>'". ``evaluate_parameter_dict`` then
    reads the substituted text as YAML ("true" is a bool; "" becomes "''", the empty string);
    a mapping is an error. Global parameters come before the node's own (which win)."""
    f = _file(
        tmp_path,
        """launch:
- arg: {name: n, default: "4"}
- set_parameter: {name: use_sim_time, value: "true"}
- set_parameter: {name: count, value: "$(var n)"}
- set_parameter: {name: label, value: "robot"}
- set_parameter: {name: empty, value: ""}
- set_parameter: {name: rate, value: "1.0"}
"""
        + NODE
        + "    param:\n    - {name: rate, value: 9.0}\n",
    )
    (proc,) = load(str(f), {}).processes
    p = _params(proc)
    assert p["use_sim_time"] is True and p["count"] == 4 and p["label"] == "robot"
    assert p["empty"] == "" and p["rate"] == 9.0
    msg = _error(tmp_path, "launch:\n- set_parameter: {name: use_sim_time, value: true}\n")
    assert "value must be a string under ros2 launch, got bool True" in msg
    assert "[set_parameter]" in msg and 'quote it: "true"' in msg
    msg = _error(tmp_path, "launch:\n- set_parameter: {name: m, value: '{a: 1}'}\n")
    assert "reads as YAML dict" in msg


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "- arg: {name: a, default: 1}\n",
            "'default' of 'arg' must be a string under ros2 launch, got int 1",
        ),
        ("- executable: {cmd: ls, respawn: true}\n", "'respawn' of 'executable' must be a string"),
        (
            "- executable: {cmd: ls, sigterm_timeout: 5}\n",
            "'sigterm_timeout' of 'executable' must be a string or float",
        ),
        ("- executable: {cmd: ls, if: true}\n", "'if' of 'executable' must be a string"),
    ],
)
def test_bare_scalars_where_ros2_launch_reads_a_string_are_errors(tmp_path, text, expected):
    """launch_yaml's ``Entity.get_attr`` only checks types (``is_instance_of(data, data_type,
    can_be_str=True)``): attributes read as strings (arg default, respawn, if/unless, ...)
    reject a bare int/bool, float attributes (``sigterm_timeout``) accept a float or a string
    but not an int. That is how the unquoted bool of demo_gazebo got past our launcher."""
    assert expected in _error(tmp_path, "launch:\n" + text)


def _fake_prefix(tmp_path):
    """An ament prefix holding the full-install packages demo_gazebo names (Gazebo does not
    run here): their package markers, executables and ros_gz_sim's Python launch file."""
    prefix = tmp_path / "fake_prefix"
    index = prefix / "share" / "ament_index" / "resource_index" / "packages"
    index.mkdir(parents=True)
    for pkg, exes in {
        "ros_gz_sim": ["create"],
        "ros_gz_bridge": ["parameter_bridge"],
        "robot_state_publisher": ["robot_state_publisher"],
    }.items():
        (index / pkg).write_text("")
        for exe in exes:
            e = prefix / "lib" / pkg / exe
            e.parent.mkdir(parents=True, exist_ok=True)
            e.write_text("#!/bin/sh\n")
            e.chmod(e.stat().st_mode | stat.S_IEXEC)
    launch_py = prefix / "share" / "ros_gz_sim" / "launch" / "gz_sim.launch.py"
    launch_py.parent.mkdir(parents=True)
    launch_py.write_text("# stands in for ros_gz_sim's gz_sim.launch.py\n")
    return prefix


@pytest.mark.parametrize("headless", ["true", "false"])
def test_demo_gazebo_loads(tmp_path, monkeypatch, headless):
    """launch/demo_gazebo.launch.yaml, as ros2 launch reads it: set_parameter use_sim_time "true"
    (a bool for every node), robot_description the xacro output kept a string by type: str, the
    gz_sim include with gz_args from $(eval), the bridge, spawner and our nodes. The Gazebo
    packages are stand-ins (an ament prefix with their executables); their Python include is
    recorded, not run."""
    prefix = _fake_prefix(tmp_path)
    monkeypatch.setenv(
        "AMENT_PREFIX_PATH", f"{prefix}{os.pathsep}{os.environ['AMENT_PREFIX_PATH']}"
    )
    plan = load(
        str(ROOT / "launch" / "demo_gazebo.launch.yaml"),
        {"headless": headless},
        keep_foreign_includes=True,
    )
    procs = {p.name: p for p in plan.processes}
    assert {
        "robot_state_publisher",
        "spawn_rover",
        "gz_bridge",
        "yolo_node",
        "safety_monitor",
        "target_follower",
    } <= set(procs)
    for p in procs.values():
        assert _params(p)["use_sim_time"] is True, p.name
    desc = _params(procs["robot_state_publisher"])["robot_description"]
    assert isinstance(desc, str) and "<robot" in desc and 'name="edgebot_rover"' in desc
    assert _params(procs["safety_monitor"])["heartbeat_names"] == ["detector"]
    assert _params(procs["target_follower"])["use_sonar"] is False
    ((inc, args),) = plan.foreign_includes
    assert inc.endswith("ros_gz_sim/launch/gz_sim.launch.py")
    assert args["gz_args"].startswith("-r -s " if headless == "true" else "-r ")
    assert args["gz_args"].endswith("config/gazebo/open_field.sdf")
    # without being told to keep them, a Python include is an error naming the file
    with pytest.raises(LaunchError, match="only YAML launch files are supported here"):
        load(str(ROOT / "launch" / "demo_gazebo.launch.yaml"), {})


def test_cli_prints_the_warning_and_the_python_include(tmp_path, monkeypatch, capsys):
    """`edgebot launch --print`: the missing-file warning goes to stderr (the launch goes on,
    status 0), and an include of a Python launch file is listed as ros2-launch-only."""
    f = _file(tmp_path, "launch:\n" + NODE + "    param:\n    - {from: /nonexistent/p.yaml}\n")
    assert cli.main(["--print", str(f)]) == 0
    out, err = capsys.readouterr()
    assert "t: " in out and "warning:" in err and "parameter file not found, skipped" in err
    prefix = _fake_prefix(tmp_path)
    monkeypatch.setenv(
        "AMENT_PREFIX_PATH", f"{prefix}{os.pathsep}{os.environ['AMENT_PREFIX_PATH']}"
    )
    assert cli.main(["--print", str(ROOT / "launch" / "demo_gazebo.launch.yaml")]) == 0
    out, _ = capsys.readouterr()
    assert "(ros2 launch only) include " in out and "gz_sim.launch.py gz_args:=-r -s " in out
    assert "robot_state_publisher: " in out


@pytest.mark.parametrize("ros_rsp", ["true", "false"])
def test_description_launch_both_state_publishers_load(tmp_path, monkeypatch, ros_rsp):
    """launch/description.launch.yaml: ros_state_publisher:=true starts ROS's
    robot_state_publisher (a stand-in here) with robot_description the xacro output kept a
    string by type: str; false starts edgebot_viz's state_publisher with the URDF file. Same
    node name and remap either way."""
    prefix = _fake_prefix(tmp_path)
    monkeypatch.setenv(
        "AMENT_PREFIX_PATH", f"{prefix}{os.pathsep}{os.environ['AMENT_PREFIX_PATH']}"
    )
    plan = load(
        str(ROOT / "launch" / "description.launch.yaml"),
        {"ros_state_publisher": ros_rsp, "namespace": "rover1"},
    )
    (p,) = plan.processes
    assert p.name == "rover1/robot_state_publisher"
    params = _params(p)
    if ros_rsp == "true":
        assert "robot_state_publisher/robot_state_publisher" in " ".join(p.cmd)
        desc = params["robot_description"]
        assert isinstance(desc, str) and 'name="edgebot_rover"' in desc
    else:
        assert "edgebot_viz" in " ".join(p.cmd)
        assert params["robot_description_file"].endswith("edgebot_rover.urdf")
