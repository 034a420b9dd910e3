"""edgebot_perception.frames (ROS-free, fast): JPEG size from its header, the reduced decode
and detections mapped back to the full frame, stage medians."""

import array

import cv2
import numpy as np
import pytest

from edgebot_common.image import bytes_to_compressed, numpy_to_image
from edgebot_perception.backends import make_backend
from edgebot_perception.frames import (
    REDUCED_COLOR,
    FrameRejected,
    SequenceGaps,
    StageTimes,
    cdr_image,
    decode_frame,
    detections_msg,
    jpeg_size,
    reduction,
    ros_header,
    scale_detections,
)
from edgebot_perception.yolo_math import Detection


@pytest.mark.parametrize("w,h", [(640, 480), (1281, 719), (33, 17), (320, 240)])
@pytest.mark.parametrize("progressive", [0, 1])
def test_jpeg_size_from_the_header(w, h, progressive):
    img = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_PROGRESSIVE, progressive])
    assert jpeg_size(jpg.tobytes()) == (w, h)
    assert jpeg_size(array.array("B", jpg.tobytes())) == (w, h)  # rclpy's uint8[]
    assert jpeg_size(list(jpg.tobytes())) == (w, h)


def test_jpeg_size_of_other_data_is_none():
    ok, png = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    ok, jpg = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
    for data in (png.tobytes(), b"", b"\xff\xd8", b"\x00garbage" * 10, jpg.tobytes()[:10]):
        assert jpeg_size(data) is None


def test_reduction_keeps_the_long_side_at_least_the_model_size():
    assert reduction((640, 480), 320) == 2
    assert reduction((640, 480), 640) == 1
    assert reduction((639, 480), 320) == 1
    assert reduction((1280, 720), 320) == 4
    assert reduction((4000, 3000), 320) == 8
    assert reduction(None, 320) == 1


def test_scale_detections():
    d = Detection(1, "cone", 0.5, 10, 20, 30, 40, track_id=3)
    (s,) = scale_detections([d], 2.0, 2.5)
    assert (s.x1, s.y1, s.x2, s.y2, s.track_id, s.label) == (20, 50, 60, 100, 3, "cone")
    assert scale_detections([d], 1.0, 1.0) == [d]


def test_a_reduced_decode_finds_the_same_objects_in_full_frame_pixels():
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from scenes import rendered

    be = make_backend("onnxruntime", "", imgsz=320, conf=0.25)
    n = 0
    for img, _ in rendered()[:4]:
        big = cv2.resize(img, (640, 480), interpolation=cv2.INTER_LINEAR)
        ok, jpg = cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 90])
        full = be.infer(cv2.imdecode(jpg, cv2.IMREAD_COLOR))
        f = reduction(jpeg_size(jpg.tobytes()), 320)
        small = cv2.imdecode(jpg, REDUCED_COLOR[f])
        assert f == 2 and small.shape == (240, 320, 3)
        fast = scale_detections(be.infer(small), 2.0, 2.0)
        assert [d.class_id for d in fast] == [d.class_id for d in full]
        for a, b in zip(fast, full):
            assert np.allclose(a.xyxy, b.xyxy, atol=6.0), (a, b)
            n += 1
    assert n >= 4


def test_stage_times_medians_over_the_last_frames():
    st = StageTimes(n=3)
    for v in (100.0, 1.0, 2.0, 3.0):
        st.add("decode", v)
    st.add("inference", 5.0)
    assert st.medians() == {"decode": 2.0, "inference": 5.0}
    st.add("node_over_run", 1.25)
    assert st.diag_values() == {
        "latency.decode_ms": 2.0,
        "latency.inference_ms": 5.0,
        "latency.node_over_run": 1.25,
    }


def info(seq, gid=b"A"):
    return {
        "publication_sequence_number": seq,
        "publisher_gid": {"implementation_identifier": "rmw_fastrtps_cpp", "data": gid},
    }


def test_sequence_gaps_count_the_frames_replaced_before_the_callback():
    gaps = SequenceGaps()
    assert gaps(info(7)) == 0  # first frame of a publisher: nothing known before it
    assert gaps(info(8)) == 0
    assert gaps(info(12)) == 3  # 9, 10, 11 replaced in the depth-1 history
    assert gaps(info(3, b"B")) == 0 and gaps(info(5, b"B")) == 1  # per publisher
    assert gaps(info(13)) == 0
    assert gaps(info(1)) == 0  # a restarted publisher starts over
    assert gaps(info(2)) == 0
    gaps.reset()  # resubscribed: the frames in between were not ours to miss
    assert gaps(info(40)) == 0
    no_seq = dict(info(41), publication_sequence_number=None)  # an rmw without them
    assert gaps(no_seq) == 0 and gaps({}) == 0


