"""yolo_node as a process: Image and CompressedImage inputs give the same detections, the
enable service, newest-frame behaviour under a slow consumer, bad inputs counted, model errors."""

import pathlib
import sys
import time

import cv2
import numpy as np
import pytest
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import CompressedImage, Image
from std_srvs.srv import SetBool

from edgebot_common import qos
from edgebot_common.image import bytes_to_compressed, numpy_to_image
from edgebot_interfaces.msg import Detection2DArray
from edgebot_testing import wait_for

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from sequence import assign, crossing_sequence, id_switches

from scenes import rendered

T = 90.0  # model load + a shared 2-core machine


def stamp(i):
    return Time(sec=1000 + i, nanosec=0)


#: Stamp of probe frames: sent until the node answers, so that its subscription has matched
#: our publisher (wait_subscribers proves only the other direction); assertions leave them out.
PROBE = Time(sec=500, nanosec=0)


def is_probe(msg):
    return msg.header.stamp == PROBE


def prime(publish, outs, what):
    """Call ``publish()`` (probe frames) until every list in ``outs`` holds a probe's answer."""
    wait_for(
        lambda: publish() or all(any(is_probe(m) for m in list(o)) for o in outs),
        T,
        interval=0.3,
        what=f"{what} (probe frames answered)",
    )


class RawAndCompressed:
    """Two yolo_nodes - one on ``camera/image_raw`` (Image), ``yolo_c`` on its compressed
    stream publishing ``detections_c`` - their detections, and our publishers to both,
    primed with ``probe_img`` (sent as ``codec``) until both nodes answered."""

    def __init__(self, procs, ros, probe_img, codec, raw_name="yolo_node", raw_params=None):
        self.raw_node = procs.node(
            "edgebot_perception", "yolo_node", name=raw_name, params=raw_params or {}
        )
        self.c_node = procs.node(
            "edgebot_perception",
            "yolo_node",
            "-r",
            "__node:=yolo_c",
            "-r",
            "detections:=detections_c",
            name="yolo_c",
            params={"input": "compressed"},
        )
        self.out_raw = ros.collect(Detection2DArray, "detections")
        self.out_c = ros.collect(Detection2DArray, "detections_c")
        self.pub_raw = ros.publisher(Image, "camera/image_raw", qos.IMAGES)
        self.pub_c = ros.publisher(CompressedImage, "camera/image_raw/compressed", qos.IMAGES)
        ros.wait_subscribers(self.pub_raw, timeout=T)
        ros.wait_subscribers(self.pub_c, timeout=T)
        ok, data = cv2.imencode(f".{codec}", probe_img)
        prime(
            lambda: (
                self.pub_raw.publish(numpy_to_image(probe_img, "bgr8", PROBE, "camera_link"))
                or self.pub_c.publish(bytes_to_compressed(data, codec, PROBE, "camera_link"))
            ),
            [self.out_raw, self.out_c],
            "both nodes up",
        )


def burst_then_newest(pub, img, n, dets, node):
    """Publish frames stamp(0..n-1) at ~20 Hz; wait until the detections end on the newest."""
    for i in range(n):
        pub.publish(numpy_to_image(img, "bgr8", stamp(i), "camera_link"))
        time.sleep(0.05)
    wait_for(
        lambda: dets and dets[-1].header.stamp == stamp(n - 1),
        T,
        what=f"detections of the newest frame ({[d.header.stamp.sec for d in dets]})\n"
        f"{node.output()[-2000:]}",
    )


def detector_values(diags, node_name="yolo_node"):
    for arr in reversed(diags):
        for st in arr.status:
            if st.name == f"{node_name}: detector":
                return {kv.key: kv.value for kv in st.values}
    return None


def key(dets):
    return [
        (
            d.class_id,
            round(d.center_x, 1),
            round(d.center_y, 1),
            round(d.size_x, 1),
            round(d.size_y, 1),
            round(d.score, 3),
        )
        for d in dets
    ]


