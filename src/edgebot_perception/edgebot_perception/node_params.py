"""yolo_node's parameters (ROS-free: ParamSpec lists, validated by declare_params)."""

from __future__ import annotations

from edgebot_common.params import ParamSpec

from .backends import BACKENDS

SPECS = [
    ParamSpec("backend", "onnxruntime", "inference backend", choices=list(BACKENDS)),
    ParamSpec(
        "model",
        "",
        "model file; empty = the shipped detector (edgebot_objects.onnx / "
        ".pt); a bare file name is looked up in the package's models/",
    ),
    ParamSpec(
        "imgsz",
        320,
        "inference size (letterboxed square; multiple of 32)",
        min=32,
        max=2048,
        check=lambda v: None if v % 32 == 0 else "must be a multiple of 32",
    ),
    ParamSpec("conf_threshold", 0.25, "minimum score", min=0.0, max=1.0),
    ParamSpec("iou_threshold", 0.45, "NMS IoU threshold", min=0.0, max=1.0),
    ParamSpec("max_detections", 100, "most detections per image", min=1, max=1000),
    ParamSpec(
        "classes", [""], "class filter: class names or ids; empty = all", type=list, item_type=str
    ),
    ParamSpec(
        "input",
        "raw",
        "image input: raw (sensor_msgs/Image) or compressed (sensor_msgs/CompressedImage)",
        choices=["raw", "compressed"],
    ),
    ParamSpec(
        "image_topic",
        "",
        "input topic; empty = camera/image_raw or camera/image_raw/compressed by input",
    ),
    ParamSpec(
        "image_qos",
        "images",
        "QoS profile of the image subscription (edgebot_common.qos):"
        " images = reliable depth 1 (needed for frames over ~500 kB between processes), "
        "latest_only / sensor_data = best effort",
        choices=["images", "latest_only", "sensor_data"],
    ),
    ParamSpec("expected_width", 0, "reject frames of another width (0 = any size)", min=0),
    ParamSpec("expected_height", 0, "reject frames of another height (0 = any size)", min=0),
    ParamSpec(
        "publish_annotated", False, "publish detections/image (bgr8, boxes drawn)", read_only=False
    ),
    ParamSpec("enabled", True, "start with detection enabled (service yolo/enable)"),
    ParamSpec("threads", 0, "onnxruntime intra-op threads, 0 = its default", min=0, max=64),
    ParamSpec(
        "ort_spinning",
        "never",
        "onnxruntime pool threads: never spin (the fastest under load, 1.1-1.26x slower on an "
        "idle machine), in_run (spin between the operators of a run, stop when it ends: the "
        "fastest on an otherwise idle machine), always (onnxruntime's default: also spin for "
        "tens of ms after each run)",
        choices=["never", "in_run", "always"],
    ),
    ParamSpec(
        "tracking",
        False,
        "track IDs on the detections: the ultralytics backend with its own tracker "
        "(tracker), every other backend with edgebot_perception.tracking (track_*)",
    ),
    ParamSpec("tracker", "bytetrack.yaml", "ultralytics backend: its tracker config"),
    ParamSpec(
        "track_iou_threshold",
        0.1,
        "a detection continues a track when its IoU with the track's predicted box exceeds this",
        min=0.0,
        max=0.99,
    ),
    ParamSpec(
        "track_max_age",
        15,
        "processed frames a track survives without a detection (occlusions)",
        min=1,
        max=1000,
    ),
    ParamSpec(
        "track_min_hits",
        2,
        "frames an object is detected in before it gets an ID (until then -1)",
        min=1,
        max=1000,
    ),
    ParamSpec(
        "infer_in",
        "auto",
        "where the model runs: callback (in the image subscription's callback: no thread "
        "hand-over), worker (a thread of its own: other callbacks of a shared single-threaded "
        "executor are not held up by inference), auto (callback unless the node shares a "
        "single-threaded or events executor with other nodes); min_period > 0 always uses "
        "the worker",
        choices=["auto", "callback", "worker"],
    ),
    ParamSpec(
        "min_period",
        0.0,
        "seconds: do not run the model more often than this (0 = as fast as frames come)",
        min=0.0,
        max=60.0,
        renamed_from=("min_period_s",),
    ),
]
