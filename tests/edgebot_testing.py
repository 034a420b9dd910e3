"""Helpers shared by the test suites (imported as ``edgebot_testing``).

Real processes, real DDS: each test session runs on a random ROS_DOMAIN_ID restricted to
localhost; every process a test starts is in its own process group and is killed at teardown.
"""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable

ROOT = pathlib.Path(__file__).resolve().parents[1]


# Waits are for things that must happen *eventually* (discovery, start-up, delivery); on a
# loaded CI machine they take longer, so every wait's timeout is multiplied by SLACK (2 under
# CI, 1 otherwise; EDGEBOT_TEST_SLACK overrides). A passing test is not slowed by it, and what a
# test measures (rates, latencies, "stops within one period") is never a wait_for timeout.
SLACK = float(os.environ.get("EDGEBOT_TEST_SLACK") or (2.0 if os.environ.get("CI") else 1.0))


def wait_for(
    pred: Callable[[], object],
    timeout: float = 10.0,
    interval: float = 0.02,
    what: str = "condition",
):
    """Poll ``pred`` until truthy; return its value or raise TimeoutError naming ``what``."""
    timeout *= SLACK
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def ros_executable(package: str, executable: str) -> str:
    """Resolve like ``ros2 run``: <prefix>/lib/<package>/<executable> via the ament index."""
    from ament_index_python.packages import get_package_prefix

    path = pathlib.Path(get_package_prefix(package)) / "lib" / package / executable
    if not path.exists():
        raise FileNotFoundError(f"no executable {executable!r} in package {package!r} ({path})")
    return str(path)


