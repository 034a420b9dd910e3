"""LiteRT (.tflite) backend: YOLOv8/YOLO11 detection models on ``ai-edge-litert``'s
interpreter (XNNPACK on the CPU), torch-free and TensorFlow-free; letterbox, decoding and NMS
are yolo_math's, as for the onnxruntime backend.

Models as scripts/export_models.py makes them (onnx2tf): NHWC input (1, S, S, 3) RGB 0..1,
float32 or int8 (quantized input/output are converted here), output (1, 4 + nc, N) or
(1, N, 4 + nc) with boxes in input pixels. Class names come from a ``metadata.json`` stored in a
zip appended to the .tflite (as ultralytics does), else from ``names``, else class_<i>.
"""

from __future__ import annotations

import json
import pathlib
import zipfile
from collections.abc import Sequence

import cv2
import numpy as np

from .backends import Backend, ModelError, class_ids, usable_cpus
from .yolo_math import OutputShapeError, check_output_shape, letterbox


def read_metadata(path) -> dict:
    """The metadata.json of a .tflite with a zip appended ({} if none)."""
    try:
        with zipfile.ZipFile(path) as z:
            return json.loads(z.read("metadata.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return {}


def write_metadata(path, meta: dict) -> None:
    """Append (or replace) metadata.json in a zip after the flatbuffer (the interpreter reads
    the flatbuffer from the start of the file and ignores the rest)."""
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("metadata.json", json.dumps(meta))


def _first_line(e: Exception) -> str:
    s = str(e).strip().splitlines()
    return s[0] if s else type(e).__name__


class LiteRTBackend(Backend):
    name = "litert"

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
    ):
        p = pathlib.Path(path)
        if not p.is_file():
            raise ModelError(f"model file not found: {p}")
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as e:
            raise ModelError(
                f"backend 'litert' needs the ai-edge-litert package (requirements/base.txt): {e}"
            ) from None
        try:
            self.interp = Interpreter(model_path=str(p), num_threads=threads or usable_cpus())
            self.interp.allocate_tensors()
        except Exception as e:  # flatbuffer errors, unsupported (Flex) ops, ...
            raise ModelError(f"litert cannot load {p}: {_first_line(e)}") from None
        meta = read_metadata(p)
        if names is None and isinstance(meta.get("names"), dict):
            names = {int(k): str(v) for k, v in meta["names"].items()}
        inp = self.interp.get_input_details()
        if len(inp) != 1 or len(inp[0]["shape"]) != 4 or inp[0]["shape"][3] != 3:
            raise ModelError(
                f"{p}: expected one NHWC image input (1, H, W, 3), got "
                f"{[(i['name'], list(i['shape'])) for i in inp]}"
            )
        h, w = int(inp[0]["shape"][1]), int(inp[0]["shape"][2])
        if h != w:
            raise ModelError(f"{p}: non-square input {w}x{h} is not supported")
        self.imgsz = h  # a .tflite is static: it decides its own size
        self.input = inp[0]
        outs = self.interp.get_output_details()
        shapes = [[int(v) for v in o["shape"]] for o in outs]
        if not 1 <= len(outs) <= 2 or any(len(s) != 3 for s in shapes):
            raise ModelError(
                f"{p}: outputs {shapes} not understood: expected (1, 4 + classes, anchors) of a "
                f"YOLOv8/YOLO11 detection head, or its boxes (1, 4, anchors) and scores "
                f"(1, classes, anchors)"
            )
        # (1, N, C) layouts (anchors first) are transposed to yolo_math's (1, C, N); boxes first
        self.transpose = [s[1] > s[2] for s in shapes]
        chans = [s[2] if t else s[1] for s, t in zip(shapes, self.transpose)]
        order = sorted(range(len(outs)), key=lambda i: chans[i] != 4)
        self.outputs = [outs[i] for i in order]
        self.transpose = [self.transpose[i] for i in order]
        if len(outs) == 2 and chans[order[0]] != 4:
            raise ModelError(f"{p}: two outputs {shapes}, but neither is (1, 4, anchors) boxes")
        try:
            nc = check_output_shape([1, sum(chans), max(max(s[1], s[2]) for s in shapes)], None)
        except OutputShapeError as e:
            raise ModelError(f"{p}: {e}") from None
        if names and len(names) != nc:
            raise ModelError(f"{p}: {nc} classes in the output but {len(names)} names")
        self.names = names or {i: f"class_{i}" for i in range(nc)}
        self.nc = nc
        self.normalized = meta.get("boxes") == "normalized"
        self.conf, self.iou, self.max_det = conf, iou, max_det
        self.classes = class_ids(classes, self.names)
        self.path = p
        self.meta = meta
        self.int_input = np.issubdtype(self.input["dtype"], np.integer)

    def prepare(self, img: np.ndarray) -> np.ndarray:
        """A letterboxed BGR uint8 image -> the model's input tensor."""
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)[None]
        if not self.int_input:
            return rgb.astype(np.float32) * np.float32(1.0 / 255.0)
        scale, zp = self.input["quantization"]
        info = np.iinfo(self.input["dtype"])
        q = np.round(rgb.astype(np.float32) * np.float32(1.0 / 255.0 / scale) + zp)
        return q.clip(info.min, info.max).astype(self.input["dtype"])

    def run(self, x: np.ndarray) -> np.ndarray:
        """The bare interpreter call: input tensor -> (1, 4 + nc, N) float32."""
        self.interp.set_tensor(self.input["index"], x)
        self.interp.invoke()
        parts = []
        for o, t in zip(self.outputs, self.transpose):
            out = self.interp.get_tensor(o["index"])
            if np.issubdtype(out.dtype, np.integer):
                scale, zp = o["quantization"]
                out = (out.astype(np.float32) - zp) * np.float32(scale)
            parts.append(out.transpose(0, 2, 1) if t else out)
        out = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        if self.normalized:
            out = out.copy()
            out[:, :4] *= self.imgsz
        return out

    def model_input(self, bgr: np.ndarray):
        img, lb = letterbox(bgr, self.imgsz)
        return self.prepare(img), lb
