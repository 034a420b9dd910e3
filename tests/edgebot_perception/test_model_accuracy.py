"""Accuracy is computed, not recorded: every shipped model, through its backend, on a held-out
set rendered here with the simulator's renderer (dataset.Scene) from a seed of its own (the
training data used (6, 0..2), the INT8 calibration (6, 3)). mAP50 by pycocotools."""

import math

import pytest

from edgebot_perception import backends as B
from edgebot_perception.evaluate import EVAL_CONF, HELDOUT_SEED, coco_map50, heldout_set, map50

# one worker renders the held-out set once for all five models
pytestmark = pytest.mark.xdist_group("accuracy")

N_IMAGES = 200  # ~450 labelled objects; the benchmark reports a larger set
FP32_MIN = 0.88
INT8_MAX_DROP = 0.02
MODELS = {  # file: (backend, the FP32 model an INT8 one is compared with, or None)
    "edgebot_objects.onnx": ("onnxruntime", None),
    "edgebot_objects.pt": ("ultralytics", None),
    "edgebot_objects_float32.tflite": ("litert", None),
    "edgebot_objects_int8.onnx": ("onnxruntime", "edgebot_objects.onnx"),
    "edgebot_objects_int8.tflite": ("litert", "edgebot_objects_float32.tflite"),
}


def test_coco_map50_on_a_hand_checked_case():
    # class 0: 3 objects; detections by score: hit (0.9), miss (IoU 0.3 with the 2nd object,
    # 0.8), hit (0.7). Recall 1/3, 1/3, 2/3 at precision 1, 1/2, 2/3. COCO's 101-point AP:
    # recall 0.00..0.33 -> 1 (34 points), 0.34..0.66 -> 2/3 (33 points), rest 0 = 56/101.
    # class 1: one object, found -> 1. class 2: no objects, no detections -> left out.
    gts = [
        [(0, 0, 0, 10, 10), (0, 20, 20, 30, 30), (1, 50, 50, 70, 60)],
        [(0, 5, 5, 25, 25)],
    ]
    dets = [
        [(0, 0.9, 0, 0, 10, 10), (0, 0.8, 20, 20, 30, 23), (1, 0.6, 50, 50, 70, 60)],
        [(0, 0.7, 5, 5, 25, 25)],
    ]
    r = coco_map50(gts, dets, [0, 1, 2])
    assert r["per_class"][0] == pytest.approx(56 / 101)
    assert r["per_class"][1] == pytest.approx(1.0)
    assert math.isnan(r["per_class"][2])
    assert r["map50"] == pytest.approx((56 / 101 + 1) / 2)
    assert coco_map50(gts, [[], []], [0, 1])["map50"] == 0.0


@pytest.fixture(scope="module")
def scenes():
    s = heldout_set(N_IMAGES)
    assert HELDOUT_SEED[0] != 6  # not the training data's seed family
    assert sum(len(lb) for _, lb in s) >= 300
    return s


@pytest.fixture(scope="module")
def scores(scenes):
    """Each model's mAP50, computed once, when a test first asks for it (so every test's
    time limit covers one or two models, not all five)."""
    cache = {}

    def score(f):
        if f not in cache:
            backend = MODELS[f][0]
            be = B.make_backend(backend, f, imgsz=320, conf=EVAL_CONF)
            assert be.name == backend and be.path.name == f
            cache[f] = map50(be, scenes)
        return cache[f]

    return score


@pytest.mark.parametrize("model", [f for f, (_, ref) in MODELS.items() if ref is None])
def test_fp32_models_map50(scores, model):
    assert scores(model)["map50"] >= FP32_MIN, scores(model)


@pytest.mark.parametrize("model", [f for f, (_, ref) in MODELS.items() if ref is not None])
def test_int8_models_lose_at_most_002(scores, model):
    ref = MODELS[model][1]
    drop = scores(ref)["map50"] - scores(model)["map50"]
    assert drop <= INT8_MAX_DROP, (scores(ref), scores(model))
    assert scores(model)["map50"] >= FP32_MIN - INT8_MAX_DROP
