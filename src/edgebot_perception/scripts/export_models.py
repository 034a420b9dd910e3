#!/usr/bin/env python3
"""Produce the shipped detector's other formats from models/edgebot_objects.onnx, offline:

- ``edgebot_objects_int8.onnx``: ONNX Runtime static INT8 (QDQ, per-channel weights, uint8
  activations), calibrated on rendered scenes; the detection head's box/score decoding (DFL,
  anchors, sigmoid, the final concat of pixel boxes with 0..1 scores) stays FP32.
- ``edgebot_objects_float32.tflite``: LiteRT FP32, converted with onnx2tf (ONNX -> TF ->
  TFLite; NHWC input, same outputs as the ONNX model).
- ``edgebot_objects_int8.tflite``: LiteRT INT8 from the same conversion (see --litert-int8).
- ``edgebot_objects_export.json``: how each file was made (tools and versions, calibration
  scenes and seed, excluded nodes, sizes, sha256). Accuracy is not recorded here: the tests
  and benchmarks/bench_perception.py compute it on a held-out set rendered each time.

Runs in the project's .venv (rendering, onnxruntime). The LiteRT conversion runs onnx2tf in
an environment of its own (requirements/export.txt: tensorflow and hard pins that must not
enter .venv); --setup-env creates it.

    python src/edgebot_perception/scripts/export_models.py --setup-env   # once, ~5 min
    python src/edgebot_perception/scripts/export_models.py               # ~3 min
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
MODELS = HERE.parent / "models"
ROOT = HERE.parents[2]
EXPORT_REQS = ROOT / "requirements" / "export.txt"
CALIB_SEED = (6, 3)  # make_dataset.py uses (seed, 0..2) for train/val/test: this is a 4th stream

# The detection head's post-processing, kept in FP32 by the INT8 ONNX model: everything in
# model.22 except its convolution branches (cv2: box distributions, cv3: class logits).
HEAD = "/model.22/"
HEAD_CONV_BRANCHES = ("/model.22/cv2", "/model.22/cv3")


def calibration_images(n: int, imgsz: int, seed=CALIB_SEED) -> list[np.ndarray]:
    """n letterboxed BGR uint8 images (imgsz x imgsz) of rendered scenes."""
    import pybullet as p

    from edgebot_perception.dataset import Scene
    from edgebot_perception.yolo_math import letterbox

    rng = np.random.default_rng(list(seed))
    scene = Scene(rng, pathlib.Path(tempfile.mkdtemp(prefix="edgebot-calib-")))
    out = []
    try:
        while len(out) < n:
            buf, _ = scene.sample()
            out.append(letterbox(cv2.imdecode(buf, cv2.IMREAD_COLOR), imgsz)[0])
    finally:
        p.disconnect(scene.cid)
    return out


def head_nodes_to_exclude(onnx_path: pathlib.Path, exclude_last_convs: bool) -> list[str]:
    import onnx

    g = onnx.load(str(onnx_path)).graph
    out = []
    for n in g.node:
        if not n.name.startswith(HEAD):
            continue
        in_branch = n.name.startswith(HEAD_CONV_BRANCHES)
        # cv2.i.2 / cv3.i.2 are the plain 1x1 convs that output logits
        last_conv = in_branch and n.name.split("/")[-2].endswith(".2")
        if not in_branch or (exclude_last_convs and last_conv):
            out.append(n.name)
    return out


def quantize_onnx(
    src: pathlib.Path, dst: pathlib.Path, calib: list, exclude_last_convs: bool
) -> dict:
    import onnxruntime
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from edgebot_perception.yolo_math import to_blob

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"images": to_blob(img)} for img in calib])

        def get_next(self):
            return next(self.it, None)

    exclude = head_nodes_to_exclude(src, exclude_last_convs)
    with tempfile.TemporaryDirectory() as td:
        pre = pathlib.Path(td) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre),
            str(dst),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=exclude,
        )
    _copy_metadata(src, dst)
    return {
        "tool": f"onnxruntime.quantization.quantize_static (onnxruntime {onnxruntime.__version__})",
        "format": "QDQ",
        "weights": "int8 per-channel",
        "activations": "uint8 per-tensor, MinMax calibration",
        "pre_process": "onnxruntime.quantization.shape_inference.quant_pre_process",
        "calibration": {"images": len(calib), "seed": list(CALIB_SEED), "imgsz": calib[0].shape[0]},
        "kept_fp32": f"{len(exclude)} nodes of the detection head's decoding "
        f"({HEAD}* except the cv2/cv3 convolutions"
        + (", and their last 1x1 convs" if exclude_last_convs else "")
        + ")",
    }


def _copy_metadata(src: pathlib.Path, dst: pathlib.Path):
    """The class names etc. (ultralytics' metadata_props) onto the derived model."""
    import onnx

    s, d = onnx.load(str(src)), onnx.load(str(dst))
    have = {p.key for p in d.metadata_props}
    for p in s.metadata_props:
        if p.key not in have:
            d.metadata_props.add(key=p.key, value=p.value)
    onnx.save(d, str(dst))


INT8_FILES = {
    "integer": "integer_quant",
    "full-integer": "full_integer_quant",
    "dynamic-range": "dynamic_range_quant",
}


def split_head_output(src: pathlib.Path, dst: pathlib.Path) -> None:
    """The model with the head's last Concat (pixel boxes ++ 0..1 class scores -> output0)
    removed: two outputs, boxes (1, 4, N) and scores (1, nc, N). A fully INT8 model gives each
    its own scale; one tensor shares a scale of ~1.3 px per step, which zeroes every score."""
    import onnx

    m = onnx.load(str(src))
    g = m.graph
    out = g.output[0].name
    last = [n for n in g.node if out in n.output]
    if len(last) != 1 or last[0].op_type != "Concat" or len(last[0].input) != 2:
        sys.exit(f"{src}: the output is not the head's Concat(boxes, scores)")
    boxes, scores = last[0].input
    nc = g.output[0].type.tensor_type.shape.dim[1].dim_value - 4
    g.node.remove(last[0])
    del g.output[:]
    f = onnx.TensorProto.FLOAT
    g.output.extend(
        [
            onnx.helper.make_tensor_value_info(boxes, f, ["batch", 4, "anchors"]),
            onnx.helper.make_tensor_value_info(scores, f, ["batch", nc, "anchors"]),
        ]
    )
    onnx.save(m, str(dst))


def onnx_metadata(src: pathlib.Path) -> dict:
    """ultralytics' metadata of the ONNX model (names as a dict), for the .tflite files."""
    import ast

    import onnx

    meta = {p.key: p.value for p in onnx.load(str(src)).metadata_props}
    out = {k: meta[k] for k in ("description", "author", "version", "license", "task") if k in meta}
    out["stride"] = int(meta.get("stride", 32))
    out["names"] = {int(k): v for k, v in ast.literal_eval(meta["names"]).items()}
    return out


def export_env_python(venv: pathlib.Path) -> pathlib.Path:
    return venv / "bin" / "python"


def setup_env(venv: pathlib.Path):
    if not export_env_python(venv).exists():
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(export_env_python(venv)), "-m", "pip", "install", "-r", str(EXPORT_REQS)], check=True
    )