def test_decode_frame_views_raw_pixels_and_rejects_bad_frames():
    img = np.random.default_rng(1).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    msg = numpy_to_image(img, "bgr8")
    out, w, h, red = decode_frame(msg, False, 320)
    assert (w, h, red) == (320, 240, 1) and np.array_equal(out, img)
    assert not out.flags.owndata  # a view of the message's buffer, no copy
    ok, jpg = cv2.imencode(".jpg", cv2.resize(img, (1280, 960)))
    out, w, h, red = decode_frame(bytes_to_compressed(jpg, "jpeg"), True, 320)
    assert (w, h, red, out.shape) == (1280, 960, 4, (240, 320, 3))
    with pytest.raises(FrameRejected) as e:
        decode_frame(msg, False, 320, expected=(640, 0))
    assert e.value.reason == "size" and "expected 640x240" in str(e.value)
    msg.encoding = "yuv422_weird"
    with pytest.raises(FrameRejected) as e:
        decode_frame(msg, False, 320)
    assert e.value.reason == "encoding"
    with pytest.raises(FrameRejected) as e:
        decode_frame(bytes_to_compressed(b"nope", "jpeg"), True, 320)
    assert e.value.reason == "decode"


def test_detections_msg():
    from std_msgs.msg import Header

    d = Detection(2, "box", 0.75, 10.0, 20.0, 50.0, 100.0, track_id=4)
    m = detections_msg([d], Header(frame_id="camera_link"), 640, 480)
    assert (m.header.frame_id, m.image_width, m.image_height) == ("camera_link", 640, 480)
    (x,) = m.detections
    assert (x.class_id, x.label, x.track_id) == (2, "box", 4)
    assert (x.center_x, x.center_y, x.size_x, x.size_y) == (30.0, 60.0, 40.0, 80.0)
    assert x.score == pytest.approx(0.75)


def test_cdr_image_views_the_pixels_of_a_serialised_frame():
    from builtin_interfaces.msg import Time
    from rclpy.serialization import serialize_message

    img = np.random.default_rng(2).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    raw = serialize_message(numpy_to_image(img, "bgr8", Time(sec=7, nanosec=9), "camera_link"))
    m = cdr_image(raw, False)
    assert (m.width, m.height, m.encoding, m.step) == (640, 480, "bgr8", 1920)
    out, w, h, _ = decode_frame(m, False, 320)
    assert np.array_equal(out, img) and not out.flags.owndata  # a view of ``raw``
    hdr = ros_header(m.header)
    assert (hdr.stamp.sec, hdr.stamp.nanosec, hdr.frame_id) == (7, 9, "camera_link")
    ok, jpg = cv2.imencode(".jpg", img)
    c = cdr_image(serialize_message(bytes_to_compressed(jpg, "jpeg", Time(sec=3))), True)
    assert c.format == "jpeg" and decode_frame(c, True, 320)[1:3] == (640, 480)
    with pytest.raises(FrameRejected) as e:
        cdr_image(raw[: len(raw) // 2], False)  # the data is shorter than its length field
    assert e.value.reason == "size" and "malformed" in str(e.value)
    with pytest.raises(FrameRejected) as e:
        cdr_image(b"\x07\x07garbage", True)
    assert e.value.reason == "decode"


def test_stage_times_take_the_backends_parts_and_the_nodes_ratio():
    class Backend:  # what a backend's infer leaves behind (OnnxBackend, LiteRTBackend)
        last_pre_s, last_run_s, last_post_s = 0.001, 0.008, 0.0005

    st = StageTimes()
    st.add_infer(Backend, 0.010)
    assert st.medians() == {
        "letterbox": 1.0,
        "run": 8.0,
        "post": 0.5,
        "node": 10.0,
        "node_over_run": 1.25,
    }
    Backend.last_run_s = None  # a backend that does not time its run (ultralytics)
    st2 = StageTimes()
    st2.add_infer(Backend, 0.010)
    assert st2.medians() == {}
