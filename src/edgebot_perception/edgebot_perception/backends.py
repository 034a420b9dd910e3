"""Detector backends behind one interface (no rclpy):

- ``onnxruntime``: any YOLOv8/YOLO11 detection model exported to ONNX; letterbox, inference,
  decoding and NMS in numpy/OpenCV. Imports neither torch nor ultralytics.
- ``litert``: the same for LiteRT (.tflite) models (litert_backend.py, ai-edge-litert).
- ``ultralytics``: anything ``ultralytics.YOLO`` loads (.pt, .onnx, ...), with its tracker for
  track IDs. Imported lazily (torch is an optional extra).

    be = make_backend("onnxruntime", "edgebot_objects.onnx", imgsz=320, conf=0.25)
    dets = be.infer(bgr_image)   # [Detection(class_id, label, score, x1, y1, x2, y2, track_id)]

``backend="auto"`` picks the backend by the model file's extension (FORMATS); a backend given
by name that cannot run the file is a ModelError naming the file and the backends that can.
"""

from __future__ import annotations

import ast
import os
import pathlib
import time
from collections.abc import Sequence

import numpy as np

from .yolo_math import (
    Detection,
    LetterboxBlob,
    OutputShapeError,
    check_output_shape,
    decode,
    unletterbox,
)

BACKENDS = ("auto", "onnxruntime", "litert", "ultralytics")
# Which backends run which model files; the first is the one backend "auto" picks.
FORMATS = {
    ".onnx": ("onnxruntime", "ultralytics"),
    ".tflite": ("litert",),
    ".pt": ("ultralytics",),
    ".torchscript": ("ultralytics",),
}
SHIPPED_MODEL = "edgebot_objects.onnx"
# the shipped detector in each backend's format (models/, see the package README)
SHIPPED = {
    "auto": SHIPPED_MODEL,
    "onnxruntime": SHIPPED_MODEL,
    "litert": "edgebot_objects_float32.tflite",
    "ultralytics": "edgebot_objects.pt",
}


class ModelError(ValueError):
    """The model cannot be used (missing file, unknown format, output not understood)."""

    param = "model"  # the node parameter to name in the startup error


class BackendError(ModelError):
    """The backend asked for cannot run this model file (or does not exist)."""

    param = "backend"


def usable_cpus(cgroup: str = "/sys/fs/cgroup") -> int:
    """CPUs this process may really use: its affinity mask, capped by a cgroup CPU quota.

    Containers and CI runners often report the host's cores through ``os.cpu_count()`` while a
    quota allows two; ONNX Runtime, LiteRT and torch would then start (and spin) a thread per
    host core and run many times slower than with two threads."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    root = pathlib.Path(cgroup)
    for quota_file, period_file in (
        ("cpu.max", None),  # cgroup v2: "<quota|max> <period>"
        ("cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us"),  # v1: quota -1 = none
    ):
        try:
            text = (root / quota_file).read_text().split()
            quota = text[0]
            period = text[1] if period_file is None else (root / period_file).read_text()
            if quota not in ("max", "-1") and int(quota) > 0:
                n = min(n, max(1, -(-int(quota) // int(period))))
                break
        except (OSError, ValueError, IndexError):
            continue
    return max(1, n)


def ort_intra_threads(threads: int = 0) -> int:
    """ONNX Runtime's intra-op thread count: ``threads`` when given; else ``usable_cpus()`` when a
    CPU quota or affinity mask allows fewer CPUs than the host reports (ONNX Runtime would start
    a thread per host core); else 0, ONNX Runtime's own default. Setting the same count it
    would pick was slower here: through yolo_node at imgsz 320, 12.5 ms per frame with
    ``intra_op_num_threads = 2`` against 9.9 ms with the default on this 2-core machine (three
    nodes sharing the cores; bench_perception node_pipeline, perception README)."""
    if threads:
        return threads
    n = usable_cpus()
    return n if n < (os.cpu_count() or n) else 0


#: ONNX Runtime session settings per ``ort_spinning``. By default ONNX Runtime's pool threads spin
#: between the operators of a run and for tens of ms after it ("always"): a 7.5 ms run at imgsz
#: 320 cost 56 ms of CPU, and another process's inference beside it ran 1.7x slower. "in_run"
#: stops the spin when a run ends (the run as fast on an idle machine, a quarter of the CPU);
#: "never" does not spin at all: 1.1-1.26x slower runs on an idle machine, but under load the
#: fastest (a thread waiting for its peer blocks instead of spinning on a contested core): in
#: the demo beside a busy core 12.8 ms per run against 14-17 ms (always) and 25-33 ms (in_run).
#: ``benchmarks/bench_ort_spin.py``; perception README.
ORT_SPINNING = {
    "never": {"session.intra_op.allow_spinning": "0"},
    "in_run": {"session.force_spinning_stop": "1"},
    "always": {},
}


def ort_session_options(threads: int = 0, spinning: str = "never"):
    """onnxruntime.SessionOptions as OnnxBackend uses them: ``ort_intra_threads(threads)``, one
    inter-op thread, warnings off, the ORT_SPINNING[spinning] entries."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = ort_intra_threads(threads)
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    if spinning not in ORT_SPINNING:
        raise ValueError(f"ort_spinning {spinning!r}: allowed {list(ORT_SPINNING)}")
    for key, value in ORT_SPINNING[spinning].items():
        so.add_session_config_entry(key, value)
    return so