def test_image_and_compressed_inputs_give_the_same_detections(procs, ros):
    scenes = rendered()[:4]
    pair = RawAndCompressed(
        procs, ros, scenes[0][0], "png", raw_name="yolo_raw", raw_params={"input": "raw"}
    )
    raw_node, jpg_node = pair.raw_node, pair.c_node
    out_raw, out_c, pub_raw, pub_c = pair.out_raw, pair.out_c, pair.pub_raw, pair.pub_c

    def real(out):
        return [m for m in list(out) if not is_probe(m)]

    for i, (img, _) in enumerate(scenes):
        # PNG is lossless: both nodes see the very same pixels
        ok, png = cv2.imencode(".png", img)
        pub_raw.publish(numpy_to_image(img, "bgr8", stamp(i), "camera_link"))
        pub_c.publish(bytes_to_compressed(png, "png", stamp(i), "camera_link"))
        wait_for(
            lambda: len(real(out_raw)) > i and len(real(out_c)) > i,
            T,
            what=f"detections of frame {i}\n{raw_node.output()[-2000:]}\n"
            f"{jpg_node.output()[-2000:]}",
        )
    n_dets = 0
    out_raw, out_c = real(out_raw), real(out_c)
    assert len(out_raw) == len(out_c) == len(scenes)
    for i, (a, b) in enumerate(zip(out_raw, out_c)):
        assert a.header.stamp == stamp(i) == b.header.stamp  # stamp of the source image
        assert a.header.frame_id == "camera_link"
        assert (a.image_width, a.image_height) == (320, 240)
        assert key(a.detections) == key(b.detections)
        n_dets += len(a.detections)
        for d in a.detections:
            assert d.label in ("ball", "cone", "box") and d.track_id == -1
    assert n_dets >= 4


def test_a_big_jpeg_is_decoded_reduced_and_detections_are_in_its_pixels(procs, ros):
    """640x480 JPEGs at imgsz 320: the compressed input decodes them at half size straight from
    the DCT; the detections are in the full frame's pixels, as the raw node's on the same JPEG
    decoded in full (within a few pixels: the two decodes differ slightly)."""
    jpgs = []
    for img, _ in rendered()[:3]:
        big = cv2.resize(img, (640, 480), interpolation=cv2.INTER_LINEAR)
        jpgs.append(cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 90])[1])
    pair = RawAndCompressed(procs, ros, cv2.imdecode(jpgs[0], cv2.IMREAD_COLOR), "jpeg")
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    for i, jpg in enumerate(jpgs):
        pair.pub_raw.publish(
            numpy_to_image(cv2.imdecode(jpg, cv2.IMREAD_COLOR), "bgr8", stamp(i), "camera_link")
        )
        pair.pub_c.publish(bytes_to_compressed(jpg, "jpeg", stamp(i), "camera_link"))
        wait_for(
            lambda i=i: (
                any(m.header.stamp == stamp(i) for m in list(pair.out_raw))
                and any(m.header.stamp == stamp(i) for m in list(pair.out_c))
            ),
            T,
            what=f"detections of frame {i}",
        )
    n = 0
    for i in range(len(jpgs)):
        a = next(m for m in list(pair.out_raw) if m.header.stamp == stamp(i))
        b = next(m for m in list(pair.out_c) if m.header.stamp == stamp(i))
        assert (a.image_width, a.image_height) == (b.image_width, b.image_height) == (640, 480)
        assert [d.class_id for d in a.detections] == [d.class_id for d in b.detections]
        for da, db in zip(a.detections, b.detections):
            for f in ("center_x", "center_y", "size_x", "size_y"):
                assert abs(getattr(da, f) - getattr(db, f)) < 8.0, (f, da, db)
            n += 1
    assert n >= 3
    # the node's stage medians are in its diagnostics
    v = wait_for(lambda: detector_values(diags, "yolo_c"), T, what="yolo_c diagnostics")
    assert v["decode_reduction"] == "2"  # decoded at 320x240
    stages = ("decode", "inference", "publish", "queue", "stamp_to_callback")
    for k in stages + ("letterbox", "run", "post", "node"):
        assert float(v[f"latency.{k}_ms"]) >= 0.0
    parts = sum(float(v[f"latency.{k}_ms"]) for k in ("letterbox", "run", "post"))
    assert parts <= float(v["latency.node_ms"]) * 1.5  # the backend's parts within the node's
    assert float(v["latency.node_over_run"]) >= 1.0


