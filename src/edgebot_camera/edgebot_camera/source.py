"""Video sources behind one small interface (ROS-free): a V4L2 device (index or path), a video
file (looping), an HTTP/RTSP stream (MJPEG IP cameras, the simulator) or a GStreamer pipeline.

    src = VideoSource(SourceSpec.parse("http://127.0.0.1:8080/stream.mjpg"))
    src.open()                 # raises SourceError with a readable reason
    frame = src.read()         # BGR array, or None when the source failed (then reopen)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import cv2
import numpy as np

DEVICE, FILE, STREAM, GSTREAMER = "device", "file", "stream", "gstreamer"


class SourceError(RuntimeError):
    """The source cannot be opened or has failed."""


@dataclass
class SourceSpec:
    kind: str
    target: object  # int index, device path, file path, URL or pipeline string
    text: str

    @classmethod
    def parse(cls, text: str) -> SourceSpec:
        t = text.strip()
        if not t:
            raise ValueError(
                "empty source; give a device index or path, a file, a URL or a GStreamer pipeline"
            )
        if t.isdigit():
            return cls(DEVICE, int(t), t)
        if t.startswith("/dev/"):
            return cls(DEVICE, t, t)
        if "://" in t and t.split("://", 1)[0].lower() in (
            "http",
            "https",
            "rtsp",
            "rtsps",
            "rtmp",
            "udp",
            "tcp",
        ):
            return cls(STREAM, t, t)
        if "!" in t:
            return cls(GSTREAMER, t, t)
        if t.startswith("file://"):
            t = t[len("file://") :]
        return cls(FILE, os.path.expanduser(t), t)


class VideoSource:
    """cv2.VideoCapture with the options each kind needs, and file looping."""

    def __init__(
        self,
        spec: SourceSpec,
        width: int = 0,
        height: int = 0,
        fps: float = 0.0,
        pixel_format: str = "",
        loop: bool = True,
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 3.0,
    ):
        self.spec = spec
        self.width, self.height, self.fps = width, height, fps
        self.pixel_format = pixel_format
        self.loop = loop
        self.open_timeout_ms = int(open_timeout_s * 1000)
        self.read_timeout_ms = int(read_timeout_s * 1000)
        self.cap: cv2.VideoCapture | None = None
        self.source_fps = 0.0
        self.backend = ""

    # -- open/close -----------------------------------------------------------------------
    def open(self) -> None:
        self.close()
        s = self.spec
        timeouts = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            self.open_timeout_ms,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            self.read_timeout_ms,
        ]
        if s.kind == FILE:
            if not os.path.isfile(s.target):
                raise SourceError(f"video file not found: {s.target}")
            cap = cv2.VideoCapture(s.target)
        elif s.kind == STREAM:
            cap = cv2.VideoCapture(s.target, cv2.CAP_FFMPEG, timeouts)
        elif s.kind == GSTREAMER:
            cap = cv2.VideoCapture(s.target, cv2.CAP_GSTREAMER)
        else:
            if isinstance(s.target, str) and not os.path.exists(s.target):
                raise SourceError(f"camera device not found: {s.target}")
            cap = cv2.VideoCapture(s.target, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            extra = (
                " (this OpenCV build has no GStreamer)"
                if s.kind == GSTREAMER
                and "GStreamer:                   NO" in cv2.getBuildInformation()
                else ""
            )
            raise SourceError(f"cannot open {s.kind} source {s.text!r}{extra}")
        if s.kind == DEVICE:
            if self.pixel_format:
                cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.pixel_format))
            if self.width:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            if self.height:
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            if self.fps:
                cap.set(cv2.CAP_PROP_FPS, self.fps)
        self.source_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        try:
            self.backend = cap.getBackendName()
        except cv2.error:
            self.backend = ""
        self.cap = cap

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None

    # -- frames ---------------------------------------------------------------------------
    def grab(self) -> bool:
        """Grab the next frame (timestamp right after this returns). False: source failed."""
        if self.cap is None:
            return False
        if self.cap.grab():
            return True
        if self.spec.kind == FILE and self.loop:
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            return bool(self.cap.grab())
        return False

    def retrieve(self) -> np.ndarray | None:
        ok, frame = self.cap.retrieve()
        if not ok or frame is None or frame.size == 0:
            return None
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        if (
            self.width
            and self.height
            and self.spec.kind != DEVICE
            and (frame.shape[1], frame.shape[0]) != (self.width, self.height)
        ):
            frame = cv2.resize(frame, (self.width, self.height), interpolation=cv2.INTER_AREA)
        return frame

    def read(self) -> np.ndarray | None:
        return self.retrieve() if self.grab() else None

    @property
    def paced(self) -> bool:
        """Files play as fast as they decode: the node paces them."""
        return self.spec.kind == FILE


class Pacer:
    """Sleeps to hold a rate (for files), without drift."""

    def __init__(self, rate_hz: float):
        self.period = 1.0 / rate_hz if rate_hz > 0 else 0.0
        self._next = None

    def wait(self) -> None:
        if not self.period:
            return
        now = time.monotonic()
        if self._next is None or now - self._next > 1.0:
            self._next = now
        self._next += self.period
        d = self._next - time.monotonic()
        if d > 0:
            time.sleep(d)
