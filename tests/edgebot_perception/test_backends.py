"""The two backends on the shipped detector: what it finds on freshly rendered scenes, that
onnxruntime and ultralytics agree, that onnxruntime needs no torch, and model errors."""

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


@pytest.fixture(scope="module")
def onnx_backend():
    return B.make_backend("onnxruntime", "", imgsz=320, conf=0.25)


def big_labels(labels, min_side=16):
    return [lb for lb in labels if lb[3] - lb[1] >= min_side and lb[4] - lb[2] >= min_side]


def test_shipped_model_and_metadata_are_installed():
    d = B.models_dir()
    assert (d / "edgebot_objects.onnx").is_file() and (d / "edgebot_objects.pt").is_file()
    meta = json.loads((d / "edgebot_objects.json").read_text())
    assert meta["classes"] == ["ball", "cone", "box"]
    assert meta["heldout_test"]["onnx"]["map50"] > 0.5


def test_onnx_backend_finds_the_rendered_objects(onnx_backend):
    assert onnx_backend.names == {0: "ball", 1: "cone", 2: "box"}
    found = total = 0
    for img, labels in rendered():
        dets = onnx_backend.infer(img)
        for d in dets:
            assert 0 <= d.x1 < d.x2 <= img.shape[1] and 0 <= d.y1 < d.y2 <= img.shape[0]
            assert 0.25 <= d.score <= 1.0 and d.track_id == -1
        for c, *box in big_labels(labels):
            total += 1
            same = [d.xyxy for d in dets if d.class_id == c]
            if same and iou_matrix([box], same).max() >= 0.5:
                found += 1
    assert total >= 6
    assert found >= 0.8 * total, f"found {found} of {total} labelled objects"


def test_onnx_and_ultralytics_backends_agree(onnx_backend):
    ul = B.make_backend("ultralytics", "", imgsz=320, conf=0.25)  # the shipped .pt
    assert ul.names == onnx_backend.names
    compared = 0
    for img, _ in rendered():
        a = [d for d in onnx_backend.infer(img) if d.score >= 0.5]
        b = ul.infer(img)
        for d in a:
            same = [e for e in b if e.class_id == d.class_id]
            assert same, f"ultralytics misses {d}"
            iou = iou_matrix([d.xyxy], [e.xyxy for e in same])[0]
            e = same[int(iou.argmax())]
            assert iou.max() >= 0.85, (d, e)
            assert abs(e.score - d.score) <= 0.15, (d, e)
            compared += 1
    assert compared >= 5


def test_ultralytics_backend_tracks_ids():
    ul = B.make_backend("ultralytics", "", imgsz=320, conf=0.25, track=True)
    img, _ = rendered()[0]
    ids = None
    for _ in range(3):
        dets = ul.infer(img)
        ids = [d.track_id for d in dets]
    assert ids and all(i >= 1 for i in ids)


def test_onnxruntime_backend_never_imports_torch(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from edgebot_perception.backends import make_backend\n"
        "be = make_backend('onnxruntime', '')\n"
        "be.infer(np.zeros((480, 640, 3), np.uint8))\n"
        "bad = [m for m in ('torch', 'ultralytics') if m in sys.modules]\n"
        "print('imported:', bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_class_filter(onnx_backend):
    only = B.make_backend("onnxruntime", "", conf=0.25, classes=["cone"])
    n_cones = 0
    for img, _ in rendered():
        dets = only.infer(img)
        assert all(d.label == "cone" for d in dets)
        n_cones += len(dets)
    assert n_cones >= 1
    with pytest.raises(B.ModelError, match="'giraffe' is not one of"):
        B.make_backend("onnxruntime", "", classes=["giraffe"])


def test_missing_model_names_the_path(tmp_path):
    with pytest.raises(B.ModelError, match=f"model file not found: {tmp_path}/nope.onnx"):
        B.make_backend("onnxruntime", str(tmp_path / "nope.onnx"))
    with pytest.raises(B.ModelError, match="unknown backend"):
        B.make_backend("tensorrt", "")


def _write_model(path, out_shape):
    """A tiny ONNX model with an image input and the given output shape."""
    import onnx
    from onnx import TensorProto, helper

    shape = helper.make_tensor("shape", TensorProto.INT64, [len(out_shape)], out_shape)
    n = int(np.prod(out_shape))
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node("Expand", ["m", "shape"], ["output0"]),
    ]
    g = helper.make_graph(
        nodes,
        "bad",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 320, 320])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, out_shape)],
        [shape],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    assert n > 0
    return path


