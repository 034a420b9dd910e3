#!/usr/bin/env python3
"""Train the shipped detector on the generated dataset (make_dataset.py), on the CPU, from a
model YAML (no pretrained weights), export it to ONNX and record its mAP50 on the held-out
split, for both the .pt (ultralytics) and the .onnx (this package's onnxruntime backend).

    python src/edgebot_perception/scripts/make_dataset.py --out /tmp/edgebot_dataset
    python src/edgebot_perception/scripts/train_detector.py --data /tmp/edgebot_dataset \
        --epochs 12 --out src/edgebot_perception/models

Continue from earlier weights with ``--init run/weights/last.pt`` (same architecture); cap the
wall time with ``--hours``. See the package README for how the shipped model was made.

Writes <out>/edgebot_objects.pt, <out>/edgebot_objects.onnx, <out>/edgebot_objects.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import shutil
import sys
import time

# Nothing from the hub, no telemetry, no font downloads (plots off).
os.environ["YOLO_OFFLINE"] = "1"
os.environ.setdefault("YOLO_VERBOSE", "True")

HERE = pathlib.Path(__file__).resolve().parent
MODEL_YAML = HERE / "edgebot_objects.yaml"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/tmp/edgebot_dataset")
    ap.add_argument("--out", default=str(HERE.parent / "models"))
    ap.add_argument(
        "--hours",
        type=float,
        default=0.0,
        help="training time budget (0: none, "
        "run --epochs; with a budget the epoch count depends on the machine's load)",
    )
    ap.add_argument("--epochs", type=int, default=12, help="epochs (upper bound with --hours)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--project", default="/tmp/edgebot_train")
    ap.add_argument(
        "--init",
        default="",
        help="continue from these weights (a previous "
        "stage's last.pt) instead of random initialisation",
    )
    ap.add_argument(
        "--nbs",
        type=int,
        default=16,
        help="nominal batch size (16 = one "
        "optimizer step per batch; ultralytics' 64 accumulates 4 batches)",
    )
    ap.add_argument("--warmup-epochs", type=float, default=0.5)
    ap.add_argument("--lr0", type=float, default=0.002)
    a = ap.parse_args(argv)

    from ultralytics import YOLO, settings

    settings.update({"sync": False})
    import torch

    data = pathlib.Path(a.data) / "data.yaml"
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    model = YOLO(str(MODEL_YAML), task="detect")
    model.train(
        data=str(data),
        imgsz=320,
        epochs=a.epochs,
        time=a.hours or None,
        batch=a.batch,
        device="cpu",
        workers=1,
        seed=a.seed,
        deterministic=True,
        pretrained=a.init or False,
        amp=False,
        plots=False,
        cache="ram",
        patience=1000,
        project=a.project,
        name="run",
        exist_ok=True,
        close_mosaic=3,
        verbose=True,
        nbs=a.nbs,
        warmup_epochs=a.warmup_epochs,
        optimizer="AdamW",
        lr0=a.lr0,
        cos_lr=True,
    )
    train_s = time.time() - t0
    best = pathlib.Path(a.project) / "run" / "weights" / "best.pt"
    pt = out / "edgebot_objects.pt"
    shutil.copyfile(best, pt)

    model = YOLO(str(pt), task="detect")
    onnx_tmp = model.export(
        format="onnx", imgsz=320, opset=a.opset, dynamic=True, simplify=False, device="cpu"
    )
    onnx_path = out / "edgebot_objects.onnx"
    shutil.move(onnx_tmp, onnx_path)

    # Held-out evaluation: the test split was rendered from its own seed.
    res = {}
    for name, path in (("pt", pt), ("onnx", onnx_path)):
        m = YOLO(str(path), task="detect")
        r = m.val(
            data=str(data),
            split="test",
            imgsz=320,
            batch=8,
            device="cpu",
            plots=False,
            workers=0,
            verbose=False,
            project=a.project,
            name=f"test_{name}",
            exist_ok=True,
        )
        res[name] = {
            "map50": round(float(r.box.map50), 4),
            "map50_95": round(float(r.box.map), 4),
            "per_class_map50": {
                m.names[i]: round(float(v), 4) for i, v in zip(r.box.ap_class_index, r.box.ap50)
            },
        }
        print(name, res[name], flush=True)
    nimg = {
        s: len(list((pathlib.Path(a.data) / "images" / s).glob("*.jpg")))
        for s in ("train", "val", "test")
    }
    meta = {
        "classes": list(YOLO(str(pt)).names.values()),
        "imgsz": 320,
        "architecture": MODEL_YAML.name,
        "parameters": sum(p.numel() for p in YOLO(str(pt)).model.parameters()),
        "dataset": {"generator": "scripts/make_dataset.py", "images": nimg, "seed": a.seed},
        "train_seconds": round(train_s),
        "init": a.init or None,
        "heldout_test": res,
        "files_bytes": {pt.name: pt.stat().st_size, onnx_path.name: onnx_path.stat().st_size},
        "opset": a.opset,
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
        },
    }
    (out / "edgebot_objects.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