def test_enable_service_and_annotated_image(procs, ros):
    node = procs.node(
        "edgebot_perception", "yolo_node", params={"publish_annotated": True, "enabled": False}
    )
    dets = ros.collect(Detection2DArray, "detections")
    annotated = ros.collect(Image, "detections/image", qos.IMAGES)
    pub = ros.publisher(Image, "camera/image_raw", qos.IMAGES)
    wait_for(lambda: "input camera/image_raw" in node.output(), T, what="node up")
    time.sleep(1.0)
    assert pub.get_subscription_count() == 0  # disabled: not even subscribed
    img = rendered()[0][0]
    assert ros.call(SetBool, "yolo/enable", SetBool.Request(data=True), timeout=T).success
    ros.wait_subscribers(pub, timeout=T)

    def publish_until(pred, what):
        def step():
            pub.publish(numpy_to_image(img, "bgr8", stamp(1), "camera_link"))
            return pred()

        return wait_for(step, T, interval=0.3, what=what)

    publish_until(lambda: dets and annotated, "detections and annotated image")
    a = annotated[-1]
    assert (a.encoding, a.width, a.height, a.header.stamp) == ("bgr8", 320, 240, stamp(1))
    r = ros.call(SetBool, "yolo/enable", SetBool.Request(data=False), timeout=T)
    assert r.success and r.message == "disabled"
    wait_for(lambda: pub.get_subscription_count() == 0, T, what="unsubscribed")
    for _ in range(5):
        pub.publish(numpy_to_image(img, "bgr8", stamp(2), "camera_link"))
        time.sleep(0.2)
    time.sleep(1.0)
    assert all(d.header.stamp == stamp(1) for d in dets)  # nothing of the frames sent since


def slow_detector(procs, ros, params):
    """A yolo_node made slow by ``params``; the test's detections and diagnostics lists and
    image publisher (matched); a rendered frame to send."""
    node = procs.node("edgebot_perception", "yolo_node", params=params)
    dets = ros.collect(Detection2DArray, "detections")
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    pub = ros.publisher(Image, "camera/image_raw", qos.IMAGES)
    ros.wait_subscribers(pub, timeout=T)
    return node, dets, diags, pub, rendered()[1][0]


def test_newest_frame_under_a_slow_consumer(procs, ros):
    # min_period makes the detector slow (one inference per 1.5 s); frames come at ~20 Hz
    node, dets, diags, pub, img = slow_detector(procs, ros, {"min_period": 1.5})
    # the node's subscription must have matched our publisher before the burst, or its first
    # frames are lost on the way and never counted as received/dropped
    prime(
        lambda: pub.publish(numpy_to_image(img, "bgr8", PROBE, "camera_link")),
        [dets],
        "yolo_node up",
    )
    # then the counters before the burst, once the node is idle again (every probe it got
    # either processed or dropped) in two status reports in a row
    idle = {}  # status reports (by arrival index) seen idle

    def settled():
        k = len(diags)
        v = detector_values(diags[:k])
        if not (
            v
            and int(v["processed"]) == len(dets)
            and int(v["received"]) == int(v["processed"]) + int(v["dropped"])
        ):
            idle.clear()
            return None
        idle.setdefault(k, v)
        reports = [idle[i] for i in sorted(idle)]
        return (
            len(reports) >= 2 and reports[-1]["received"] == reports[-2]["received"] and reports[-1]
        )

    base = wait_for(settled, T, what="yolo_node idle after the probe frames")
    n_base = len(dets)
    n = 80
    # the last frame published is the one the detector ends on, not a stale queued one
    burst_then_newest(pub, img, n, dets, node)
    burst = len(dets) - n_base
    assert burst <= n // 4, f"{burst} inferences for {n} frames: nothing dropped?"
    v = wait_for(
        lambda: (v := detector_values(diags)) and int(v["processed"]) == len(dets) and v,
        T,
        what="diagnostics up to date",
    )
    assert int(v["dropped"]) - int(base["dropped"]) >= n // 2
    assert int(v["received"]) - int(base["received"]) <= n


def test_the_callback_drops_stale_frames_under_a_slow_model(procs, ros):
    """infer_in callback (the default for a node with its executor to itself): the model runs
    in the subscription's callback; frames that come while it runs are replaced in the depth-1
    history and counted as dropped from the DDS sequence numbers; the newest is processed."""
    # imgsz 1920 makes the model slow (~0.2 s per frame here); frames come at ~20 Hz
    node, dets, diags, pub, img = slow_detector(procs, ros, {"imgsz": 1920})
    probes = []
    prime(
        lambda: probes.append(1) or pub.publish(numpy_to_image(img, "bgr8", PROBE, "camera_link")),
        [dets],
        "yolo_node up",
    )
    n = 40
    burst_then_newest(pub, img, n, dets, node)
    burst = [d.header.stamp.sec for d in dets if not is_probe(d)]
    assert burst == sorted(burst) and len(burst) <= 3 * n // 4, burst

    def accounted():  # every frame that reached the node: processed or dropped, reported
        v = detector_values(diags)
        ok = v and int(v["processed"]) == len(dets)
        return ok and int(v["received"]) == int(v["processed"]) + int(v["dropped"]) and v

    v = wait_for(accounted, T, what=f"diagnostics up to date ({detector_values(diags)})")
    assert v["infer_in"] == "callback"
    # the burst's frames that were not processed are all counted (probes sent before the
    # node's subscription had matched ours never reached it: at most that many more)
    assert n - len(burst) <= int(v["dropped"]) <= n - len(burst) + len(probes)
    assert n + len(dets) - len(burst) <= int(v["received"]) <= n + len(probes)


