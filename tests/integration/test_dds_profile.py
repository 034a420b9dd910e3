"""config/fastdds.xml: the Fast DDS profile that lets camera frames through shared memory.

Checked for real: a node started with the profile maps a shared-memory segment of the
profile's size - 8 MiB instead of Fast DDS's built-in 512 KiB - and a 640x480 bgr8 Image
crosses between two processes whole. env.sh and the top-level launch files set the profile;
a profile the user already set is left alone."""

import os
import pathlib
import subprocess
import xml.etree.ElementTree as ET

import yaml

from edgebot_testing import ROOT, wait_for

PROFILE = ROOT / "config" / "fastdds.xml"
NS = {"f": "http://www.eprosima.com"}
FRAME_640 = 640 * 480 * 3
FRAME_720P = 1280 * 720 * 3


def test_profile_is_well_formed_and_sized_for_camera_frames():
    root = ET.parse(PROFILE).getroot()
    shm = [
        t
        for t in root.iterfind(".//f:transport_descriptor", NS)
        if t.findtext("f:type", namespaces=NS) == "SHM"
    ]
    assert len(shm) == 1
    segment = int(shm[0].findtext("f:segment_size", namespaces=NS))
    max_msg = int(shm[0].findtext("f:maxMessageSize", namespaces=NS))
    assert max_msg >= FRAME_720P  # a 1280x720 bgr8 frame in one message
    assert segment >= 2 * max_msg  # room for one in flight while the next is written
    part = root.find(".//f:participant", NS)
    assert part.get("is_default_profile") == "true"
    used = [e.text for e in part.iterfind(".//f:userTransports/f:transport_id", NS)]
    kinds = {
        t.findtext("f:transport_id", namespaces=NS): t.findtext("f:type", namespaces=NS)
        for t in root.iterfind(".//f:transport_descriptor", NS)
    }
    assert sorted(kinds[u] for u in used) == ["SHM", "UDPv4"]  # UDP kept: other hosts, discovery
    assert part.findtext(".//f:useBuiltinTransports", namespaces=NS) == "false"


def _env_sh(extra: dict) -> str:
    env = {k: v for k, v in os.environ.items() if k != "FASTDDS_DEFAULT_PROFILES_FILE"}
    env.update(extra)
    return subprocess.run(
        ["bash", "-c", f"source {ROOT}/env.sh >/dev/null; echo \"$FASTDDS_DEFAULT_PROFILES_FILE\""],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_env_sh_exports_the_profile_unless_one_is_set():
    assert pathlib.Path(_env_sh({})) == PROFILE
    assert _env_sh({"FASTDDS_DEFAULT_PROFILES_FILE": "/opt/mine.xml"}) == "/opt/mine.xml"


def test_top_level_launch_files_set_the_profile():
    for name in ("demo", "robot", "perception"):
        entries = yaml.safe_load((ROOT / "launch" / f"{name}.launch.yaml").read_text())["launch"]
        env = [e["set_env"] for e in entries if "set_env" in e]
        assert {
            "name": "FASTDDS_DEFAULT_PROFILES_FILE",
            "value": "$(env FASTDDS_DEFAULT_PROFILES_FILE "
            "$(find-pkg-share edgebot_bringup)/config/fastdds.xml)",
        } in env, name


def _mapped_segments(pid: int) -> dict:
    """Fast DDS shared-memory segments (not the port files) mapped by process ``pid``."""
    out = {}
    for line in pathlib.Path(f"/proc/{pid}/maps").read_text().splitlines():
        path = line.split()[-1]
        name = os.path.basename(path)
        if path.startswith("/dev/shm/fastdds_") and "port" not in name and not name.endswith("_el"):
            try:
                out[path] = os.path.getsize(path)
            except OSError:
                pass
    return out


PUBLISHER = r"""
import time, numpy as np, rclpy
from sensor_msgs.msg import Image
from edgebot_common import qos
from edgebot_common.image import numpy_to_image
rclpy.init()
node = rclpy.create_node("profile_image_pub")
pub = node.create_publisher(Image, "profile/image", qos.IMAGES)
arr = (np.arange(480 * 640 * 3) % 251).astype(np.uint8).reshape(480, 640, 3)
print("up", flush=True)
while True:
    pub.publish(numpy_to_image(arr, "bgr8", frame_id="cam"))
    time.sleep(0.1)
"""


def test_nodes_use_the_profile_and_a_frame_crosses_whole(procs, ros):
    import numpy as np
    from sensor_msgs.msg import Image

    from edgebot_common import qos
    from edgebot_common.image import image_to_numpy

    env = {"FASTDDS_DEFAULT_PROFILES_FILE": str(PROFILE)}
    got = ros.collect(Image, "profile/image", qos.IMAGES)
    pub = procs.start(["python", "-c", PUBLISHER], name="profile_pub", env=env)
    pub.wait_output("up", timeout=30)
    # the publisher's own segment: the profile's 8 MiB, not the built-in 512 KiB
    wait_for(lambda: len(got) >= 3, 60, what="images")
    own = _mapped_segments(pub.popen.pid)
    # its own segment is the biggest it maps (it also maps ours, the subscriber's)
    assert own and max(own.values()) >= 8 * 1024 * 1024, own
    a = image_to_numpy(got[-1])
    assert a.shape == (480, 640, 3) and a.nbytes == FRAME_640
    assert np.array_equal(a.reshape(-1)[:502], np.arange(502) % 251)