def models_dir() -> pathlib.Path:
    """Where the shipped models are: the package's share directory, else the source tree."""
    try:
        from ament_index_python.packages import get_package_share_directory

        d = pathlib.Path(get_package_share_directory("edgebot_perception")) / "models"
        if d.is_dir():
            return d
    except Exception:  # not installed (running from the source tree)
        pass
    return pathlib.Path(__file__).resolve().parents[1] / "models"


def resolve_model(path: str, backend: str) -> pathlib.Path:
    """'' -> the shipped model for the backend; a bare file name -> the shipped models dir."""
    if not path:
        path = SHIPPED.get(backend, SHIPPED_MODEL)
    p = pathlib.Path(os.path.expanduser(path))
    if not p.is_absolute() and not p.exists() and len(p.parts) == 1:
        p = models_dir() / p
    if not p.is_file():
        raise ModelError(f"model file not found: {p}")
    return p


def class_ids(filter_names: Sequence[str], names: dict) -> list[int] | None:
    """Class filter (names or numeric ids as strings) -> ids; None = all classes."""
    if not filter_names:
        return None
    by_name = {v: k for k, v in names.items()}
    out = []
    for f in filter_names:
        if f in by_name:
            out.append(int(by_name[f]))
        elif str(f).isdigit() and int(f) in names:
            out.append(int(f))
        else:
            raise ModelError(
                f"class {f!r} is not one of the model's classes {list(names.values())}"
            )
    return out


def choose_backend(name: str, path) -> str:
    """The backend that runs this model file: ``name``, checked, or for "auto" the first of
    FORMATS[extension]. BackendError (one line) naming the file and the backends that can."""
    p = pathlib.Path(path)
    ext = p.suffix.lower()
    able = FORMATS.get(ext, ())
    known = "; ".join(f"{e}: {'/'.join(b)}" for e, b in FORMATS.items())
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; allowed: {list(BACKENDS)}")
    if not able:
        raise BackendError(
            f"{p}: no backend runs {ext or 'extension-less'!r} model files ({known})"
        )
    if name == "auto":
        return able[0]
    if name not in able:
        raise BackendError(
            f"{p}: backend {name!r} cannot run {ext} models; backends that can: {list(able)}"
        )
    return name