@pytest.mark.parametrize(
    "executor,where", [("single", "worker"), ("events", "worker"), ("multi", "callback")]
)
def test_hosted_with_other_nodes_on_one_thread_inference_moves_to_the_worker(
    procs, ros, tmp_path, executor, where
):
    """infer_in auto: in a container whose one thread runs other nodes too, the model runs on
    the worker (their callbacks are not held up); with a multi-threaded executor, in the
    callback (its own mutually exclusive group, beside the others' threads)."""
    import yaml

    from edgebot_testing import ros_executable

    f = tmp_path / "box.yaml"
    nodes = {"nodes": ["edgebot_perception/yolo_node", "edgebot_common/talker"]}
    f.write_text(yaml.safe_dump({"/**": {"ros__parameters": {**nodes, "executor": executor}}}))
    cmd = [ros_executable("edgebot_common", "container"), "--ros-args", "-r", "__node:=box"]
    procs.start([*cmd, "--params-file", str(f)], name="box")
    dets = ros.collect(Detection2DArray, "detections")
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    pub = ros.publisher(Image, "camera/image_raw", qos.IMAGES)
    ros.wait_subscribers(pub, timeout=T)
    img = rendered()[0][0]
    prime(lambda: pub.publish(numpy_to_image(img, "bgr8", PROBE, "camera_link")), [dets], "up")
    v = wait_for(lambda: detector_values(diags), T, what="yolo_node diagnostics")
    assert v["infer_in"] == where


def test_subscribes_on_sim_time_before_any_clock(procs, ros):
    """The image subscription is made once the executor spins (steady-clock timer): a node on
    use_sim_time detects before a simulator has published /clock."""
    procs.node("edgebot_perception", "yolo_node", params={"use_sim_time": True})
    dets = ros.collect(Detection2DArray, "detections")
    pub = ros.publisher(Image, "camera/image_raw", qos.IMAGES)
    ros.wait_subscribers(pub, timeout=T)
    img = rendered()[0][0]
    prime(lambda: pub.publish(numpy_to_image(img, "bgr8", PROBE, "camera_link")), [dets], "up")


