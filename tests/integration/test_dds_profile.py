"""config/fastdds.xml: the Fast DDS profile every edgebot process runs with - UDPv4 only, no
shared memory between processes (a process frozen while it holds a shared-memory port's lock
stalls every publisher to that port: tests/faults/test_dds_freeze.py) - and
config/fastdds_shm.xml, the opt-in shared-memory profile sized for camera frames.

Checked for real: a node started with the profile opens no Fast DDS shared-memory port (under
ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, as the tests run, rmw_fastrtps adds a shared-memory
transport of its own; the profile's UDPv4-only locators keep it unused) and a 640x480 bgr8 Image
still crosses between two processes whole. env.sh and the top-level launch files set the
profile; a profile the user already set is left alone."""

import os
import pathlib
import subprocess
import xml.etree.ElementTree as ET

import yaml

from edgebot_testing import ROOT, wait_for

PROFILE = ROOT / "config" / "fastdds.xml"
SHM_PROFILE = ROOT / "config" / "fastdds_shm.xml"
NS = {"f": "http://www.eprosima.com"}
FRAME_640 = 640 * 480 * 3
FRAME_720P = 1280 * 720 * 3


def _kinds(root) -> dict:
    return {
        t.findtext("f:transport_id", namespaces=NS): t.findtext("f:type", namespaces=NS)
        for t in root.iterfind(".//f:transport_descriptor", NS)
    }


def test_profile_is_udp_only_with_udp_locators():
    root = ET.parse(PROFILE).getroot()
    part = root.find(".//f:participant", NS)
    assert part.get("is_default_profile") == "true"
    used = [e.text for e in part.iterfind(".//f:userTransports/f:transport_id", NS)]
    assert used and {_kinds(root)[u] for u in used} == {"UDPv4"}  # no SHM transport
    # the built-in set has shared memory: it stays off
    assert part.findtext(".//f:useBuiltinTransports", namespaces=NS) == "false"
    # where peers send user data: UDPv4 locators only (rmw_fastrtps adds a shared-memory
    # transport under ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST; no SHM locator keeps it unused)
    locs = part.findall("f:rtps/f:defaultUnicastLocatorList/f:locator", NS)
    assert locs and all([c.tag for c in loc] == [f"{{{NS['f']}}}udpv4"] for loc in locs)
    # socket buffers that hold a 640x480 frame's fragments whole (else: drops and resends)
    (udp,) = [
        t
        for t in root.iterfind(".//f:transport_descriptor", NS)
        if t.findtext("f:type", namespaces=NS) == "UDPv4"
    ]
    for k in ("sendBufferSize", "receiveBufferSize"):
        assert int(udp.findtext(f"f:{k}", namespaces=NS)) >= 4 * FRAME_640, k


def test_opt_in_shm_profile_is_sized_for_camera_frames():
    root = ET.parse(SHM_PROFILE).getroot()
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
    used = [e.text for e in part.iterfind(".//f:userTransports/f:transport_id", NS)]
    assert sorted(_kinds(root)[u] for u in used) == ["SHM", "UDPv4"]  # UDP: other hosts
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


def _shm_ports(pid: int) -> set:
    """Fast DDS shared-memory ports (/dev/shm/fastdds_port*) mapped by process ``pid``: where
    peers would push samples for it, and whose locks a frozen peer could hold."""
    out = set()
    for line in pathlib.Path(f"/proc/{pid}/maps").read_text().splitlines():
        path = line.split()[-1]
        if os.path.basename(path).startswith("fastdds_port"):
            out.add(path)
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


def test_nodes_open_no_shm_port_and_a_frame_crosses_whole(procs, ros):
    import numpy as np
    from sensor_msgs.msg import Image

    from edgebot_common import qos
    from edgebot_common.image import image_to_numpy

    env = {"FASTDDS_DEFAULT_PROFILES_FILE": str(PROFILE)}
    got = ros.collect(Image, "profile/image", qos.IMAGES)
    pub = procs.start(["python", "-c", PUBLISHER], name="profile_pub", env=env)
    pub.wait_output("up", timeout=30)
    wait_for(lambda: len(got) >= 3, 60, what="images")
    # matched and sending (to this process too): no shared-memory port anywhere in it
    assert _shm_ports(pub.popen.pid) == set()
    a = image_to_numpy(got[-1])
    assert a.shape == (480, 640, 3) and a.nbytes == FRAME_640
    assert np.array_equal(a.reshape(-1)[:502], np.arange(502) % 251)
