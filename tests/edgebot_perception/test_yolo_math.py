"""Letterbox, decoding and NMS of the onnxruntime backend (numpy/OpenCV only)."""

import numpy as np
import pytest

from edgebot_perception import yolo_math as Y


def test_letterbox_and_back():
    img = np.zeros((480, 640, 3), np.uint8)
    out, lb = Y.letterbox(img, 320)
    assert out.shape == (320, 320, 3)
    assert lb.scale == pytest.approx(0.5) and (lb.pad_x, lb.pad_y) == (0, 40)
    assert out[0, 0].tolist() == [114, 114, 114] and out[100, 100].tolist() == [0, 0, 0]
    box = np.array([[10.0, 50.0, 110.0, 250.0]])  # letterboxed pixels
    back = Y.unletterbox(box, lb, 640, 480)
    assert back[0].tolist() == pytest.approx([20, 20, 220, 420])
    blob = Y.to_blob(out)
    assert blob.shape == (1, 3, 320, 320) and blob.dtype == np.float32 and blob.max() <= 1.0


@pytest.mark.parametrize("size", [320, 640])
def test_letterbox_blob_equals_letterbox_then_to_blob_across_frame_sizes(size):
    rng = np.random.default_rng(size)
    lbb = Y.LetterboxBlob(size)
    # the border is rewritten when the geometry changes (4:3, 16:9, portrait, back to 4:3)
    for h, w in [(480, 640), (360, 640), (640, 360), (480, 640), (size, size)]:
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        ref_img, ref_lb = Y.letterbox(img, size)
        blob, lb = lbb(img)
        assert blob.shape == (1, 3, size, size) and blob.dtype == np.float32
        np.testing.assert_allclose(blob, Y.to_blob(ref_img), atol=1e-6)
        assert (lb.scale, lb.pad_x, lb.pad_y) == (ref_lb.scale, ref_lb.pad_x, ref_lb.pad_y)
    assert lbb(img)[0] is blob  # one buffer, kept between frames


def raw_output(rows, nc=3, n=50):
    """A (1, 4+nc, n) head output with the given (cx, cy, w, h, class, score) rows."""
    out = np.zeros((1, 4 + nc, n), np.float32)
    for i, (cx, cy, w, h, c, s) in enumerate(rows):
        out[0, :4, i] = (cx, cy, w, h)
        out[0, 4 + c, i] = s
    return out


def test_decode_nms_per_class_threshold_and_filter():
    out = raw_output(
        [
            (100, 100, 40, 40, 0, 0.9),  # kept
            (102, 101, 40, 40, 0, 0.8),  # same class, overlapping: suppressed
            (101, 100, 40, 40, 1, 0.7),  # other class on top: kept (per-class NMS)
            (200, 50, 20, 10, 2, 0.2),
        ]
    )  # under threshold
    boxes, scores, cls = Y.decode(out, conf=0.25, iou=0.45)
    assert cls.tolist() == [0, 1]
    assert scores.tolist() == pytest.approx([0.9, 0.7])
    assert boxes[0].tolist() == pytest.approx([80, 80, 120, 120])
    _, _, cls = Y.decode(out, conf=0.1, iou=0.45, classes=[2])
    assert cls.tolist() == [2]
    _, _, cls = Y.decode(out, conf=0.25, iou=0.45, agnostic=True)
    assert cls.tolist() == [0]
    b, s, c = Y.decode(np.zeros((1, 7, 10), np.float32), 0.25, 0.45)
    assert b.shape == (0, 4) and s.size == 0 and c.size == 0
    b, s, c = Y.decode(
        raw_output([(50 + 30 * i, 50, 10, 10, 0, 0.5) for i in range(8)]), 0.25, 0.45, max_det=3
    )
    assert len(c) == 3


def test_output_shape_checks():
    assert Y.check_output_shape([1, 7, 2100], 3) == 3
    assert Y.check_output_shape([1, 84, 8400], None) == 80
    assert Y.check_output_shape(["batch", "dim", "anchors"], 3) == 3
    with pytest.raises(Y.OutputShapeError, match="not understood"):
        Y.check_output_shape([1, 300, 6, 1], 3)
    with pytest.raises(Y.OutputShapeError, match="need 4 box values"):
        Y.check_output_shape([1, 4, 2100], None)
    with pytest.raises(Y.OutputShapeError, match="has 80 classes but the model names 3"):
        Y.check_output_shape([1, 84, 2100], 3)


def test_iou_and_draw():
    m = Y.iou_matrix([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    assert m[0].tolist() == pytest.approx([1.0, 1 / 3, 0.0])
    img = np.zeros((50, 50, 3), np.uint8)
    out = Y.draw(img, [Y.Detection(1, "cone", 0.9, 5, 5, 30, 40, track_id=3)])
    assert out.any() and not img.any()