def test_bad_inputs_are_counted_and_skipped(procs, ros):
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    img = rendered()[0][0]
    ok, jpg = cv2.imencode(".jpg", img)
    # good probe frames until both nodes answer: their subscriptions have matched ours, so
    # none of the bad frames below is lost before it is counted
    pair = RawAndCompressed(
        procs, ros, img, "jpeg", raw_params={"expected_width": 320, "expected_height": 240}
    )
    raw_node, c_node = pair.raw_node, pair.c_node
    dets, dets_c, pub, pub_c = pair.out_raw, pair.out_c, pair.pub_raw, pair.pub_c

    def rejected(node_name):
        v = detector_values(diags, node_name)
        return int(v["rejected"]) if v else 0

    def send(publisher, msg, node_name):
        # one bad frame at a time, each counted before the next: the image QoS keeps only
        # the newest frame, so a frame sent too soon after another would replace it
        k = rejected(node_name)
        publisher.publish(msg)
        wait_for(lambda: rejected(node_name) > k, T, what=f"{node_name}: rejection {k + 1}")

    bad = []
    m = numpy_to_image(img, "bgr8", stamp(0))
    m.encoding = "yuv422_weird"  # unknown encoding
    bad.append(m)
    bad.append(numpy_to_image(np.zeros((240, 320), np.float32), "32FC1", stamp(0)))
    m = numpy_to_image(img, "bgr8", stamp(0))
    m.data = m.data[: len(m.data) // 2]  # truncated data
    bad.append(m)
    bad.append(numpy_to_image(cv2.resize(img, (160, 120)), "bgr8", stamp(0)))  # wrong size
    for m in bad:
        send(pub, m, "yolo_node")
    send(pub_c, bytes_to_compressed(b"", "jpeg", stamp(0)), "yolo_c")  # empty
    send(
        pub_c,
        bytes_to_compressed(jpg.tobytes()[: len(jpg) // 3] + b"\x00" * 50, "jpeg", stamp(0)),
        "yolo_c",
    )  # corrupt
    send(pub_c, bytes_to_compressed(b"\x00garbage" * 10, "jpeg", stamp(0)), "yolo_c")

    def counts():
        v = detector_values(diags, "yolo_node")
        c = detector_values(diags, "yolo_c")
        if v and c and int(v["rejected"]) >= 4 and int(c["rejected"]) >= 2:
            return v, c
        return None

    v, c = wait_for(counts, T, what=f"rejections in diagnostics\n{raw_node.output()[-3000:]}")
    assert int(v["rejected.encoding"]) == 2 and int(v["rejected.size"]) == 2
    assert int(c["rejected.decode"]) >= 2
    assert all(is_probe(d) for d in dets)  # no detection of a bad frame
    assert raw_node.running() and c_node.running()
    assert "rejected [encoding]" in raw_node.output()
    # still working: a good frame is processed
    pub.publish(numpy_to_image(img, "bgr8", stamp(5)))
    pub_c.publish(bytes_to_compressed(jpg, "jpeg", stamp(6)))
    wait_for(
        lambda: not is_probe(dets[-1]) and not is_probe(dets_c[-1]),
        T,
        what="detections after bad input",
    )
    assert dets[-1].header.stamp == stamp(5) and dets_c[-1].header.stamp == stamp(6)


def test_tracking_holds_ids_on_a_rendered_sequence(procs, ros):
    """tracking:=true with the torch-free backend: a rendered sequence in which two balls cross
    (the near one hides the far one) and the near ball passes a box, sent frame by frame."""
    frames, empty = crossing_sequence()
    node = procs.node("edgebot_perception", "yolo_node", params={"tracking": True})
    dets = ros.collect(Detection2DArray, "detections")
    pub = ros.publisher(Image, "camera/image_raw", qos.IMAGES)
    ros.wait_subscribers(pub, timeout=T)
    # probes are the empty floor: no detection, so they leave the tracker as it was
    prime(
        lambda: pub.publish(numpy_to_image(empty, "bgr8", PROBE, "camera_link")),
        [dets],
        "yolo_node up",
    )
    per_frame, id_frames = [], 0
    for k, (img, truth) in enumerate(frames):
        pub.publish(numpy_to_image(img, "bgr8", stamp(k), "camera_link"))
        out = wait_for(
            lambda k=k: next((m for m in list(dets) if m.header.stamp == stamp(k)), None),
            T,
            what=f"detections of frame {k}\n{node.output()[-2000:]}",
        )
        ids = [d.track_id for d in out.detections if d.track_id >= 0]
        assert len(ids) == len(set(ids)), f"frame {k}: one ID on two detections {ids}"
        boxes = [
            (
                d.class_id,
                d.center_x - d.size_x / 2,
                d.center_y - d.size_y / 2,
                d.center_x + d.size_x / 2,
                d.center_y + d.size_y / 2,
                d.track_id,
            )
            for d in out.detections
        ]
        per_frame.append(assign(truth, boxes))
        id_frames += sum(1 for d in out.detections if d.track_id >= 0)
    switches, ids = id_switches(per_frame)
    assert set(ids) == {"near_ball", "far_ball", "box"}, per_frame
    assert all(n <= 1 for n in switches.values()), (switches, ids)
    assert not set(ids["near_ball"]) & set(ids["far_ball"]), ids  # the crossing balls
    tracked = sum(1 for f in per_frame if f.get("near_ball", -1) >= 0)
    assert tracked >= len(frames) - 2, per_frame  # every frame but the first (min_hits 2)
    assert id_frames >= 2 * len(frames)


@pytest.mark.parametrize(
    "params,expect",
    [
        ({"model": "/nonexistent/model.onnx"}, "model file not found: /nonexistent/model.onnx"),
        ({"backend": "tensorrt"}, "parameter 'backend' = 'tensorrt': must be one of"),
        ({"imgsz": 300}, "parameter 'imgsz' = 300: must be a multiple of 32"),
        ({"classes": "[giraffe]"}, "'giraffe' is not one of the model's classes"),
        ({"min_period_s": 1.0}, "parameter 'min_period_s' = 1.0: renamed to 'min_period'"),
        (
            {"tracking": True, "track_max_age": 3, "track_min_hits": 5},
            "parameter 'track_min_hits' = 5: min_hits 5: must be in [1, max_age]",
        ),
    ],
)
def test_configuration_errors_exit_2(procs, params, expect):
    node = procs.node("edgebot_perception", "yolo_node", params=params)
    assert node.wait(timeout=T) == 2, node.output()
    assert expect in node.output()