class Backend:
    name = ""
    names: dict = {}
    imgsz: int = 320
    nc: int = 0
    conf, iou, max_det, classes = 0.25, 0.45, 100, None
    #: seconds of the last ``infer``'s parts, where timed: letterbox and input tensor (pre),
    #: the model's own call (run: bare inference), decoding + NMS + detections (post)
    last_pre_s: float | None = None
    last_run_s: float | None = None
    last_post_s: float | None = None

    def infer(self, bgr: np.ndarray) -> list[Detection]:
        """Letterbox -> the model -> detections, each part timed (``last_*_s``): the torch-free
        backends give ``model_input`` and ``run``; ultralytics has its own ``infer``."""
        h, w = bgr.shape[:2]
        t0 = time.perf_counter()
        x, lb = self.model_input(bgr)
        t1 = time.perf_counter()
        out = self.run(x)
        t2 = time.perf_counter()
        dets = self.detections(out, lb, w, h)
        self.last_pre_s, self.last_run_s = t1 - t0, t2 - t1
        self.last_post_s = time.perf_counter() - t2
        return dets

    def model_input(self, bgr: np.ndarray):
        """A BGR frame -> (the model's input tensor, its Letterbox)."""
        raise NotImplementedError

    def run(self, x: np.ndarray) -> np.ndarray:
        """The bare model call (bare inference): input tensor -> (1, 4 + nc, N) output."""
        raise NotImplementedError

    def detections(self, out: np.ndarray, lb, w: int, h: int) -> list[Detection]:
        """A (1, 4 + nc, N) head output of a letterboxed w x h frame -> detections (shared
        by the torch-free backends: decoding and NMS are yolo_math's)."""
        if out.ndim != 3 or out.shape[1] != 4 + self.nc:
            raise OutputShapeError(
                f"model output shape {list(out.shape)} not understood "
                f"(expected (1, {4 + self.nc}, N))"
            )
        boxes, scores, cls = decode(out, self.conf, self.iou, self.max_det, self.classes)
        boxes = unletterbox(boxes, lb, w, h)
        return [
            Detection(int(c), self.names.get(int(c), str(c)), float(s), *map(float, b))
            for b, s, c in zip(boxes, scores, cls)
        ]


class OnnxBackend(Backend):
    name = "onnxruntime"

    def __init__(
        self,
        path,
        imgsz: int = 320,
        conf: float = 0.25,
        iou: float = 0.45,
        max_det: int = 100,
        classes: Sequence[str] = (),
        threads: int = 0,
        names: dict | None = None,
        spinning: str = "never",
    ):
        import onnxruntime as ort

        p = pathlib.Path(path)
        if not p.is_file():
            raise ModelError(f"model file not found: {p}")
        so = ort_session_options(threads, spinning)
        try:
            self.sess = ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])
        except Exception as e:
            raise ModelError(f"onnxruntime cannot load {p}: {e}") from None
        meta = self.sess.get_modelmeta().custom_metadata_map
        if names is None and "names" in meta:
            try:
                names = {int(k): str(v) for k, v in ast.literal_eval(meta["names"]).items()}
            except (ValueError, SyntaxError, AttributeError):
                names = None
        inp = self.sess.get_inputs()
        if len(inp) != 1 or len(inp[0].shape) != 4:
            raise ModelError(
                f"{p}: expected one image input (1, 3, H, W), got "
                f"{[(i.name, i.shape) for i in inp]}"
            )
        self.input_name = inp[0].name
        h, w = inp[0].shape[2], inp[0].shape[3]
        if isinstance(h, int) and isinstance(w, int):
            if h != w:
                raise ModelError(f"{p}: non-square input {w}x{h} is not supported")
            imgsz = h  # a static model decides its own size
        elif imgsz % 32:
            raise ModelError(f"imgsz {imgsz} must be a multiple of 32")
        self.imgsz = int(imgsz)
        outs = self.sess.get_outputs()
        try:
            nc = check_output_shape(outs[0].shape, len(names) if names else None)
        except OutputShapeError as e:
            raise ModelError(f"{p}: {e}") from None
        self.names = names or {i: f"class_{i}" for i in range(nc)}
        self.nc = nc
        self.conf, self.iou, self.max_det = conf, iou, max_det
        self.classes = class_ids(classes, self.names)
        self.path = p
        self._blob = None

    def model_input(self, bgr: np.ndarray):
        if self._blob is None or self._blob.size != self.imgsz:
            self._blob = LetterboxBlob(self.imgsz)
        return self._blob(bgr)  # letterbox + blob into a buffer kept between frames

    def run(self, x: np.ndarray) -> np.ndarray:
        return self.sess.run(None, {self.input_name: x})[0]


