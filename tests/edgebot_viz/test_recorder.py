"""mcap_recorder as a process: bags read back by the mcap library and by rosbags, with equal
counts and values; SIGKILL and a full disk (a real file size limit) leave readable bags."""

import pathlib
import signal
import sys
import time

from geometry_msgs.msg import Twist
from std_msgs.msg import String

from edgebot_common import qos as Q
from edgebot_testing import ros_executable, wait_for

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import viz_readers


def start_recorder(procs, out_dir, wrapper=(), **params):
    p = {
        "output_dir": str(out_dir),
        "bag_name": "bag",
        "discovery_period": 0.2,
        "topics": '["/rec/.*"]',
    }
    p.update(params)
    args = []
    for k, v in p.items():
        args += ["-p", f"{k}:={v}"]
    proc = procs.start(
        [*wrapper, ros_executable("edgebot_viz", "mcap_recorder"), "--ros-args", *args],
        name="mcap_recorder",
    )
    proc.wait_output("recording to", timeout=60)
    return proc


def recorded_count(bag) -> int:
    """message_count of the bag's metadata as the recorder last checkpointed it (0 before the
    first checkpoint, or while the file is being rewritten)."""
    try:
        return int(viz_readers.metadata(bag)["message_count"])
    except Exception:
        return 0


def publish_until_recorded(ros, proc, topics):
    # a deep publisher queue too: a loaded machine must not drop samples before the recorder
    pubs = {t: ros.publisher(cls, t.lstrip("/"), Q.RECORDING) for t, cls in topics.items()}
    for t in topics:
        proc.wait_output(f"recording {t} ", timeout=60)
    for pub in pubs.values():
        ros.wait_subscribers(pub, 1, timeout=60)
    return pubs


def same_in_both_readers(bag):
    a, b = viz_readers.read_mcap(bag), viz_readers.read_rosbags(bag)
    assert a.keys() == b.keys()
    for topic in a:
        assert len(a[topic]) == len(b[topic])
    return a, b


def test_record_and_read_back_with_two_readers(procs, ros, tmp_path):
    rec = start_recorder(procs, tmp_path)
    pubs = publish_until_recorded(ros, rec, {"/rec/chatter": String, "/rec/cmd_vel": Twist})
    not_recorded = ros.publisher(String, "other/chatter")
    for i in range(100):
        pubs["/rec/chatter"].publish(String(data=f"hello {i}"))
        tw = Twist()
        tw.linear.x = i / 10.0
        pubs["/rec/cmd_vel"].publish(tw)
        not_recorded.publish(String(data="no"))
        time.sleep(0.005)
    # RELIABLE delivery of the tail before stopping: wait until the recorder has it on disk
    wait_for(
        lambda: recorded_count(tmp_path / "bag") >= 200,
        60,
        interval=0.1,
        what="200 messages checkpointed",
    )
    rec.signal(signal.SIGINT)
    assert rec.wait(timeout=20) == 0
    assert "bag closed" in rec.output()
    bag = tmp_path / "bag"
    a, b = same_in_both_readers(bag)
    assert set(a) == {"/rec/chatter", "/rec/cmd_vel"}
    assert [m.data for m in a["/rec/chatter"]] == [f"hello {i}" for i in range(100)]
    assert [m.data for m in b["/rec/chatter"]] == [f"hello {i}" for i in range(100)]
    assert [m.linear.x for m in b["/rec/cmd_vel"]] == [i / 10.0 for i in range(100)]
    meta = viz_readers.metadata(bag)
    assert meta["message_count"] == 200
    topics = {t["topic_metadata"]["name"]: t for t in meta["topics_with_message_count"]}
    assert topics["/rec/cmd_vel"]["topic_metadata"]["type"] == "geometry_msgs/msg/Twist"
    assert "reliability: 1" in topics["/rec/cmd_vel"]["topic_metadata"]["offered_qos_profiles"]


