"""Loading launch files into process plans: every feature, and one-line errors (no processes)."""

import pathlib

import pytest
import yaml

from edgebot_cli.launcher.errors import LaunchError
from edgebot_cli.launcher.loader import load, parse_cli_args

HERE = pathlib.Path(__file__).parent / "launch"


def _plan(path, **args):
    return load(str(path), {k: str(v) for k, v in args.items()})


def _params_of(proc):
    """Merge the params files of a node command in order (later wins)."""
    merged = {}
    cmd = proc.cmd
    for i, a in enumerate(cmd):
        if a == "--params-file":
            doc = yaml.safe_load(open(cmd[i + 1]))
            for _node, body in doc.items():
                merged.update(body["ros__parameters"])
    return merged


def test_args_let_env_include_namespace_params(monkeypatch):
    monkeypatch.setenv("EDGEBOT_TEST_WHO", "pytest")
    plan = _plan(HERE / "talk.launch.yaml", message="hey", ns="rover7")
    names = [p.name for p in plan.processes]
    assert names == ["rover7/talker", "rover7/listener"]  # unless: true skipped, if: false skipped
    talker, listener = plan.processes
    assert "__ns:=/rover7" in talker.cmd and "__node:=talker" in talker.cmd
    params = _params_of(talker)
    assert params["message"] == "hey from pytest"  # let + env + inline beats file
    assert params["rate"] == 20.0  # from the file
    assert talker.env["EDGEBOT_TEST_SET"] == "set-by-launch"  # set_env
    assert listener.shutdown_on_exit and "__ns:=/rover7" in listener.cmd
    assert _params_of(listener) == {"exit_after": 0, "exit_code": 0}  # typed like launch_ros
    assert plan.arguments["message"] == ("hello", "what the talker says")


def test_group_if_and_remap():
    plan = _plan(HERE / "talk.launch.yaml", with_second="true", ns="r")
    second = plan.processes[-1]
    assert second.name == "second/listener2"
    assert "__ns:=/second" in second.cmd and "chatter:=/r/chatter" in second.cmd


def test_group_scoping_does_not_leak(tmp_path):
    f = tmp_path / "scope.launch.yaml"
    f.write_text("""
launch:
- let: {name: v, value: outer}
- group:
  - let: {name: v, value: inner}
  - set_env: {name: EDGEBOT_SCOPED, value: "1"}
- group:
    scoped: false
    children:
    - let: {name: w, value: leaked}
- executable: {cmd: "echo $(var v) $(var w) $(optenv EDGEBOT_SCOPED none)", name: e}
""")
    (proc,) = _plan(f).processes
    assert proc.cmd == ["echo", "outer", "leaked", "none"]


def test_cli_args_parse():
    """ros2launch.api.parse_launch_arguments: no ':=', a leading ':=' or a single ':=' at the
    end ('name:=', an empty value) is "malformed launch argument ..., expected format
    '<name>:=<value>'"; 'b:=x:=y' splits at the first ':='; the last of a name wins."""
    assert parse_cli_args(["a:=1", "b:=x:=y", "a:=2", "c:=''"]) == {
        "a": "2",
        "b": "x:=y",
        "c": "''",
    }
    assert parse_cli_args(["d:=e:="]) == {"d": "e:="}  # two ':=' and ends with one: accepted there
    for bad in ("oops", ":=x", "name:=", ":="):
        with pytest.raises(LaunchError, match="expected format '<name>:=<value>'"):
            parse_cli_args([bad])


BAD = {
    "malformed yaml": ("launch:\n- node: {pkg: [unclosed\n", "malformed YAML"),
    "root": ("nodes: []\n", "single key 'launch'"),
    "unknown key": (
        "launch:\n- node: {pkg: edgebot_common, exec: talker, colour: red}\n",
        "unknown key(s) ['colour'] in 'node'",
    ),
    "unknown entity": ("launch:\n- robot: {name: x}\n", "unknown entity type 'robot'"),
    "unknown package": (
        "launch:\n- node: {pkg: no_such_pkg_xyz, exec: talker}\n",
        "package 'no_such_pkg_xyz' not found",
    ),
    "unknown executable": (
        "launch:\n- node: {pkg: edgebot_common, exec: no_such_exe}\n",
        "package 'edgebot_common' has no executable 'no_such_exe'",
    ),
    "missing param file to substitute": (
        "launch:\n- node: {pkg: edgebot_common, exec: talker, param: [{from: /nonexistent/p.yaml, allow_substs: true}]}\n",
        "parameter file not found: /nonexistent/p.yaml",
    ),
    "bare bool where a string is read": (
        "launch:\n- set_env: {name: X, value: true}\n",
        "'value' of 'set_env' must be a string under ros2 launch",
    ),
    "arg without value": ("launch:\n- arg: {name: port}\n", "argument 'port' has no value"),
    "bad output": ("launch:\n- executable: {cmd: ls, output: loud}\n", "'output' must be one of"),
    "bad on_exit": (
        "launch:\n- executable: {cmd: ls, on_exit: restart}\n",
        "'on_exit' supports only 'shutdown'",
    ),
    "bad condition": ("launch:\n- executable: {cmd: ls, if: maybe}\n", "is not a boolean"),
    "missing include": (
        "launch:\n- include: {file: /nonexistent/x.launch.yaml}\n",
        "launch file not found",
    ),
    "bad choice": (
        "launch:\n- arg: {name: m, default: c, choice: [{value: a}, {value: b}]}\n",
        "is not one of",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_give_one_line_naming_the_file(tmp_path, case):
    text, expected = BAD[case]
    f = tmp_path / f"{case.replace(' ', '_')}.launch.yaml"
    f.write_text(text)
    with pytest.raises(LaunchError) as e:
        _plan(f)
    msg = str(e.value)
    assert "\n" not in msg
    assert str(f) in msg
    assert expected in msg


def test_line_numbers_point_at_the_entity(tmp_path):
    f = tmp_path / "lines.launch.yaml"
    f.write_text(
        "launch:\n- arg: {name: a, default: '1'}\n\n- node:\n    pkg: edgebot_common\n    exec: talker\n    bogus: 1\n"
    )
    with pytest.raises(LaunchError) as e:
        _plan(f)
    assert e.value.line == 5 and f"{f}:5" in str(e.value)


def test_include_cycle_is_detected(tmp_path):
    f = tmp_path / "cyc.launch.yaml"
    f.write_text(f"launch:\n- include: {{file: {f}}}\n")
    with pytest.raises(LaunchError, match="include cycle"):
        _plan(f)


def test_repo_launch_files_load():
    """Every launch file of the repository loads (with its defaults) — catches drift early."""
    root = pathlib.Path(__file__).resolve().parents[2] / "launch"
    files = sorted(root.glob("*.launch.yaml"))
    assert files, "no launch files in launch/"
    for f in files:
        if f.name == "demo_gazebo.launch.yaml":  # needs ros_gz packages: test_parity.py
            continue
        plan = _plan(f)
        assert plan.processes, f"{f.name} starts nothing"
