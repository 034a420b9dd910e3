"""edgebot_common.image (numpy <-> Image/CompressedImage), camera sources and calibration files:
pure logic, no nodes."""

import math

import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image

from edgebot_camera import calibration
from edgebot_camera.source import DEVICE, FILE, GSTREAMER, STREAM, SourceSpec
from edgebot_common import image as I


def test_bgr_roundtrip_is_one_copy_and_a_view_back():
    a = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    msg = I.numpy_to_image(a, "bgr8", frame_id="camera_link")
    assert (msg.width, msg.height, msg.step, msg.encoding) == (64, 48, 192, "bgr8")
    assert len(msg.data) == a.nbytes
    back = I.image_to_numpy(msg)
    assert back.shape == a.shape and np.array_equal(back, a)
    # a view on the message buffer, not a copy
    assert np.shares_memory(back, np.frombuffer(msg.data, np.uint8))


def test_padded_rows_mono16_and_bigendian():
    a = np.arange(5 * 7, dtype=np.uint16).reshape(5, 7) * 1000
    padded = np.zeros((5, 16), np.uint16)  # step 32 bytes for 14 bytes of pixels
    padded[:, :7] = a
    msg = Image(height=5, width=7, encoding="mono16", step=32, is_bigendian=0)
    msg.data = padded.tobytes()
    out = I.image_to_numpy(msg)
    assert out.shape == (5, 7) and np.array_equal(out, a)
    be = Image(height=5, width=7, encoding="16UC1", step=14, is_bigendian=1)
    be.data = a.astype(">u2").tobytes()
    assert np.array_equal(I.image_to_numpy(be), a)


@pytest.mark.parametrize(
    "enc,shape,dtype",
    [
        ("rgb8", (4, 6, 3), np.uint8),
        ("mono8", (4, 6), np.uint8),
        ("bgra8", (4, 6, 4), np.uint8),
        ("32FC1", (4, 6), np.float32),
    ],
)
def test_encodings_roundtrip(enc, shape, dtype):
    a = (np.random.default_rng(2).random(shape) * 200).astype(dtype)
    assert np.array_equal(I.image_to_numpy(I.numpy_to_image(a, enc)), a)


def test_to_bgr_conversions():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[..., 0] = 255  # red in RGB
    assert I.to_bgr(rgb, "rgb8")[0, 0].tolist() == [0, 0, 255]
    assert I.to_bgr(np.full((2, 2), 7, np.uint8), "mono8").shape == (2, 2, 3)
    with pytest.raises(I.ImageError, match="32FC1"):
        I.to_bgr(np.zeros((2, 2), np.float32), "32FC1")


def test_bad_images_raise_image_error():
    with pytest.raises(I.ImageError, match="encoding"):
        I.image_to_numpy(Image(height=2, width=2, encoding="yuv422_weird", step=4))
    short = Image(height=10, width=10, encoding="bgr8", step=30)
    short.data = bytes(100)  # needs 300
    with pytest.raises(I.ImageError, match="bytes"):
        I.image_to_numpy(short)
    with pytest.raises(I.ImageError, match="expected"):
        I.image_to_numpy(I.numpy_to_image(np.zeros((2, 2, 3), np.uint8), "rgb8"), "bgr8")
    with pytest.raises(I.ImageError, match="channels"):
        I.numpy_to_image(np.zeros((2, 2), np.uint8), "bgr8")
    with pytest.raises(I.ImageError, match="empty"):
        I.compressed_to_numpy(CompressedImage(format="jpeg"))
    bad = CompressedImage(format="jpeg")
    bad.data = b"\xff\xd8\xff\xe0 not really a jpeg"
    with pytest.raises(I.ImageError, match="cannot decode"):
        I.compressed_to_numpy(bad)


def test_compressed_roundtrip():
    a = np.zeros((40, 60, 3), np.uint8)
    a[10:30, 20:40] = (0, 200, 50)
    m = I.numpy_to_compressed(a, "jpeg", quality=95, frame_id="f")
    assert m.format == "jpeg" and m.header.frame_id == "f"
    back = I.compressed_to_numpy(m)
    assert back.shape == a.shape and np.abs(back.astype(int) - a).mean() < 3
    png = I.compressed_to_numpy(I.numpy_to_compressed(a, "png"))
    assert np.array_equal(png, a)


def test_source_spec_kinds():
    assert SourceSpec.parse("0").kind == DEVICE and SourceSpec.parse("0").target == 0
    assert SourceSpec.parse("/dev/video2").kind == DEVICE
    assert SourceSpec.parse("http://127.0.0.1:8080/stream.mjpg").kind == STREAM
    assert SourceSpec.parse("rtsp://cam/live").kind == STREAM
    assert SourceSpec.parse("videotestsrc ! videoconvert ! appsink").kind == GSTREAMER
    f = SourceSpec.parse("file:///tmp/x.mp4")
    assert f.kind == FILE and f.target == "/tmp/x.mp4"
    with pytest.raises(ValueError):
        SourceSpec.parse("  ")


def test_calibration_roundtrip_scale_and_errors(tmp_path):
    cal = calibration.pinhole(640, 480, 60.0, "front")
    assert math.isclose(cal.K[0], 320 / math.tan(math.radians(30)))
    p = tmp_path / "cam.yaml"
    p.write_text(calibration.dump(cal))
    back = calibration.load(str(p))
    assert back.K == pytest.approx(cal.K) and back.P == pytest.approx(cal.P)
    assert back.camera_name == "front" and len(back.D) == 5
    half = back.scaled(320, 240)
    assert half.K[0] == pytest.approx(cal.K[0] / 2) and half.K[5] == pytest.approx(120)
    info = calibration.to_camera_info(half)
    assert (info.width, info.height) == (320, 240) and list(info.k) == pytest.approx(half.K)
    with pytest.raises(calibration.CalibrationError, match="not found"):
        calibration.load(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "image_width: 10\nimage_height: 10\ncamera_matrix: {rows: 3, cols: 3, data: [1, 2, 3]}\n"
    )
    with pytest.raises(calibration.CalibrationError, match="camera_matrix has 3 values"):
        calibration.load(str(bad))