def test_model_with_unknown_output_shape_is_a_clear_error(tmp_path):
    seg = _write_model(tmp_path / "seg.onnx", [1, 300, 6, 1])
    with pytest.raises(
        B.ModelError,
        match=r"seg.onnx: model output shape \[1, 300, 6, 1\] "
        r"not understood",
    ):
        B.make_backend("onnxruntime", str(seg))
    thin = _write_model(tmp_path / "thin.onnx", [1, 4, 2100])
    with pytest.raises(B.ModelError, match="need 4 box values"):
        B.make_backend("onnxruntime", str(thin))
    # a static 320 model with 2 classes works (generic names), any frame size in
    ok = B.make_backend("onnxruntime", str(_write_model(tmp_path / "ok.onnx", [1, 6, 2100])))
    assert ok.imgsz == 320 and ok.names == {0: "class_0", 1: "class_1"}
    assert isinstance(ok.infer(np.zeros((240, 320, 3), np.uint8)), list)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not a model")
    with pytest.raises(B.ModelError, match="onnxruntime cannot load"):
        B.make_backend("onnxruntime", str(garbage))


def test_thread_count_follows_the_cgroup_quota_not_the_host_cores(tmp_path):
    from edgebot_perception.backends import usable_cpus

    mine = usable_cpus(str(tmp_path))  # no cgroup files: the affinity mask
    assert mine >= 1
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # 1.5 CPUs -> 2 threads
    assert usable_cpus(str(tmp_path)) == min(mine, 2)
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert usable_cpus(str(tmp_path)) == mine
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert usable_cpus(str(tmp_path)) == 1


def test_onnxruntime_threads_are_its_default_unless_a_quota_allows_fewer(monkeypatch):
    from edgebot_perception import backends

    monkeypatch.setattr(backends.os, "cpu_count", lambda: 64)
    monkeypatch.setattr(backends, "usable_cpus", lambda *a: 2)  # a 2-CPU quota on 64 cores
    assert backends.ort_intra_threads() == 2
    assert backends.ort_intra_threads(3) == 3  # the threads parameter wins
    monkeypatch.setattr(backends.os, "cpu_count", lambda: 2)  # no quota below the host
    assert backends.ort_intra_threads() == 0  # ONNX Runtime's own default


def idle_cpu_after_run(sess, name, x, idle=0.25):
    """CPU time (s) this process uses in the ``idle`` seconds after a run (least of three)."""
    import time

    out = []
    for _ in range(3):
        sess.run(None, {name: x})
        c0 = time.process_time()
        time.sleep(idle)
        out.append(time.process_time() - c0)
    return min(out)


@pytest.mark.parametrize(
    "spinning, entry",
    [
        ("never", ("session.intra_op.allow_spinning", "0")),
        ("in_run", ("session.force_spinning_stop", "1")),
    ],
)
def test_onnxruntime_threads_do_not_spin_after_a_run(spinning, entry):
    """ONNX Runtime's pool threads spin for tens of ms after a run by default (bench_ort_spin:
    52 ms of CPU for a 6.4 ms run at 320, other processes' inference slowed 1.6x): with
    ``ort_spinning`` never (yolo_node's default) or in_run an idle detector burns nothing."""
    be = B.make_backend("onnxruntime", "", imgsz=320, spinning=spinning)
    assert be.sess.get_session_options().get_session_config_entry(entry[0]) == entry[1]
    x = np.zeros((1, 3, 320, 320), np.float32)
    assert idle_cpu_after_run(be.sess, be.input_name, x) < 0.01


def test_ort_spinning_default_and_bad_value():
    be = B.make_backend("onnxruntime", "", imgsz=320)  # the default: never
    opts = be.sess.get_session_options()
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    with pytest.raises(ValueError, match="ort_spinning 'sometimes'"):
        B.ort_session_options(0, "sometimes")
