"""The LiteRT backend on the shipped .tflite models, backend choice by parameter and by model
file extension, and the errors for a model a backend cannot run (API and node)."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from edgebot_perception import backends as B
from edgebot_perception.yolo_math import iou_matrix

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from scenes import rendered

FP32, INT8 = "edgebot_objects_float32.tflite", "edgebot_objects_int8.tflite"
FP32_640, INT8_640 = "edgebot_objects_float32_640.tflite", "edgebot_objects_int8_640.tflite"
T = 90.0


@pytest.mark.parametrize(
    "backend,model,chosen",
    [
        ("auto", "m.onnx", "onnxruntime"),
        ("auto", "m.tflite", "litert"),
        ("auto", "M.TFLITE", "litert"),
        ("auto", "m.pt", "ultralytics"),
        ("onnxruntime", "m.onnx", "onnxruntime"),
        ("ultralytics", "m.onnx", "ultralytics"),
        ("litert", "m.tflite", "litert"),
    ],
)
def test_choice_by_parameter_and_extension(backend, model, chosen):
    assert B.choose_backend(backend, model) == chosen


@pytest.mark.parametrize(
    "backend,model,msg",
    [
        (
            "litert",
            "/x/m.onnx",
            "/x/m.onnx: backend 'litert' cannot run .onnx models; "
            "backends that can: ['onnxruntime', 'ultralytics']",
        ),
        (
            "onnxruntime",
            "/x/m.tflite",
            "/x/m.tflite: backend 'onnxruntime' cannot run .tflite models; "
            "backends that can: ['litert']",
        ),
        ("auto", "/x/m.bin", "/x/m.bin: no backend runs '.bin' model files (.onnx: onnxruntime"),
        ("tensorrt", "/x/m.onnx", "unknown backend 'tensorrt'; allowed: ['auto', 'onnxruntime'"),
    ],
)
def test_a_backend_that_cannot_run_the_file_is_one_line_naming_both(backend, model, msg):
    with pytest.raises(B.BackendError) as e:
        B.choose_backend(backend, model)
    assert str(e.value).startswith(msg) and "\n" not in str(e.value)
    assert e.value.param == "backend"


def test_make_backend_picks_by_extension_and_checks_before_loading(tmp_path):
    assert B.make_backend("auto", "").name == "onnxruntime"
    assert B.make_backend("auto", FP32).name == "litert"
    assert B.make_backend("litert", "").path.name == FP32  # each backend's shipped model
    with pytest.raises(B.BackendError, match=r"edgebot_objects.onnx: backend 'litert' cannot"):
        B.make_backend("litert", "edgebot_objects.onnx")
    with pytest.raises(B.ModelError, match="model file not found"):  # not found comes first
        B.make_backend("litert", str(tmp_path / "nope.onnx"))


@pytest.fixture(scope="module")
def onnx_backend():
    return B.make_backend("onnxruntime", "", conf=0.25)


@pytest.mark.parametrize(
    "model,imgsz",
    [(FP32, 320), (INT8, 320), (FP32_640, 640), (INT8_640, 640)],
)
def test_litert_models_find_what_onnxruntime_finds(onnx_backend, model, imgsz):
    be = B.make_backend("auto", model, conf=0.25)
    assert be.name == "litert" and be.imgsz == imgsz  # a .tflite has its own static size
    if imgsz != 320:
        onnx_backend = B.make_backend("onnxruntime", "", imgsz=imgsz, conf=0.25)
    assert be.names == {0: "ball", 1: "cone", 2: "box"}  # from the file's metadata
    compared = 0
    for img, _ in rendered():
        a = [d for d in onnx_backend.infer(img) if d.score >= 0.5]
        b = be.infer(img)
        for d in b:
            assert 0 <= d.x1 < d.x2 <= img.shape[1] and 0 <= d.y1 < d.y2 <= img.shape[0]
        for d in a:
            same = [e for e in b if e.class_id == d.class_id]
            assert same, f"{model} misses {d}"
            iou = iou_matrix([d.xyxy], [e.xyxy for e in same])[0]
            # INT8 boxes step by ~1.3 px: a 16 px ball may move a little more than a big box
            fp32 = model in (FP32, FP32_640)
            assert iou.max() >= (0.97 if fp32 else 0.7), (d, same)
            assert abs(same[int(iou.argmax())].score - d.score) <= (0.01 if fp32 else 0.15)
            compared += 1
    assert compared >= 5


def test_int8_model_is_integer_inside_and_out():
    be = B.make_backend("litert", INT8)
    assert be.input["dtype"] == np.int8 and be.int_input
    assert all(o["dtype"] == np.int8 for o in be.outputs)
    meta = json.loads((B.models_dir() / "edgebot_objects_export.json").read_text())
    for f in (FP32, INT8, FP32_640, INT8_640, "edgebot_objects_int8.onnx"):
        assert meta["files"][f]["bytes"] == (B.models_dir() / f).stat().st_size, f


def test_litert_backend_imports_neither_torch_nor_tensorflow():
    code = (
        "import sys, numpy as np\n"
        "from edgebot_perception.backends import make_backend\n"
        f"be = make_backend('auto', {INT8!r})\n"
        "be.infer(np.zeros((480, 640, 3), np.uint8))\n"
        "bad = [m for m in ('torch', 'ultralytics', 'tensorflow') if m in sys.modules]\n"
        "print('imported:', bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_litert_model_errors(tmp_path):
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"this is not a model")
    with pytest.raises(B.ModelError, match=r"litert cannot load .*garbage.tflite: ") as e:
        B.make_backend("auto", str(garbage))
    assert "\n" not in str(e.value)
    with pytest.raises(B.ModelError, match="'giraffe' is not one of"):
        B.make_backend("litert", FP32, classes=["giraffe"])
    only = B.make_backend("litert", FP32, conf=0.25, classes=["cone"])
    assert all(d.label == "cone" for img, _ in rendered() for d in only.infer(img))


def test_node_backend_that_cannot_run_the_model_exits_2(procs):
    node = procs.node(
        "edgebot_perception",
        "yolo_node",
        params={"backend": "litert", "model": "edgebot_objects.onnx"},
    )
    assert node.wait(timeout=T) == 2, node.output()
    assert (
        "parameter 'backend' = 'litert': " in node.output()
        and "edgebot_objects.onnx: backend 'litert' cannot run .onnx models; backends that "
        "can: ['onnxruntime', 'ultralytics']"
        in node.output()
    ), node.output()


def test_node_runs_a_tflite_model_with_backend_auto(procs, ros):
    from sensor_msgs.msg import Image

    from edgebot_common import qos
    from edgebot_common.image import numpy_to_image
    from edgebot_interfaces.msg import Detection2DArray
    from edgebot_testing import wait_for

    node = procs.node("edgebot_perception", "yolo_node", params={"backend": "auto", "model": INT8})
    wait_for(lambda: "litert " in node.output(), T, what=f"litert backend\n{node.output()}")
    got = []
    ros.node.create_subscription(Detection2DArray, "detections", got.append, qos.RELIABLE)
    pub = ros.node.create_publisher(Image, "camera/image_raw", qos.IMAGES)
    img, labels = rendered()[0]
    msg = numpy_to_image(img, "bgr8", frame_id="camera_optical")
    wait_for(lambda: pub.publish(msg) or got, T, interval=0.5, what="detections")
    labels_found = {d.class_id for d in got[-1].detections}
    assert labels_found & {c for c, *_ in labels}, (got[-1], labels)
