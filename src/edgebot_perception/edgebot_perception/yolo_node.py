"""yolo_node: camera images in, ``detections`` (edgebot_interfaces/Detection2DArray) out.

The newest frame only (depth 1: a slow model drops frames), inferred in the image callback, or
on a worker thread when the node shares one executor thread with others or ``min_period`` is
set. ``yolo/enable`` false unsubscribes from the images. See the package README.
"""

from __future__ import annotations

import sys
import threading
import time

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.executors import Executor, MultiThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image
from std_srvs.srv import SetBool

from edgebot_common import qos
from edgebot_common.diagnostics import ERROR, OK, WARN, Diagnostics
from edgebot_common.image import numpy_to_image
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter
from edgebot_interfaces.msg import Detection2DArray

from .backends import ModelError, make_backend
from .frames import (
    FrameRejected,
    SequenceGaps,
    StageTimes,
    add_dds_stages,
    cdr_image,
    decode_frame,
    detections_msg,
    ros_header,
    scale_detections,
)
from .node_params import SPECS
from .tracking import BackgroundTracker, TrackerConfig
from .yolo_math import OutputShapeError, draw


class YoloNode(Node):
    NODE_NAME = "yolo_node"

    def __init__(self):
        super().__init__(self.NODE_NAME)
        p = self.p = declare_params(self, SPECS)
        classes = [c for c in p["classes"] if c]
        try:
            self.backend = make_backend(
                p["backend"],
                p["model"],
                imgsz=p["imgsz"],
                conf=p["conf_threshold"],
                iou=p["iou_threshold"],
                max_det=p["max_detections"],
                classes=classes,
                threads=p["threads"],
                spinning=p["ort_spinning"],
                track=p["tracking"],
                tracker=p["tracker"],
            )
        except ModelError as e:  # e.param: 'backend' (cannot run the file) or 'model'
            raise ConfigError(f"parameter '{e.param}' = {p[e.param]!r}: {e}") from None
        # backends without a tracker of their own get ours (IDs -1 when tracking is off), built
        # on a thread from the start (norfair imports scipy: seconds); the first frame waits
        self.tracker = self._pending_tracker = None
        if p["tracking"] and self.backend.name != "ultralytics":
            cfg = TrackerConfig(p["track_iou_threshold"], p["track_max_age"], p["track_min_hits"])
            try:
                cfg.check()
            except ValueError as e:
                raise ConfigError(f"parameter 'track_min_hits' = {cfg.min_hits}: {e}") from None
            self._pending_tracker = BackgroundTracker(cfg)
        self.rejects = RejectCounter(self.get_logger().warning)
        self.pub = self.create_publisher(Detection2DArray, "detections", qos.RELIABLE)
        self.pub_img = self.create_publisher(Image, "detections/image", qos.IMAGES)
        self.compressed = p["input"] == "compressed"
        self.topic = p["image_topic"] or (
            "camera/image_raw/compressed" if self.compressed else "camera/image_raw"
        )
        self.sub = None
        self._group = MutuallyExclusiveCallbackGroup()  # one frame at a time
        self._gaps = SequenceGaps()
        self._lock = threading.Condition()
        self._latest = None
        self._latest_t = (0.0, 0)  # when it came: perf_counter, ROS clock ns
        self.stages = StageTimes()
        self.decode_reduction = 1  # last JPEG decoded at 1/1, 1/2, 1/4 or 1/8 size
        self._reset_tracks = False
        self.received = self.processed = self.dropped = self.errors = 0
        self.last_infer_ms = 0.0
        self.create_service(SetBool, "yolo/enable", self._on_enable)
        self.diag = Diagnostics(self, hardware_id=f"{self.backend.name}:{self.backend.path.name}")
        self.diag.add("detector", self._diag)
        self._stop, self._worker, self._boot_pending = threading.Event(), None, True
        if p["infer_in"] == "worker" or p["min_period"]:
            self._start_worker()
        steady = Clock(clock_type=ClockType.STEADY_TIME)  # subscribe when the executor is known
        self._boot = self.create_timer(0.0, self._on_boot, clock=steady)  # (no sim /clock wait)
        self.get_logger().info(
            f"{self.backend.name} {self.backend.path} imgsz {self.backend.imgsz}, classes "
            f"{list(self.backend.names.values())}, input {self.topic}"
        )

    # -- enable/disable ---------------------------------------------------------------------
    def set_enabled(self, on: bool):
        if on and self.sub is None:
            # rclpy's EventsExecutor (not an rclpy Executor) fails on a MessageInfo callback
            info = self.executor is None or isinstance(self.executor, Executor)
            self.sub = self.create_subscription(
                CompressedImage if self.compressed else Image,
                self.topic,
                self._on_image if info else (lambda raw: self._on_image(raw, None)),
                qos.by_name(self.p["image_qos"]),
                callback_group=self._group,
                raw=True,  # CDR bytes: frames.cdr_image views the pixels (rclpy would copy)
            )
        elif not on and self.sub is not None:
            self.destroy_subscription(self.sub)
            self.sub = None
            with self._lock:
                self._latest = None
                self._reset_tracks = True  # forget the tracks (new IDs after)
            self._gaps.reset()

    @property
    def enabled(self) -> bool:
        return self.sub is not None

    def _on_boot(self):
        self._boot.cancel()
        if self._boot_pending:
            self._boot_pending = False
            self.set_enabled(self.p["enabled"])

    def _on_enable(self, req, resp):
        self._boot_pending = False
        self.set_enabled(bool(req.data))
        resp.success = True
        resp.message = "enabled" if self.enabled else "disabled"
        return resp

    # -- frames -----------------------------------------------------------------------------
    def _start_worker(self):
        self._worker = threading.Thread(target=self._run, name="infer", daemon=True)
        self._worker.start()

    def _on_image(self, raw, info):
        t_in, wall = time.perf_counter(), time.time_ns()
        ros_in = self.get_clock().now().nanoseconds
        gap = self._gaps(info)  # frames DDS replaced while we were busy
        add_dds_stages(self.stages, info, wall)
        with self._lock:
            self.received += 1 + gap
            self.dropped += gap
        try:
            msg = cdr_image(raw, self.compressed)
        except FrameRejected as e:
            return self.rejects.reject(e.reason, str(e))
        ex = self.executor  # one thread (single-threaded or events executor) for several nodes?
        shared = not isinstance(ex, MultiThreadedExecutor) and len(ex.get_nodes()) > 1
        with self._lock:
            if self._worker is None and (self.p["infer_in"] == "callback" or not shared):
                inline = True
            else:
                inline = False
                if self._latest is not None:
                    self.dropped += 1  # the model was busy: only the newest frame counts
                self._latest, self._latest_t = msg, (t_in, ros_in)
                self._lock.notify()
        if inline:
            self._handle(msg, t_in, ros_in)
        elif self._worker is None:
            self._start_worker()

    def _run(self):
        next_ok = 0.0
        while not self._stop.is_set():
            with self._lock:
                while self._latest is None and not self._stop.is_set():
                    self._lock.wait(0.2)
                if self._stop.is_set():
                    return
                msg, self._latest = self._latest, None
                t_in, ros_in = self._latest_t
            self._handle(msg, t_in, ros_in)
            if self.p["min_period"]:
                next_ok = time.monotonic() + self.p["min_period"]
                self._stop.wait(max(0.0, next_ok - time.monotonic()))

    def _handle(self, msg, t_in, ros_in):
        if self._pending_tracker is not None:
            bg, self._pending_tracker = self._pending_tracker, None
            self.tracker = bg.get()
            if bg.error is not None:
                self.errors += 1
                self.get_logger().error(
                    f"tracking unavailable: {type(bg.error).__name__}: {bg.error}"
                )
        with self._lock:
            reset, self._reset_tracks = self._reset_tracks, False
        stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        self.stages.add("stamp_to_callback", (ros_in - stamp) * 1e-6)
        self.stages.add("queue", (time.perf_counter() - t_in) * 1e3)
        if reset and self.tracker is not None:
            self.tracker.reset()
        try:
            self.process(msg, t_in)
        except Exception as e:  # never let one frame kill the node
            self.errors += 1
            self.rejects.reject("error", f"{type(e).__name__}: {e}")

    def process(self, msg, t_in=None):
        t0 = time.perf_counter()
        try:
            img, w, h, self.decode_reduction = decode_frame(
                msg,
                self.compressed,
                self.backend.imgsz,
                (self.p["expected_width"], self.p["expected_height"]),
            )
        except FrameRejected as e:
            self.rejects.reject(e.reason, str(e))
            return
        t1 = time.perf_counter()
        try:
            dets = self.backend.infer(img)
        except OutputShapeError as e:
            self.rejects.reject("model_output", str(e))
            return
        t2 = time.perf_counter()
        self.last_infer_ms = (t2 - t1) * 1000.0
        sx, sy = w / img.shape[1], h / img.shape[0]  # a reduced JPEG decode -> full frame
        dets = scale_detections(dets, sx, sy)
        if self.tracker is not None:
            dets = self.tracker.update(dets)
        header = ros_header(msg.header)
        self.pub.publish(detections_msg(dets, header, w, h))
        self.processed += 1
        t3 = time.perf_counter()
        for stage, ms in (("decode", t1 - t0), ("inference", t2 - t1), ("publish", t3 - t2)):
            self.stages.add(stage, ms * 1e3)
        if t_in:  # the backend's parts; callback -> published against its bare run
            self.stages.add_infer(self.backend, t3 - t_in)
        if self.get_parameter("publish_annotated").value and self.pub_img.get_subscription_count():
            drawn = draw(img, scale_detections(dets, 1 / sx, 1 / sy))  # at the decoded size
            self.pub_img.publish(numpy_to_image(drawn, "bgr8", header.stamp, header.frame_id))

    # -- diagnostics ------------------------------------------------------------------------
    def _diag(self):
        p, ul = self.p, self.backend.name == "ultralytics"
        counts = self.rejects.as_dict()
        level = ERROR if self.errors and not self.processed else WARN if self.errors else OK
        msg = ("enabled" if self.enabled else "disabled") + (
            f", {self.rejects.total} frames rejected" if self.rejects.total else ""
        )
        vals = {
            "enabled": self.enabled,
            "backend": self.backend.name,
            "model": str(self.backend.path),
            "imgsz": self.backend.imgsz,
            "tracking": "off" if not p["tracking"] else self.p["tracker"] if ul else "norfair",
            "infer_in": "worker" if self._worker is not None else "callback",
            "input": self.topic,
            "received": self.received,
            "processed": self.processed,
            "dropped": self.dropped,
            "errors": self.errors,
            "inference_ms": round(self.last_infer_ms, 2),
            "decode_reduction": self.decode_reduction,
            "rejected": self.rejects.total,
        }
        vals.update({f"rejected.{k}": v for k, v in counts.items()})
        vals.update(self.stages.diag_values())
        return level, msg, vals

    def shutdown(self):
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=10)


def main(args=None):
    # with the worker, the frame goes from the executor thread to it: a thread that wants the
    # GIL waits up to the switch interval (5 ms by default) for a holder that does not block
    sys.setswitchinterval(0.001)
    run_node(YoloNode, args)


if __name__ == "__main__":
    main()