def test_sigkill_leaves_a_readable_bag(procs, ros, tmp_path):
    rec = start_recorder(procs, tmp_path, flush_period=0.2)
    pubs = publish_until_recorded(ros, rec, {"/rec/chatter": String})
    for i in range(200):
        pubs["/rec/chatter"].publish(String(data=f"m{i}"))
        time.sleep(0.005)
    bag = tmp_path / "bag"
    wait_for(lambda: recorded_count(bag) >= 150, 60, interval=0.1, what="checkpointed messages")
    rec.signal(signal.SIGKILL)
    rec.wait(timeout=10)
    a, b = same_in_both_readers(bag)
    n = len(a["/rec/chatter"])
    assert n == viz_readers.metadata(bag)["message_count"] >= 150
    assert [m.data for m in b["/rec/chatter"]] == [f"m{i}" for i in range(n)]


def test_disk_full_stops_recording_cleanly_and_keeps_what_was_written(procs, ros, tmp_path):
    limit = 120_000  # bytes per file: RLIMIT_FSIZE makes writes past it fail with EFBIG
    rec = start_recorder(
        procs,
        tmp_path,
        wrapper=("prlimit", f"--fsize={limit}"),
        chunk_size_kb=8,
        compression="none",
        flush_period=0.2,
    )
    pubs = publish_until_recorded(ros, rec, {"/rec/chatter": String})
    blob = "x" * 1000
    for i in range(400):
        pubs["/rec/chatter"].publish(String(data=f"{i:04d}{blob}"))
        time.sleep(0.003)
    rec.wait_output("recording stopped", timeout=60)
    out = rec.output()
    assert "File too large" in out or "errno 27" in out
    time.sleep(0.5)
    assert rec.running()  # the node keeps running (diagnostics report the error)
    bag = tmp_path / "bag"
    mcap_file = bag / viz_readers.metadata(bag)["relative_file_paths"][0]
    assert mcap_file.stat().st_size <= limit
    a, b = same_in_both_readers(bag)
    n = len(a["/rec/chatter"])
    assert 20 < n < 400
    assert n == viz_readers.metadata(bag)["message_count"]
    assert [m.data[:4] for m in b["/rec/chatter"]] == [f"{i:04d}" for i in range(n)]
    rec.signal(signal.SIGINT)
    assert rec.wait(timeout=20) == 0
    assert len(viz_readers.read_rosbags(bag)["/rec/chatter"]) == n  # still readable after exit


def test_rotation_by_size(procs, ros, tmp_path):
    rec = start_recorder(
        procs, tmp_path, chunk_size_kb=4, max_file_size_mb=0.01, compression="none"
    )
    pubs = publish_until_recorded(ros, rec, {"/rec/chatter": String})
    for i in range(150):
        pubs["/rec/chatter"].publish(String(data=f"{i:04d}" + "y" * 300))
        time.sleep(0.003)
    wait_for(
        lambda: recorded_count(tmp_path / "bag") >= 150,
        60,
        interval=0.1,
        what="150 messages checkpointed",
    )
    rec.signal(signal.SIGINT)
    assert rec.wait(timeout=20) == 0
    bag = tmp_path / "bag"
    meta = viz_readers.metadata(bag)
    assert len(meta["relative_file_paths"]) >= 3
    a, b = same_in_both_readers(bag)
    assert [m.data[:4] for m in a["/rec/chatter"]] == [f"{i:04d}" for i in range(150)]


def test_bad_configuration_exits_2(procs, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    for params, text in (
        ({"bag_name": "taken"}, "not empty"),
        ({"bag_name": "a/b"}, "plain directory name"),
        ({"compression": "gzip"}, "parameter 'compression'"),
        ({"topics": '["[x"]'}, "parameter 'topics'"),
        ({"flush_period_s": 0.5}, "parameter 'flush_period_s' = 0.5: renamed to 'flush_period'"),
        ({"max_file_duration_s": 9.0}, "renamed to 'max_file_duration'"),
        ({"discovery_period_s": 0.5}, "renamed to 'discovery_period'"),
    ):
        p = {"output_dir": str(tmp_path)}
        p.update(params)
        proc = procs.node("edgebot_viz", "mcap_recorder", params=p)
        assert proc.wait(timeout=30) == 2, proc.output()
        assert text in proc.output()
