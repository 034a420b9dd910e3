"""camera_node: frames from a device, file, HTTP/RTSP stream or GStreamer pipeline to
``camera/image_raw`` (bgr8), ``camera/image_raw/compressed`` (JPEG) and ``camera/camera_info``.

A capture thread grabs frames (stamped right after the grab) and publishes them; the source's
life (open, fail, close, reopen with backoff) is an ``edgebot_common.supervisor
.DeviceSupervisor``, reported in diagnostics.
"""

from __future__ import annotations

import threading
import time

import cv2
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from edgebot_common import qos
from edgebot_common.backoff import Backoff
from edgebot_common.diagnostics import ERROR, OK, WARN, Diagnostics
from edgebot_common.image import bytes_to_compressed, numpy_to_image
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.params import ParamSpec, require_order
from edgebot_common.ros_params import declare_params
from edgebot_common.supervisor import DeviceSupervisor
from edgebot_common.throttle import RejectCounter

from . import calibration
from .source import Pacer, SourceError, SourceSpec, VideoSource


def _pixel_format(v):
    return None if v == "" or len(v) == 4 else "must be empty or a 4-character FOURCC (MJPG, YUYV)"


def _source(v):
    try:
        SourceSpec.parse(v)
    except ValueError as e:
        return str(e)
    return None


SPECS = [
    ParamSpec(
        "source",
        "0",
        "device index or /dev/videoN, video file, http(s)/rtsp URL, or a "
        "GStreamer pipeline (contains '!')",
        check=_source,
    ),
    ParamSpec("width", 0, "frame width [px], 0 = the source's", min=0, max=8192),
    ParamSpec("height", 0, "frame height [px], 0 = the source's", min=0, max=8192),
    ParamSpec(
        "fps",
        0.0,
        "devices: requested rate; files: playback rate (0 = the file's); streams: ignored",
        min=0.0,
        max=1000.0,
    ),
    ParamSpec(
        "pixel_format",
        "",
        "device FOURCC (MJPG, YUYV), empty = driver default",
        check=_pixel_format,
    ),
    ParamSpec("loop", True, "restart video files at their end"),
    ParamSpec("frame_id", "camera_link", "header.frame_id"),
    ParamSpec(
        "camera_info_url",
        "",
        "calibration YAML (camera_calibration format; file:// "
        "or a path); empty = ideal pinhole from hfov_deg",
    ),
    ParamSpec(
        "hfov_deg",
        60.0,
        "horizontal FOV of the ideal camera used without calibration",
        min=1.0,
        max=179.0,
    ),
    ParamSpec("jpeg_quality", 85, "JPEG quality of image_raw/compressed", min=1, max=100),
    ParamSpec("publish_raw", True, "publish camera/image_raw"),
    ParamSpec("publish_compressed", True, "publish camera/image_raw/compressed"),
    ParamSpec(
        "open_timeout",
        5.0,
        "timeout to open a stream [s]",
        min=0.1,
        max=120.0,
        renamed_from=("open_timeout_s",),
    ),
    ParamSpec(
        "read_timeout",
        3.0,
        "a stream that sends nothing this long [s] has failed",
        renamed_from=("read_timeout_s",),
        min=0.1,
        max=120.0,
    ),
    ParamSpec(
        "reconnect.initial",
        0.5,
        "first retry delay after a failure [s]",
        min=0.01,
        max=60.0,
        renamed_from=("reconnect.initial_s",),
    ),
    ParamSpec(
        "reconnect.max",
        5.0,
        "longest retry delay [s]",
        min=0.01,
        max=600.0,
        renamed_from=("reconnect.max_s",),
    ),
]