class Proc:
    """A child process in its own session with output captured to a file."""

    def __init__(
        self,
        cmd: list[str],
        name: str = "",
        env: dict | None = None,
        cwd: str | None = None,
        stdin=None,
    ):
        self.cmd = [str(c) for c in cmd]
        self.name = name or pathlib.Path(self.cmd[0]).name
        self._out = tempfile.NamedTemporaryFile(
            prefix=f"edgebot-{self.name}-", suffix=".log", delete=False
        )
        full_env = dict(os.environ)
        full_env.setdefault("PYTHONUNBUFFERED", "1")
        if env:
            full_env.update({k: str(v) for k, v in env.items()})
        self.popen = subprocess.Popen(
            self.cmd,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )
        self.pid = self.popen.pid

    def output(self) -> str:
        try:
            return pathlib.Path(self._out.name).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def running(self) -> bool:
        return self.popen.poll() is None

    def wait(self, timeout: float = 10.0) -> int:
        return self.popen.wait(timeout=timeout * SLACK)

    def signal(self, sig=signal.SIGINT) -> None:
        if self.running():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGINT, then SIGTERM, then SIGKILL of the whole process group."""
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 3.0)):
            if not self.running():
                break
            self.signal(sig)
            try:
                self.popen.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
        self.kill_group()
        return self.popen.poll()

    def kill_group(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def wait_output(self, text: str, timeout: float = 15.0) -> str:
        def seen():
            out = self.output()
            if text in out:
                return out
            if not self.running():
                raise RuntimeError(
                    f"{self.name} exited ({self.popen.poll()}) before printing "
                    f"{text!r}:\n{out[-3000:]}"
                )
            return None

        return wait_for(seen, timeout, what=f"{text!r} from {self.name}")


class Procs:
    """Starts processes for a test and stops every one of them at teardown."""

    def __init__(self):
        self.procs: list[Proc] = []

    def start(self, cmd, **kw) -> Proc:
        p = Proc(cmd, **kw)
        self.procs.append(p)
        return p

    def node(
        self,
        package: str,
        executable: str,
        *ros_args: str,
        params: dict | None = None,
        name: str = "",
        **kw,
    ) -> Proc:
        """Start a node like ``ros2 run``; ``params`` become ``-p name:=value``."""
        cmd = [ros_executable(package, executable)]
        args = list(ros_args)
        for k, v in (params or {}).items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            elif v == "":
                v = "''"  # rcl rejects `-p x:=`; an empty YAML string is ''
            args += ["-p", f"{k}:={v}"]
        if args:
            cmd += ["--ros-args", *args]
        return self.start(cmd, name=name or executable, **kw)

    def stop_all(self) -> None:
        for p in reversed(self.procs):
            p.stop(timeout=5.0)


class RosHelper:
    """An rclpy node in the test process, spun in a background thread, on its own context
    (``edgebot_common.background.BackgroundNode``, which the demo's monitor uses too)."""

    def __init__(self, name: str = "test_helper"):
        from edgebot_common.background import BackgroundNode

        self._bg = BackgroundNode(name, raise_errors=True)
        self.context, self.node, self.executor = self._bg.context, self._bg.node, self._bg.executor

    def collect(self, msg_type, topic: str, qos=None) -> list:
        """Subscribe and return the (live) list the messages are appended to."""
        from edgebot_common import qos as Q

        got: list = []
        self.node.create_subscription(msg_type, topic, got.append, qos or Q.RELIABLE)
        return got

    def publisher(self, msg_type, topic: str, qos=None):
        from edgebot_common import qos as Q

        return self.node.create_publisher(msg_type, topic, qos or Q.RELIABLE)

    def wait_subscribers(self, pub, n: int = 1, timeout: float = 30.0, settle: float = 0.5):
        """Wait until ``n`` subscriptions match ``pub``; then give the subscriber side
        ``settle`` seconds to match the publisher too (discovery is not symmetric in time)."""
        wait_for(lambda: pub.get_subscription_count() >= n, timeout, what="subscribers")
        time.sleep(settle)

    def call(self, srv_type, name: str, request, timeout: float = 10.0):
        client = self.node.create_client(srv_type, name)
        if not client.wait_for_service(timeout_sec=timeout * SLACK):
            raise TimeoutError(f"service {name} not available")
        fut = client.call_async(request)
        wait_for(fut.done, timeout, what=f"response of {name}")
        return fut.result()

    def close(self):
        self._bg.close()


def diag_value(msgs, suffix: str, key: str):
    """The newest value of ``key`` in a /diagnostics status whose name ends with ``suffix``
    (DiagnosticArray messages in arrival order), or None."""
    for m in reversed(msgs):
        for s in m.status:
            if s.name.endswith(suffix):
                for kv in s.values:
                    if kv.key == key:
                        return kv.value
    return None


# ------------------------------------------------------------------ boards for firmata_node
DEMO_PIN_MAP = str(ROOT / "config" / "firmata.yaml")


class VirtualBoards:
    """Virtual Arduinos (edgebot_firmata's board model) on ptys in ``folder``: ``boards(**kw)``
    starts one (``VirtualArduino(**kw)``) and returns ``(board, link)``; ``close()`` stops all
    (the ``virtual_boards`` fixture does)."""

    def __init__(self, folder):
        self.folder = pathlib.Path(folder)
        self.made: list = []

    def __call__(self, **kw):
        from edgebot_firmata.virtual_arduino import VirtualArduino

        b = VirtualArduino(**kw)
        self.made.append(b)
        link = str(self.folder / f"ttyVIRT{len(self.made)}")
        b.start(link=link)
        return b, link

    def close(self) -> None:
        for b in self.made:
            b.stop()


def emulated_standard_firmata(link: str, board: str = "uno"):
    """The real StandardFirmata 2.4 firmware on an emulated AVR (edgebot_avr) at real speed,
    started on the pty ``link``; the caller stops it."""
    import edgebot_avr

    emu = edgebot_avr.EmulatedArduino(
        board=board,
        link=link,
        speed=1.0,
        firmware=edgebot_avr.firmware_path(board=board, name="StandardFirmata"),
    )
    emu.start()
    return emu


def start_firmata_node(procs: Procs, port: str, pin_map=DEMO_PIN_MAP, **params) -> Proc:
    """firmata_node on ``port`` with ``pin_map`` (default: the demo's config/firmata.yaml) and a
    virtual board's short reset wait; ``params`` add or override parameters."""
    p = {"port": port, "pin_map": str(pin_map), "arduino_wait": 0.5}
    p.update(params)
    return procs.node("edgebot_firmata", "firmata_node", params=p)
