"""The MJPEG server is opened by OpenCV like an IP camera (real sockets, real decoding)."""

import threading
import time
import urllib.request

import cv2
import numpy as np

from edgebot_sim.mjpeg import MjpegServer


def frame(i):
    img = np.zeros((240, 320, 3), np.uint8)
    img[:, : 20 + i * 10] = (0, 0, 255)
    return cv2.imencode(".jpg", img)[1].tobytes(), img


def test_opencv_reads_the_stream_and_snapshot():
    srv = MjpegServer("127.0.0.1", 0)
    url = srv.start()
    stop = threading.Event()

    def feed():
        i = 0
        while not stop.is_set():
            srv.publish(frame(i % 20)[0])
            i += 1
            time.sleep(0.05)

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    try:
        with urllib.request.urlopen(url.replace("stream.mjpg", "snapshot.jpg"), timeout=10) as r:
            assert r.headers["Content-Type"] == "image/jpeg"
            img = cv2.imdecode(np.frombuffer(r.read(), np.uint8), cv2.IMREAD_COLOR)
            assert img.shape == (240, 320, 3)
        cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        assert cap.isOpened()
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 5 and time.monotonic() < deadline:
            ok, img = cap.read()
            if ok:
                got.append(img)
        cap.release()
        assert len(got) == 5
        assert all(g.shape == (240, 320, 3) for g in got)
        # the red band is really there (BGR red at the left edge)
        assert got[-1][120, 5, 2] > 200 and got[-1][120, 5, 0] < 60
        assert srv.frames_published >= 5
    finally:
        stop.set()
        t.join()
        srv.stop()


def test_unknown_path_is_404():
    srv = MjpegServer("127.0.0.1", 0)
    url = srv.start()
    try:
        try:
            urllib.request.urlopen(url.replace("stream.mjpg", "nope"), timeout=5)
            raise AssertionError("expected HTTP 404")
        except urllib.error.HTTPError as e:
            assert e.code == 404
    finally:
        srv.stop()
