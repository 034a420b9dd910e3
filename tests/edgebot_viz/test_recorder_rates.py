"""mcap_recorder's per-topic maximum rates: the ROS-free TopicRates, and the recorder as a
process recording camera frames (CompressedImage JPEGs) thinned to their limit while another
topic is recorded whole; the bag read back with the mcap library and rosbags, the frames
decoded by OpenCV."""

import pathlib
import signal
import sys
import time

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage
from std_msgs.msg import String

from edgebot_common.image import bytes_to_compressed
from edgebot_testing import wait_for
from edgebot_viz.filters import TopicRates

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from test_recorder import (
    publish_until_recorded,
    recorded_count,
    same_in_both_readers,
    start_recorder,
)

import viz_readers


def test_topic_rates_limit_per_topic_and_default():
    r = TopicRates([".*/image_raw/compressed=5", "/imu/.*=0"], default=20.0)
    assert r.rate("/camera/image_raw/compressed") == 5.0
    assert r.rate("/imu/data") == 0.0  # a rule of 0: everything
    assert r.rate("/odom") == 20.0
    t = [i / 100.0 for i in range(300)]  # 100 Hz for 3 s
    passed = {
        topic: sum(r.allow(topic, now) for now in t)
        for topic in ("/camera/image_raw/compressed", "/imu/data", "/odom")
    }
    assert passed == {"/camera/image_raw/compressed": 15, "/imu/data": 300, "/odom": 60}
    assert r.dropped == 300 - 15 + 300 - 60


def test_topic_rates_restart_when_the_clock_goes_back():
    r = TopicRates([], default=1.0)
    assert r.allow("/a", 100.0) and not r.allow("/a", 100.5)
    assert r.allow("/a", 3.0)  # sim time restarted: not dropped until 101 s
    assert not r.allow("/a", 3.5) and r.allow("/a", 4.0)
    assert r.dropped == 2


@pytest.mark.parametrize("rules", [["/a=fast"], ["=5"], ["/a=-1"], ["(=5"]])
def test_topic_rates_bad_rules(rules):
    with pytest.raises(ValueError, match="rate rule"):
        TopicRates(rules)


def frame(i):
    """A 160x120 JPEG whose mean grey level encodes i (0..24)."""
    img = np.full((120, 160, 3), 20 + 9 * i, np.uint8)
    cv2.putText(img, str(i), (40, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 2)
    ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return img, jpg


def test_camera_frames_recorded_at_their_limited_rate(procs, ros, tmp_path):
    limit = 4.0
    rec = start_recorder(
        procs,
        tmp_path,
        topic_rates=f'[".*/image_raw/compressed={limit}"]',
        flush_period=0.2,
    )
    pubs = publish_until_recorded(
        ros, rec, {"/rec/camera/image_raw/compressed": CompressedImage, "/rec/chatter": String}
    )
    assert "/rec/camera/image_raw/compressed [sensor_msgs/msg/CompressedImage] at most 4 Hz" in (
        rec.output()
    )
    frames = [frame(i % 25) for i in range(25)]
    n = 75  # about 25 Hz for 3 s
    t0 = time.monotonic()
    for i in range(n):
        stamp = ros.node.get_clock().now().to_msg()
        pubs["/rec/camera/image_raw/compressed"].publish(
            bytes_to_compressed(frames[i % 25][1], "jpeg", stamp, f"frame{i}")
        )
        pubs["/rec/chatter"].publish(String(data=f"m{i}"))
        time.sleep(0.04)  # pacing the stream (a camera), not synchronisation
    span = time.monotonic() - t0
    wait_for(
        lambda: recorded_count(tmp_path / "bag") >= n + 2,
        60,
        interval=0.1,
        what="the chatter and some frames checkpointed",
    )
    rec.signal(signal.SIGINT)
    assert rec.wait(timeout=20) == 0
    bag = tmp_path / "bag"
    a, b = same_in_both_readers(bag)
    assert [m.data for m in a["/rec/chatter"]] == [f"m{i}" for i in range(n)]  # not limited
    imgs = a["/rec/camera/image_raw/compressed"]
    assert len(b["/rec/camera/image_raw/compressed"]) == len(imgs)
    assert 3 <= len(imgs) < n
    # the frames are real JPEGs, each one of those sent (its index in frame_id)
    for m in imgs:
        assert m.format == "jpeg"
        dec = cv2.imdecode(np.frombuffer(bytes(m.data), np.uint8), cv2.IMREAD_COLOR)
        i = int(m.header.frame_id.removeprefix("frame"))
        sent = frames[i % 25][0]
        assert dec.shape == sent.shape
        assert abs(float(dec.mean()) - float(sent.mean())) < 3.0
    # log times (the recorder's clock, which its limiter runs on): frame k is at least k/limit
    # after the first, and the recorded rate is about the limit (at least a third of the rate
    # at which frames came, as measured here: a loaded machine delivers in bursts)
    log_times = read_log_times(bag, "/rec/camera/image_raw/compressed")
    assert len(log_times) == len(imgs)
    dt = (log_times[-1] - log_times[0]) * 1e-9
    assert len(log_times) - 1 <= dt * limit + 1e-6, (len(log_times), dt)
    assert (len(log_times) - 1) / dt >= min(limit, n / span) / 3, (len(log_times), dt, span)
    meta = viz_readers.metadata(bag)
    assert meta["message_count"] == n + len(imgs)


def read_log_times(bag, topic):
    from mcap.reader import make_reader

    out = []
    for rel in viz_readers.metadata(bag)["relative_file_paths"]:
        with open(pathlib.Path(bag) / rel, "rb") as f:
            for _s, _channel, message in make_reader(f).iter_messages(topics=[topic]):
                out.append(message.log_time)
    return sorted(out)


def test_bad_rate_rule_exits_2(procs, tmp_path):
    from edgebot_testing import ros_executable

    proc = procs.start(
        [
            ros_executable("edgebot_viz", "mcap_recorder"),
            "--ros-args",
            "-p",
            f"output_dir:={tmp_path}",
            "-p",
            'topic_rates:=["/camera/.*=fast"]',
        ],
        name="mcap_recorder_bad",
    )
    assert proc.wait(timeout=60) == 2, proc.output()
    assert "parameter 'topic_rates'" in proc.output() and "'fast' is not a number" in (
        proc.output()
    )
