"""A tiny MJPEG-over-HTTP server (``multipart/x-mixed-replace``), the way IP cameras serve video,
so ``camera_node`` (OpenCV/FFmpeg) opens the simulated camera like a real one. ROS-free.

    srv = MjpegServer("127.0.0.1", 8080); srv.start()
    srv.publish(jpeg_bytes)       # every client gets the newest frame; slow clients skip frames
    srv.url                       # http://127.0.0.1:8080/stream.mjpg
    /snapshot.jpg                 # the newest frame as one JPEG
"""

from __future__ import annotations

import http.server
import socketserver
import threading

BOUNDARY = "edgebotframe"


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "edgebot-sim-mjpeg/1.0"
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):  # quiet: the node logs clients itself
        pass

    def do_GET(self):
        hub: MjpegServer = self.server.hub  # type: ignore[attr-defined]
        path = self.path.split("?")[0]
        if path in ("/snapshot.jpg", "/snapshot"):
            frame, _ = hub.wait_frame(0, timeout=5.0)
            if frame is None:
                self.send_error(503, "no frame yet")
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(frame)))
            self.end_headers()
            self.wfile.write(frame)
            return
        if path not in ("/", "/stream.mjpg", "/stream", "/video"):
            self.send_error(404, "try /stream.mjpg or /snapshot.jpg")
            return
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Pragma", "no-cache")
        self.end_headers()
        hub._clients_changed(+1)
        seq = 0
        try:
            while not hub.closed:
                frame, seq2 = hub.wait_frame(seq, timeout=1.0)
                if frame is None or seq2 == seq:
                    continue
                seq = seq2
                self.wfile.write(
                    (
                        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                        f"Content-Length: {len(frame)}\r\n\r\n"
                    ).encode()
                    + frame
                    + b"\r\n"
                )
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            hub._clients_changed(-1)


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class MjpegServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, int(port)
        self._cond = threading.Condition()
        self._frame: bytes | None = None
        self._seq = 0
        self.clients = 0
        self.frames_published = 0
        self.closed = False
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        self._httpd = _Server((self.host, self.port), _Handler)
        self._httpd.hub = self  # type: ignore[attr-defined]
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="mjpeg", daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/stream.mjpg"

    def publish(self, jpeg: bytes) -> None:
        with self._cond:
            self._frame = bytes(jpeg)
            self._seq += 1
            self.frames_published += 1
            self._cond.notify_all()

    def wait_frame(self, after_seq: int, timeout: float):
        with self._cond:
            if self._seq == after_seq or self._frame is None:
                self._cond.wait(timeout)
            return self._frame, self._seq

    def _clients_changed(self, d: int):
        with self._cond:
            self.clients += d

    def stop(self) -> None:
        self.closed = True
        with self._cond:
            self._cond.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
