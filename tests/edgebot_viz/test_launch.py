"""launch/viz.launch.yaml and description.launch.yaml started with `edgebot launch`: the bridge
serves the robot model and frames of the state publisher, and the recorder writes a bag that
both readers open after the launch stops."""

import pathlib
import signal
import sys
import time

from std_msgs.msg import String

from edgebot_common import qos as Q
from edgebot_testing import ROOT, free_port, wait_for
from foxglove_ws_client import FoxgloveClient

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import viz_readers


def test_viz_launch_bridge_and_recorder(procs, ros, tmp_path):
    port = free_port()
    out = tmp_path / "rec"
    launch = procs.start(
        [
            "edgebot",
            "launch",
            str(ROOT / "launch" / "viz.launch.yaml"),
            "record:=true",
            f"port:={port}",
            f"output_dir:={out}",
            f"params_file:={ROOT / 'config' / 'foxglove.yaml'}",
        ],
        name="viz_launch",
    )
    launch.wait_output("Foxglove bridge listening", timeout=60)
    procs.start(
        [
            "edgebot",
            "launch",
            str(ROOT / "launch" / "description.launch.yaml"),
            f"urdf:={ROOT / 'urdf' / 'edgebot_rover.urdf'}",
        ],
        name="description_launch",
    )
    # a deep queue, as in test_recorder.py: what is published while the recorder's reader is
    # still matching our writer is kept for it
    pub = ros.publisher(String, "viz_test/chatter", Q.RECORDING)
    with FoxgloveClient(f"ws://127.0.0.1:{port}") as c:
        desc = c.wait_channel("/robot_description", timeout=60)
        _, payload, _ = c.next_message(c.subscribe(desc["id"]), timeout=30)
        assert b"<robot" in payload
        assert c.wait_channel("/tf_static", timeout=60)["schemaName"] == "tf2_msgs/msg/TFMessage"
    launch.wait_output("recording /viz_test/chatter", timeout=60)
    ros.wait_subscribers(pub, 1, timeout=60)
    for i in range(20):
        pub.publish(String(data=f"v{i}"))
        time.sleep(0.02)
    bags = wait_for(lambda: list(out.iterdir()) if out.exists() else None, 30, what="bag dir")

    def recorded():
        try:  # metadata.yaml appears at the recorder's first checkpoint
            topics = viz_readers.metadata(bags[0])["topics_with_message_count"]
        except Exception:  # not there yet, or being rewritten
            return False
        counts = {t["topic_metadata"]["name"]: t["message_count"] for t in topics}
        # the latched description too: the recorder finds topics on its own discovery period,
        # which on a loaded machine can come after the chatter was recorded
        return counts.get("/viz_test/chatter", 0) >= 20 and counts.get("/robot_description", 0) >= 1

    wait_for(recorded, 60, interval=0.2, what="recorded messages")
    launch.signal(signal.SIGINT)
    assert launch.wait(timeout=30) == 0, launch.output()[-3000:]
    for read in (viz_readers.read_mcap, viz_readers.read_rosbags):
        got = read(bags[0])
        assert [m.data for m in got["/viz_test/chatter"]] == [f"v{i}" for i in range(20)]
        assert "<robot" in got["/robot_description"][0].data
        assert {t.child_frame_id for t in got["/tf_static"][0].transforms} == {
            "caster_link",
            "imu_link",
            "camera_link",
            "sonar_link",
        }
