"""A small MJPEG-over-HTTP server (multipart/x-mixed-replace), like the simulator's camera
stream or an IP camera, for the camera tests and the perception benchmark (ROS-free)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np


def numbered_frame(i: int, width: int = 320, height: int = 240) -> np.ndarray:
    """A frame whose number can be read back: column blocks of 0/255 encode ``i`` (16 bits)."""
    img = np.full((height, width, 3), 90, np.uint8)
    bw = width // 16
    for b in range(16):
        if (i >> b) & 1:
            img[height // 4 : 3 * height // 4, b * bw : (b + 1) * bw] = 255
        else:
            img[height // 4 : 3 * height // 4, b * bw : (b + 1) * bw] = 0
    return img


def read_number(img: np.ndarray) -> int:
    h, w = img.shape[:2]
    bw = w // 16
    row = img[h // 2]
    return sum(1 << b for b in range(16) if row[b * bw + bw // 2].mean() > 127)


class MjpegServer:
    """Serves ``frame_fn(i)`` (BGR arrays) as JPEGs at ``fps`` on http://127.0.0.1:port/stream.mjpg.

    ``stop()`` closes the socket and every open stream (like a camera that is unplugged);
    ``start()`` serves again on the same port.
    """

    def __init__(
        self,
        port: int,
        frame_fn: Callable[[int], np.ndarray] = numbered_frame,
        fps: float = 15.0,
        quality: int = 90,
    ):
        self.port, self.frame_fn, self.fps, self.quality = port, frame_fn, fps, quality
        self.frames_sent = 0
        self._httpd = None
        self._thread = None
        self._running = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def start(self) -> MjpegServer:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.path != "/stream.mjpg":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                i = 0
                period = 1.0 / server.fps
                nxt = time.monotonic()
                try:
                    while server._running.is_set():
                        ok, jpg = cv2.imencode(
                            ".jpg", server.frame_fn(i), [cv2.IMWRITE_JPEG_QUALITY, server.quality]
                        )
                        data = jpg.tobytes()
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\n"
                            b"Content-Length: "
                            + str(len(data)).encode()
                            + b"\r\n\r\n"
                            + data
                            + b"\r\n"
                        )
                        self.wfile.flush()
                        server.frames_sent += 1
                        i += 1
                        nxt += period
                        time.sleep(max(0.0, nxt - time.monotonic()))
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self._running.set()
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running.clear()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