class UltralyticsBackend(Backend):
    name = "ultralytics"

    def __init__(
        self,
        path,
        imgsz: int = 320,
        conf: float = 0.25,
        iou: float = 0.45,
        max_det: int = 100,
        classes: Sequence[str] = (),
        track: bool = False,
        tracker: str = "bytetrack.yaml",
    ):
        os.environ.setdefault("YOLO_OFFLINE", "1")  # nothing from the hub at run time
        p = pathlib.Path(path)
        if not p.is_file():
            raise ModelError(f"model file not found: {p}")
        try:
            from ultralytics import YOLO
        except ImportError as e:
            raise ModelError(
                f"backend 'ultralytics' needs the ultralytics package (requirements/ml.txt): {e}"
            ) from None
        try:
            import torch

            torch.set_num_threads(usable_cpus())  # not one per host core (see usable_cpus)
            self.model = YOLO(str(p), task="detect")
            names = self.model.names
        except Exception as e:
            raise ModelError(f"ultralytics cannot load {p}: {e}") from None
        if getattr(self.model, "task", "detect") != "detect":
            raise ModelError(f"{p} is a {self.model.task!r} model, need a detection model")
        self.names = {int(k): str(v) for k, v in names.items()}
        self.imgsz, self.conf, self.iou, self.max_det = int(imgsz), conf, iou, max_det
        self.classes = class_ids(classes, self.names)
        self.track, self.tracker = track, tracker
        self.path = p

    def infer(self, bgr: np.ndarray) -> list[Detection]:
        kw = dict(
            imgsz=self.imgsz,
            conf=self.conf,
            iou=self.iou,
            max_det=self.max_det,
            classes=self.classes,
            verbose=False,
            device="cpu",
        )
        if self.track:
            res = self.model.track(bgr, persist=True, tracker=self.tracker, **kw)[0]
        else:
            res = self.model.predict(bgr, **kw)[0]
        b = res.boxes
        if b is None or len(b) == 0:
            return []
        xyxy = b.xyxy.cpu().numpy()
        conf = b.conf.cpu().numpy()
        cls = b.cls.cpu().numpy().astype(int)
        ids = b.id.cpu().numpy().astype(int) if b.id is not None else [-1] * len(cls)
        return [
            Detection(
                int(c), self.names.get(int(c), str(c)), float(s), *map(float, x), track_id=int(t)
            )
            for x, s, c, t in zip(xyxy, conf, cls, ids)
        ]


def make_backend(name: str, model: str = "", **kw) -> Backend:
    """name: one of BACKENDS ("auto": by the model file's extension); model: a path, a bare
    file name in the shipped models dir, or "" for the shipped detector."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; allowed: {list(BACKENDS)}")
    path = resolve_model(model, name)
    name = choose_backend(name, path)
    if name in ("onnxruntime", "litert"):
        kw.pop("track", None)
        kw.pop("tracker", None)
        if name == "litert":
            kw.pop("spinning", None)  # LiteRT's XNNPACK threads do not spin after a run
            from .litert_backend import LiteRTBackend

            return LiteRTBackend(path, **kw)
        return OnnxBackend(path, **kw)
    kw.pop("threads", None)
    kw.pop("spinning", None)
    return UltralyticsBackend(path, **kw)
