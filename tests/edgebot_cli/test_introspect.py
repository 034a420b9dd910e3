"""`edgebot topic list/echo/hz` and `edgebot node list` against running nodes."""

import pathlib

import yaml

from edgebot_cli.introspect import rate_stats
from edgebot_testing import wait_for

HERE = pathlib.Path(__file__).parent / "launch"


def test_rate_stats():
    s = rate_stats([0.0, 0.1, 0.2, 0.3, 0.5])
    assert abs(s["rate"] - 8.0) < 1e-9 and s["max"] == 0.2 and s["window"] == 5
    assert rate_stats([1.0]) == {}


def _listing(procs, cmd, wanted):
    """Run ``edgebot <cmd>`` until its listing holds every string in ``wanted``.

    A list command prints one snapshot of the graph, taken once it has been stable for a
    second: on a loaded machine a fresh process may not have discovered the launched nodes
    by then, so the snapshot is taken again until they are discoverable (each run must
    still exit 0 and print them itself)."""
    runs = []

    def listed():
        p = procs.start(["edgebot", *cmd], name=cmd[0])
        runs.append(p)
        assert p.wait(90) == 0, p.output()
        return all(w in p.output() for w in wanted) and p

    return wait_for(
        listed,
        120,
        interval=0.5,
        what=f"{wanted} in `edgebot {' '.join(cmd)}`: {runs[-1].output() if runs else ''}",
    )


def test_topic_and_node_commands(procs):
    launch = procs.start(["edgebot", "launch", str(HERE / "talk.launch.yaml"), "ns:=intro"])
    launch.wait_output("2 process(es) running", 60)
    _listing(procs, ["node", "list", "--wait", "60"], ["/intro/talker", "/intro/listener"])
    _listing(
        procs, ["topic", "list", "-t", "--wait", "60"], ["/intro/chatter [std_msgs/msg/String]"]
    )
    echo = procs.start(["edgebot", "topic", "echo", "/intro/chatter", "-n", "3", "--wait", "60"])
    assert echo.wait(90) == 0, echo.output()
    docs = [d for d in yaml.safe_load_all(echo.output()) if d]
    assert len(docs) == 3 and all(d["data"].startswith("hello from") for d in docs)
    hz = procs.start(["edgebot", "topic", "hz", "intro/chatter", "--duration", "4", "--wait", "60"])
    assert hz.wait(90) == 0
    rates = [
        float(line.split(":")[1])
        for line in hz.output().splitlines()
        if line.startswith("average rate")
    ]
    assert rates and 5.0 < rates[-1] < 40.0, hz.output()  # the talker runs at 20 Hz
    missing = procs.start(["edgebot", "topic", "echo", "/nothing/here", "--wait", "1"])
    assert missing.wait(30) == 1 and "not found" in missing.output()
