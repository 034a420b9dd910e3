"""launch/perception.launch.yaml under `edgebot launch`: camera_node plays a video file of
rendered scenes, yolo_node publishes detections stamped like the camera's frames."""

import pathlib
import sys

import cv2
from sensor_msgs.msg import CameraInfo, Image

from edgebot_common import qos
from edgebot_interfaces.msg import Detection2DArray
from edgebot_testing import ROOT, wait_for

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from scenes import rendered

T = 120.0


def test_perception_launch_runs_camera_and_yolo_on_a_video(procs, ros, tmp_path):
    video = tmp_path / "scenes.avi"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (320, 240))
    for img, _ in rendered():
        w.write(img)
    w.release()
    dets = ros.collect(Detection2DArray, "detections")
    frames = ros.collect(Image, "camera/image_raw", qos.IMAGES)
    info = ros.collect(CameraInfo, "camera/camera_info", qos.IMAGES)
    launch = procs.start(
        [
            "edgebot",
            "launch",
            str(ROOT / "launch" / "perception.launch.yaml"),
            f"source:={video}",
            f"camera_params:={ROOT / 'config' / 'camera.yaml'}",
            f"yolo_params:={ROOT / 'config' / 'yolo.yaml'}",
            f"camera_info_url:={ROOT / 'config' / 'camera_info' / 'sim_camera.yaml'}",
        ],
        name="perception_launch",
    )
    wait_for(
        lambda: sum(len(d.detections) for d in dets) >= 5 and len(frames) >= 5 and info,
        T,
        what=f"detections from the launched pipeline\n{launch.output()[-3000:]}",
    )

    def matched():
        # our subscription keeps only the newest frame (and discovery may cost the first
        # ones): a detection can be of a frame we did not get; wait for one of a frame we got
        stamps = {(f.header.stamp.sec, f.header.stamp.nanosec) for f in list(frames)}
        return [d for d in list(dets) if (d.header.stamp.sec, d.header.stamp.nanosec) in stamps]

    wait_for(matched, T, what="a detection that carries the stamp of a camera frame")
    assert all(d.header.frame_id == "camera_link" for d in dets)
    labels = {x.label for d in dets for x in d.detections}
    assert labels <= {"ball", "cone", "box"} and labels
    assert info and info[-1].k[0] > 277.0 and info[-1].k[0] < 277.3  # the sim calibration
    assert launch.running()