class CameraNode(Node):
    NODE_NAME = "camera_node"

    def __init__(self):
        super().__init__(self.NODE_NAME)
        p = self.p = declare_params(self, SPECS)
        self.spec = SourceSpec.parse(p["source"])
        url = p["camera_info_url"]
        if url.startswith("file://"):
            url = url[len("file://") :]
        try:
            self.calib = calibration.load(url) if url else None
        except calibration.CalibrationError as e:
            raise ConfigError(
                f"parameter 'camera_info_url' = {p['camera_info_url']!r}: {e}"
            ) from None
        require_order(p, "reconnect.initial", "reconnect.max")
        self.source = VideoSource(
            self.spec,
            p["width"],
            p["height"],
            p["fps"],
            p["pixel_format"],
            p["loop"],
            p["open_timeout"],
            p["read_timeout"],
        )
        # the backoff is reset by the first frame, not by a successful open
        self.sup = DeviceSupervisor(
            self.source.open,
            Backoff(p["reconnect.initial"], p["reconnect.max"]),
            close=self.source.close,
            retry_on=(SourceError,),
            on_up=self._on_up,
            on_down=self._on_down,
            confirm_on_connect=False,
        )
        self.rejects = RejectCounter(self.get_logger().warning)
        self.pub_raw = self.create_publisher(Image, "camera/image_raw", qos.IMAGES)
        self.pub_jpeg = self.create_publisher(
            CompressedImage, "camera/image_raw/compressed", qos.IMAGES
        )
        self.pub_info = self.create_publisher(CameraInfo, "camera/camera_info", qos.IMAGES)
        self.state = "connecting"
        self.frames = 0
        self._rate_t0, self._rate_n, self.rate_hz = time.monotonic(), 0, 0.0
        self._info_cache = {}
        self.diag = Diagnostics(self, hardware_id=f"camera@{self.spec.text}")
        self.diag.add("capture", self._diag)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._thread.start()
        self.get_logger().info(f"camera source {self.spec.kind} {self.spec.text!r}")

    # -- diagnostics ------------------------------------------------------------------------
    def _diag(self):
        level = {"streaming": OK, "connecting": WARN}.get(self.state, ERROR)
        last_error = self.sup.last_error
        msg = (
            self.state
            if not last_error or self.state == "streaming"
            else f"{self.state}: {last_error}"
        )
        return (
            level,
            msg,
            {
                "source": self.spec.text,
                "kind": self.spec.kind,
                "backend": self.source.backend,
                "frames": self.frames,
                "rate_hz": round(self.rate_hz, 2),
                "reconnects": self.sup.reconnects,
                "failures": self.sup.failures,
                "rejected": self.rejects.total,
                "last_error": last_error,
            },
        )

    # -- capture thread ---------------------------------------------------------------------
    def _on_down(self, why: str, delay: float):
        self.get_logger().error(f"camera source failed: {why}; retrying (backoff {delay:.1f} s)")
        self.state = "disconnected"

    def _on_up(self, reconnect: bool):
        if reconnect:
            self.get_logger().info(f"camera source {self.spec.text!r} reopened")

    def _run(self):
        pacer = None
        while not self._stop.is_set():
            if not self.sup.connected:
                if not self.sup.step():
                    self._stop.wait(0.02)
                    continue
                rate = self.p["fps"] or self.source.source_fps or 30.0
                pacer = Pacer(rate) if self.source.paced else None
            if not self.source.grab():
                self.sup.lost("no frame from the source (unplugged, stream ended or timed out)")
                continue
            stamp = self.get_clock().now().to_msg()
            frame = self.source.retrieve()
            if frame is None:
                self.rejects.reject("retrieve", "grabbed frame could not be decoded")
                continue
            if self.state != "streaming":
                self.state = "streaming"
                self.sup.confirm()
            try:
                self._publish(frame, stamp)
            except Exception as e:  # a publish failing at shutdown must not kill the thread
                if self._stop.is_set():
                    break
                self.rejects.reject("publish", str(e))
            if pacer is not None:
                pacer.wait()

    def _info(self, w, h):
        key = (w, h)
        if key not in self._info_cache:
            cal = self.calib.scaled(w, h) if self.calib else pinhole_for(self.p, w, h)
            if self.calib and (w, h) != (self.calib.width, self.calib.height):
                self.get_logger().warning(
                    f"calibration is for {self.calib.width}x{self.calib.height}, frames are "
                    f"{w}x{h}: camera_info scaled"
                )
            self._info_cache[key] = calibration.to_camera_info(cal)
        return self._info_cache[key]

    def _publish(self, frame, stamp):
        fid = self.p["frame_id"]
        h, w = frame.shape[:2]
        if self.p["publish_raw"] and self.pub_raw.get_subscription_count():
            self.pub_raw.publish(numpy_to_image(frame, "bgr8", stamp, fid))
        if self.p["publish_compressed"] and self.pub_jpeg.get_subscription_count():
            ok, jpg = cv2.imencode(
                ".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.p["jpeg_quality"]]
            )
            if ok:
                self.pub_jpeg.publish(bytes_to_compressed(jpg, "jpeg", stamp, fid))
        info = self._info(w, h)
        info.header.stamp = stamp
        info.header.frame_id = fid
        self.pub_info.publish(info)
        self.frames += 1
        self._rate_n += 1
        now = time.monotonic()
        if now - self._rate_t0 >= 1.0:
            self.rate_hz = self._rate_n / (now - self._rate_t0)
            self._rate_t0, self._rate_n = now, 0

    def shutdown(self):
        self._stop.set()
        self._thread.join(timeout=max(5.0, self.p["read_timeout"] + 1))
        self.source.close()


def pinhole_for(p, w, h):
    return calibration.pinhole(w, h, p["hfov_deg"])


def main(args=None):
    run_node(CameraNode, args)


if __name__ == "__main__":
    main()
