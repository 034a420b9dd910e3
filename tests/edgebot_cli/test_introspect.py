"""`edgebot topic list/echo/hz` and `edgebot node list` against running nodes."""
import pathlib

import yaml

from edgebot_cli.introspect import rate_stats

HERE = pathlib.Path(__file__).parent / "launch"


def test_rate_stats():
    s = rate_stats([0.0, 0.1, 0.2, 0.3, 0.5])
    assert abs(s["rate"] - 8.0) < 1e-9 and s["max"] == 0.2 and s["window"] == 5
    assert rate_stats([1.0]) == {}


def test_topic_and_node_commands(procs):
    launch = procs.start(["edgebot", "launch", str(HERE / "talk.launch.yaml"), "ns:=intro"])
    launch.wait_output("2 process(es) running", 60)
    nodes = procs.start(["edgebot", "node", "list", "--wait", "15"])
    assert nodes.wait(60) == 0
    assert "/intro/talker" in nodes.output() and "/intro/listener" in nodes.output()
    topics = procs.start(["edgebot", "topic", "list", "-t", "--wait", "15"])
    assert topics.wait(60) == 0
    assert "/intro/chatter [std_msgs/msg/String]" in topics.output(), topics.output()
    echo = procs.start(["edgebot", "topic", "echo", "/intro/chatter", "-n", "3", "--wait", "20"])
    assert echo.wait(60) == 0, echo.output()
    docs = [d for d in yaml.safe_load_all(echo.output()) if d]
    assert len(docs) == 3 and all(d["data"].startswith("hello from") for d in docs)
    hz = procs.start(["edgebot", "topic", "hz", "intro/chatter", "--duration", "4", "--wait", "20"])
    assert hz.wait(60) == 0
    rates = [float(l.split(":")[1]) for l in hz.output().splitlines() if l.startswith("average rate")]
    assert rates and 5.0 < rates[-1] < 40.0, hz.output()      # the talker runs at 20 Hz
    missing = procs.start(["edgebot", "topic", "echo", "/nothing/here", "--wait", "1"])
    assert missing.wait(30) == 1 and "not found" in missing.output()