def convert_litert(
    src: pathlib.Path, calib: list, venv: pathlib.Path, imgsz: int, int8: str
) -> tuple[dict, dict]:
    """onnx2tf in the export environment: FP32 and INT8 .tflite files -> {kind: path}."""
    py = export_env_python(venv)
    if not py.exists():
        sys.exit(f"no export environment at {venv}: run this script with --setup-env first")
    work = pathlib.Path(tempfile.mkdtemp(prefix="edgebot-onnx2tf-"))
    # onnx2tf's calibration input: NHWC float32 RGB in 0..1, normalised by mean 0 / std 1
    data = np.stack([img[..., ::-1].astype(np.float32) / 255.0 for img in calib])
    np.save(work / "calib.npy", data)
    # onnx2tf rewrites its input file (onnxsim): it gets a copy, with two outputs
    model = work / src.name
    split_head_output(src, model)
    # onnx2tf checks its conversion on sample images it would download by this name from
    # GitHub: rendered scenes instead (offline)
    sample = np.stack([cv2.resize(x, (128, 128), interpolation=cv2.INTER_AREA) for x in data[:20]])
    np.save(work / "calibration_image_sample_data_20x128x128x3_float32.npy", sample)
    args = [
        str(venv / "bin" / "onnx2tf"),
        "-i",
        str(model),
        "-o",
        str(work / "out"),
        "-b",
        "1",
        "-ois",
        f"images:1,3,{imgsz},{imgsz}",
        # INT8 outputs (calibrated on the rendered scenes) besides float32: dynamic range,
        # integer (float in/out) and full integer (int8 in/out)
        "-oiqt",
        "-qt",
        "per-channel",
        "-cind",
        "images",
        str(work / "calib.npy"),
        "[[[[0.0,0.0,0.0]]]]",
        "[[[[1.0,1.0,1.0]]]]",
    ]
    t0 = time.time()
    env = dict(os.environ, PATH=f"{venv / 'bin'}:{os.environ.get('PATH', '')}")  # onnxsim
    r = subprocess.run(args, capture_output=True, text=True, cwd=work, env=env)
    (work / "onnx2tf.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        sys.exit(f"onnx2tf failed ({r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    ver = subprocess.run(
        [
            str(py),
            "-c",
            "import onnx2tf, tensorflow as tf; print(onnx2tf.__version__, tf.__version__)",
        ],
        capture_output=True,
        text=True,
    ).stdout.split()
    stem = src.stem
    files = {"fp32": work / "out" / f"{stem}_float32.tflite"}
    files["int8"] = work / "out" / f"{stem}_{INT8_FILES[int8]}.tflite"
    for kind, f in files.items():
        if not f.is_file():
            sys.exit(f"onnx2tf made no {f.name} ({kind}); its log: {work / 'onnx2tf.log'}")
    info = {
        "tool": f"onnx2tf {ver[0] if ver else '?'} (tensorflow {ver[1] if len(ver) > 1 else '?'})",
        "command": " ".join(["onnx2tf"] + args[1:]).replace(str(work), "<tmp>"),
        "seconds": round(time.time() - t0),
    }
    return files, info


def litert_io(kind: str, int8: str, imgsz: int) -> dict:
    full = kind == "int8" and int8 == "full-integer"
    return {
        "input": f"NHWC 1x{imgsz}x{imgsz}x3 RGB "
        + ("int8 (scale 1/255, zero point -128)" if full else "float32 0..1"),
        "outputs": "boxes (1, 4, N) in input pixels and class scores (1, nc, N), "
        + ("int8 with their own scales" if full else "float32")
        + " (the ONNX head's final Concat removed before conversion)",
    }


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=str(MODELS))
    ap.add_argument("--calib", type=int, default=200, help="calibration scenes")
    ap.add_argument(
        "--imgsz",
        type=int,
        default=320,
        help="LiteRT input size (static); not 320: files named edgebot_objects_*_<imgsz>.tflite",
    )
    ap.add_argument("--venv", default="/tmp/edgebot-export-venv", help="onnx2tf environment")
    ap.add_argument("--setup-env", action="store_true", help="create/update it and exit")
    ap.add_argument(
        "--only", nargs="+", choices=("onnx-int8", "litert"), default=["onnx-int8", "litert"]
    )
    ap.add_argument(
        "--litert-int8",
        choices=tuple(INT8_FILES),
        default="full-integer",
        help="LiteRT INT8 flavour (README: which one passes the accuracy test)",
    )
    ap.add_argument(
        "--exclude-last-convs",
        action="store_true",
        help="also keep the head's last 1x1 convs in FP32 (ONNX INT8)",
    )
    a = ap.parse_args(argv)
    venv = pathlib.Path(a.venv)
    if a.setup_env:
        setup_env(venv)
        return 0
    models = pathlib.Path(a.models)
    src = models / "edgebot_objects.onnx"
    side = models / "edgebot_objects_export.json"
    meta = json.loads(side.read_text()) if side.exists() else {}
    meta["source"] = {"file": src.name, "sha256": sha256(src)}
    meta.setdefault("files", {})
    t0 = time.time()
    calib = calibration_images(a.calib, a.imgsz)
    print(f"{len(calib)} calibration scenes rendered ({time.time() - t0:.0f} s)", flush=True)
    if "onnx-int8" in a.only:
        dst = models / "edgebot_objects_int8.onnx"
        info = quantize_onnx(src, dst, calib, a.exclude_last_convs)
        meta["files"][dst.name] = info | {"bytes": dst.stat().st_size, "sha256": sha256(dst)}
        print(f"wrote {dst}", flush=True)
    if "litert" in a.only:
        from edgebot_perception.litert_backend import write_metadata

        files, info = convert_litert(src, calib, venv, a.imgsz, a.litert_int8)
        onnx_meta = onnx_metadata(src)
        for kind, f in files.items():
            size = "" if a.imgsz == 320 else f"_{a.imgsz}"  # a .tflite has a static size
            prec = "float32" if kind == "fp32" else "int8"
            dst = models / f"edgebot_objects_{prec}{size}.tflite"
            shutil.copyfile(f, dst)
            write_metadata(dst, onnx_meta | {"boxes": "pixels", "imgsz": [a.imgsz, a.imgsz]})
            q = (
                {"quantization": "none (float32)"}
                if kind == "fp32"
                else {
                    "quantization": a.litert_int8,
                    "calibration": (
                        {"images": len(calib), "seed": list(CALIB_SEED), "imgsz": a.imgsz}
                        if a.litert_int8 != "dynamic-range"
                        else "none (weights int8; activations quantized at run time)"
                    ),
                }
            )
            meta["files"][dst.name] = (
                info
                | q
                | litert_io(kind, a.litert_int8, a.imgsz)
                | {"bytes": dst.stat().st_size, "sha256": sha256(dst)}
            )
            print(f"wrote {dst}", flush=True)
    meta["machine"] = {"platform": platform.platform(), "python": platform.python_version()}
    side.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {side} ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
