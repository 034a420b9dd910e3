"""camera_node as a process: a looping video file, a local HTTP MJPEG stream that is stopped
and restarted (the node recovers), calibration files, configuration errors."""

import math
import pathlib
import sys
import time

import cv2
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from edgebot_camera import calibration
from edgebot_common import qos
from edgebot_common.image import compressed_to_numpy, image_to_numpy
from edgebot_testing import free_port, wait_for

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from mjpeg_server import MjpegServer, numbered_frame, read_number

T = 60.0  # generous: the machine is shared


def write_video(path, n=40, fps=20):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (320, 240))
    for i in range(n):
        w.write(numbered_frame(i))
    w.release()
    return path


def camera_status(diags):
    for arr in reversed(diags):
        for st in arr.status:
            if st.name.endswith(": capture"):
                return st
    return None


def values(st):
    return {kv.key: kv.value for kv in st.values}


def test_video_file_loops_with_calibration(procs, ros, tmp_path):
    video = write_video(tmp_path / "clip.avi")
    cal_file = tmp_path / "cam.yaml"
    cal_file.write_text(calibration.dump(calibration.pinhole(640, 480, 70.0, "test")))
    raw = ros.collect(Image, "camera/image_raw", qos.IMAGES)
    jpg = ros.collect(CompressedImage, "camera/image_raw/compressed", qos.IMAGES)
    info = ros.collect(CameraInfo, "camera/camera_info", qos.IMAGES)
    node = procs.node(
        "edgebot_camera",
        "camera_node",
        params={
            "source": str(video),
            "fps": 40.0,
            "jpeg_quality": 95,
            "camera_info_url": f"file://{cal_file}",
            "frame_id": "cam_x",
        },
    )
    t_start = ros.node.get_clock().now().nanoseconds
    # 40 frames at 40 fps: after ~70 frames the file has looped
    wait_for(
        lambda: len(raw) >= 70 and len(jpg) >= 5 and len(info) >= 5,
        T,
        what=f"frames (got {len(raw)} raw, {len(jpg)} jpeg)\n{node.output()}",
    )
    m = raw[-1]
    assert (m.encoding, m.width, m.height, m.header.frame_id) == ("bgr8", 320, 240, "cam_x")
    nums = [read_number(image_to_numpy(x)) for x in raw]
    assert all(0 <= n < 40 for n in nums)
    assert any(b < a for a, b in zip(nums, nums[1:])), f"no loop seen in {nums}"
    stamps = [x.header.stamp.sec * 10**9 + x.header.stamp.nanosec for x in raw]
    assert stamps == sorted(stamps) and stamps[0] >= t_start - 5 * 10**9
    j = jpg[-1]
    assert j.format == "jpeg" and j.header.frame_id == "cam_x"
    assert compressed_to_numpy(j).shape == (240, 320, 3)
    assert 0 <= read_number(compressed_to_numpy(j)) < 40
    ci = info[-1]
    assert (ci.width, ci.height) == (320, 240)  # 640x480 calibration scaled
    assert ci.k[0] == pytest.approx(160 / math.tan(math.radians(35)), rel=1e-6)
    assert ci.k[2] == pytest.approx(160) and ci.header.frame_id == "cam_x"


def test_mjpeg_stream_stop_and_restart_recovers(procs, ros):
    port = free_port()
    server = MjpegServer(port, fps=15).start()
    try:
        raw = ros.collect(Image, "camera/image_raw", qos.IMAGES)
        diags = ros.collect(DiagnosticArray, "/diagnostics")
        node = procs.node(
            "edgebot_camera",
            "camera_node",
            params={
                "source": server.url,
                "read_timeout": 2.0,
                "reconnect.initial": 0.2,
                "reconnect.max": 1.0,
            },
        )
        wait_for(lambda: len(raw) >= 10, T, what=f"stream frames\n{node.output()}")
        st = wait_for(
            lambda: (s := camera_status(diags)) and s.message == "streaming" and s,
            T,
            what="diagnostics streaming",
        )
        assert st.level == b"\x00" and values(st)["kind"] == "stream"

        server.stop()  # the camera is "unplugged"
        st = wait_for(
            lambda: (s := camera_status(diags)) and s.level == b"\x02" and s,
            T,
            what=f"diagnostics reporting the lost stream\n{node.output()}",
        )
        assert st.message.startswith("disconnected")
        n_down = len(raw)
        time.sleep(1.0)
        assert len(raw) <= n_down + 1  # no frames while it is down
        assert node.running()

        server.start()  # back on the same URL
        wait_for(lambda: len(raw) >= n_down + 10, T, what=f"frames after restart\n{node.output()}")
        st = wait_for(
            lambda: (
                (s := camera_status(diags))
                and s.message == "streaming"
                and int(values(s)["reconnects"]) >= 1
                and s
            ),
            T,
            what="diagnostics after recovery",
        )
        assert int(values(st)["failures"]) >= 1
        assert "reopened" in node.output()
    finally:
        server.stop()


def test_missing_file_is_retried_until_it_appears(procs, ros, tmp_path):
    video = tmp_path / "later.avi"
    raw = ros.collect(Image, "camera/image_raw", qos.IMAGES)
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    node = procs.node(
        "edgebot_camera",
        "camera_node",
        params={
            "source": str(video),
            "reconnect.initial": 0.2,
            "reconnect.max": 0.5,
            "publish_compressed": False,
        },
    )
    st = wait_for(
        lambda: (s := camera_status(diags)) and s.level == b"\x02" and s,
        T,
        what=f"error diagnostics\n{node.output()}",
    )
    assert "video file not found" in st.message and str(video) in st.message
    assert not raw and node.running()
    write_video(tmp_path / "tmp.avi").rename(video)
    wait_for(lambda: len(raw) >= 5, T, what=f"frames once the file exists\n{node.output()}")


@pytest.mark.parametrize(
    "params,expect",
    [
        ({"pixel_format": "YUV"}, "parameter 'pixel_format' = 'YUV'"),
        ({"jpeg_quality": 101}, "parameter 'jpeg_quality' = 101: must be <= 100"),
        (
            {"camera_info_url": "/nonexistent/cam.yaml"},
            "calibration file not found: /nonexistent/cam.yaml",
        ),
    ],
)
def test_configuration_errors_exit_2(procs, params, expect):
    node = procs.node("edgebot_camera", "camera_node", params={"source": "/tmp/x.avi", **params})
    assert node.wait(timeout=T) == 2
    assert expect in node.output()
