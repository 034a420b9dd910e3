"""`edgebot launch` with real processes and real DDS."""

import os
import pathlib
import signal

import psutil
import pytest
from std_msgs.msg import String

from edgebot_testing import wait_for

HERE = pathlib.Path(__file__).parent / "launch"


def _children_of(pid):
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _launch(procs, *args, env=None):
    return procs.start(["edgebot", "launch", *map(str, args)], name="launch", env=env)


def test_two_nodes_talk_across_processes(procs, ros):
    heard = ros.collect(String, "/t1/heard")
    launch = _launch(
        procs, HERE / "talk.launch.yaml", "ns:=t1", "message:=ping", env={"EDGEBOT_TEST_WHO": "ci"}
    )
    wait_for(lambda: len(heard) >= 3, 60, what="listener's relay of the talker")
    assert heard[0].data.startswith("/t1 listener heard: ping from ci ")
    out = launch.output()
    assert (
        "[t1/listener] " in out and "I heard: ping from ci" in out
    )  # output prefixed by node name
    launch.signal(signal.SIGINT)
    assert launch.wait(30) == 0


def test_package_form_and_show_args(procs):
    p = procs.start(["edgebot", "launch", "edgebot_bringup", "demo.launch.yaml", "--show-args"])
    assert p.wait(30) == 0, p.output()


def test_required_node_exit_ends_the_launch_with_its_status(procs):
    ok = _launch(procs, HERE / "talk.launch.yaml", "ns:=t2", "listener_exit_after:=2")
    assert ok.wait(60) == 0, ok.output()
    assert "required process [t2/listener] exited with code 0" in ok.output()
    bad = _launch(
        procs,
        HERE / "talk.launch.yaml",
        "ns:=t3",
        "listener_exit_after:=2",
        "listener_exit_code:=3",
    )
    assert bad.wait(60) == 1, bad.output()
    assert "t3/listener: exited with code 3" in bad.output()


def test_ctrl_c_leaves_no_process_behind(procs):
    launch = _launch(procs, HERE / "tree.launch.yaml")
    launch.wait_output("2 process(es) running", 60)
    wait_for(lambda: len(_children_of(launch.pid)) >= 4, 30, what="the process tree")
    tree = _children_of(launch.pid)
    pids = [p.pid for p in tree]
    launch.signal(signal.SIGINT)
    assert launch.wait(40) == 0, launch.output()

    def alive():
        out = []
        for p in pids:
            try:
                if psutil.Process(p).status() != psutil.STATUS_ZOMBIE:
                    out.append(p)
            except psutil.NoSuchProcess:
                pass
        return out

    # processes that were signalled may still be exiting; one left behind never goes
    try:
        wait_for(lambda: not alive(), 10, what="the process tree to end")
    except TimeoutError:
        pass
    assert alive() == [], f"left running: {alive()}"


def test_kill_9_of_the_launcher_still_stops_its_children(procs):
    launch = _launch(procs, HERE / "tree.launch.yaml")
    launch.wait_output("2 process(es) running", 60)
    wait_for(lambda: len(_children_of(launch.pid)) >= 2, 30, what="children")
    direct = [c.pid for c in psutil.Process(launch.pid).children()]
    os.kill(launch.pid, signal.SIGKILL)
    launch.wait(10)

    def gone():
        return not [
            p
            for p in direct
            if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
        ]

    wait_for(gone, 20, what="children to get SIGTERM from the kernel (PDEATHSIG)")


def test_respawn_and_duration(procs, tmp_path):
    marker = tmp_path / "starts.txt"
    launch = _launch(procs, HERE / "respawn.launch.yaml", f"marker:={marker}", "--duration", "4")
    assert launch.wait(60) == 0, launch.output()
    starts = marker.read_text().count("started")
    assert starts >= 3, launch.output()
    assert "duration of 4 s reached" in launch.output()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("launch:\n- node: {pkg: [x\n", "malformed YAML"),
        ("launch:\n- node: {pkg: edgebot_common, exec: nope}\n", "has no executable 'nope'"),
        ("launch:\n- node: {pkg: nopkg_q, exec: talker}\n", "package 'nopkg_q' not found"),
        (
            "launch:\n- node: {pkg: edgebot_common, exec: talker, param: [{from: /no/file.yaml, allow_substs: 'true'}]}\n",
            "parameter file not found",
        ),
        (
            "launch:\n- arg: {name: needed}\n- node: {pkg: edgebot_common, exec: talker}\n",
            "argument 'needed' has no value",
        ),
        (
            "launch:\n- node: {pkg: edgebot_common, exec: talker, respawns: true}\n",
            "unknown key(s) ['respawns']",
        ),
    ],
)
def test_bad_files_exit_2_with_one_line_and_start_nothing(procs, tmp_path, text, expected):
    f = tmp_path / "bad.launch.yaml"
    f.write_text(text)
    before = {p.pid for p in psutil.process_iter()}
    p = _launch(procs, f)
    assert p.wait(30) == 2
    out = p.output().strip()
    assert len(out.splitlines()) == 1, out
    assert str(f) in out and expected in out
    started = [
        q
        for q in psutil.process_iter(["cmdline", "environ"])
        if q.pid not in before
        and any("edgebot_common/lib" in c for c in (q.info["cmdline"] or []))
        # ours, not a node another pytest-xdist worker (its own domain) started meanwhile
        and (q.info["environ"] or {}).get("ROS_DOMAIN_ID") == os.environ["ROS_DOMAIN_ID"]
    ]
    assert started == []


def test_bad_command_line(procs):
    p = _launch(procs, HERE / "talk.launch.yaml", "novalue")
    assert p.wait(30) == 2 and "expected format '<name>:=<value>'" in p.output()
    p = _launch(procs, HERE / "talk.launch.yaml", "message:=")
    assert p.wait(30) == 2 and "malformed launch argument 'message:='" in p.output()
    p = procs.start(["edgebot", "launch", "nopkg_zz", "x.launch.yaml"])
    assert p.wait(30) == 2 and "package 'nopkg_zz' not found" in p.output()


def test_the_signal_handler_takes_no_lock_the_main_loop_holds(tmp_path):
    """The launcher's main loop waits on and clears an Event (holding its lock for a moment);
    a Ctrl-C handler that set() it could wait for that lock for ever in the same thread (the
    demo's launcher once ignored Ctrl-C until it was killed). Here another thread calls the
    handler while the lock is held: it must return at once and still ask for the shutdown."""
    import threading

    from edgebot_cli.launcher.loader import LaunchPlan
    from edgebot_cli.launcher.runner import Runner

    r = Runner(LaunchPlan(), log_dir=str(tmp_path))
    with r._wake._cond:  # what the main thread holds inside _wake.wait() / clear()
        t = threading.Thread(target=r._on_signal, args=(signal.SIGINT, None), daemon=True)
        t.start()
        t.join(2.0)
        assert not t.is_alive(), "the signal handler waited for the main loop's lock"
    assert r._shutdown_reason == "received SIGINT"
