"""Start, supervise and stop the processes of a :class:`~.loader.LaunchPlan`.

- every child runs in its own process group and gets SIGTERM from the kernel if the launcher
  dies (PR_SET_PDEATHSIG), so nothing is orphaned even on ``kill -9`` of the launcher;
- output lines are prefixed with the process name; ``output: log`` sends stdout to the log file
  and stderr to screen and file, ``screen`` both to screen, ``both`` both to screen and file;
- Ctrl-C / SIGTERM / ``--duration`` / an ``on_exit: shutdown`` process ending: SIGINT to every
  group, then SIGTERM after ``sigterm_timeout``, then SIGKILL after ``sigkill_timeout``;
- ``respawn: true`` restarts a process that ends (after ``respawn_delay``) until shutdown;
- the exit status is 0 when nothing failed, 1 when a process exited non-zero on its own.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO

from .loader import LaunchPlan, ProcessSpec

_libc = None


def _set_pdeathsig():  # runs in the child between fork and exec
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL("libc.so.6", use_errno=True)
        _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


@dataclass
class _Running:
    spec: ProcessSpec
    popen: subprocess.Popen | None = None
    starts: int = 0
    exited: bool = True
    returncode: int | None = None
    restart_at: float | None = None
    threads: list[threading.Thread] = field(default_factory=list)
    log: IO[str] | None = None


class Runner:
    def __init__(
        self,
        plan: LaunchPlan,
        duration: float | None = None,
        log_dir: str | None = None,
        out: IO[str] = sys.stdout,
    ):
        self.plan = plan
        self.duration = duration
        self.out = out
        self._out_lock = threading.Lock()
        self.log_dir = log_dir or os.path.join(
            os.environ.get("ROS_LOG_DIR")
            or os.path.join(os.environ.get("ROS_HOME", os.path.expanduser("~/.ros")), "log"),
            time.strftime("launch-%Y%m%d-%H%M%S-") + str(os.getpid()),
        )
        self.procs = [_Running(spec) for spec in plan.processes]
        self.failed: list[str] = []
        self._shutdown_reason: str | None = None
        self._wake = threading.Event()

    # -- output ------------------------------------------------------------------------
    def say(self, text: str) -> None:
        with self._out_lock:
            self.out.write(f"[edgebot launch] {text}\n")
            self.out.flush()

    def _pump(self, r: _Running, stream, to_screen: bool, to_file: bool) -> None:
        prefix = f"[{r.spec.name}] "
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            if to_screen:
                with self._out_lock:
                    self.out.write(prefix + line + "\n")
                    self.out.flush()
            if to_file and r.log is not None:
                try:
                    r.log.write(line + "\n")
                    r.log.flush()
                except ValueError:
                    pass
        stream.close()

    # -- lifecycle ---------------------------------------------------------------------
    def _start(self, r: _Running) -> None:
        spec = r.spec
        needs_file = spec.output in ("log", "both")
        if needs_file and r.log is None:
            os.makedirs(self.log_dir, exist_ok=True)
            r.log = open(os.path.join(self.log_dir, spec.name.replace("/", "_") + ".log"), "a")
        try:
            r.popen = subprocess.Popen(
                spec.cmd if not spec.shell else spec.cmd[0],
                shell=spec.shell,
                env=spec.env,
                cwd=spec.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_set_pdeathsig,
            )
        except OSError as e:
            self.failed.append(f"{spec.name}: could not start ({e})")
            self.say(f"process [{spec.name}] could not start: {e}")
            r.exited, r.returncode = True, 127
            if spec.shutdown_on_exit:
                self.request_shutdown(f"required process [{spec.name}] could not start")
            return
        r.starts += 1
        r.exited = False
        r.returncode = None
        out_screen = spec.output in ("screen", "both")
        err_screen = True
        r.threads = [
            threading.Thread(
                target=self._pump, args=(r, r.popen.stdout, out_screen, needs_file), daemon=True
            ),
            threading.Thread(
                target=self._pump, args=(r, r.popen.stderr, err_screen, needs_file), daemon=True
            ),
        ]
        for t in r.threads:
            t.start()
        threading.Thread(target=self._wait, args=(r, r.popen), daemon=True).start()
        self.say(f"process started [{spec.name}] pid {r.popen.pid}")

    def _wait(self, r: _Running, popen: subprocess.Popen) -> None:
        popen.wait()
        self._wake.set()

    def request_shutdown(self, reason: str) -> None:
        if self._shutdown_reason is None:
            self._shutdown_reason = reason
            self._wake.set()

    def _on_signal(self, signum, frame) -> None:
        """Ctrl-C / SIGTERM / SIGHUP: shut down. Takes no lock: a handler runs between two
        bytecodes of the main thread, which may be inside ``_wake.wait``/``clear`` holding the
        Event's lock, and ``_wake.set()`` here would wait for it for ever (a demo's launcher
        ignored Ctrl-C until it was killed). The main loop looks every 0.1 s."""
        if self._shutdown_reason is None:
            self._shutdown_reason = f"received {signal.Signals(signum).name}"

    def _signal_group(self, r: _Running, sig) -> None:
        if r.popen is None:
            return
        try:
            os.killpg(r.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _reap(self) -> None:
        """Handle processes that ended since the last look."""
        for r in self.procs:
            if r.popen is None or r.exited or r.popen.poll() is None:
                continue
            r.exited = True
            r.returncode = r.popen.returncode
            for t in r.threads:
                t.join(timeout=1.0)
            code = r.returncode
            # Anything left in the process group (grandchildren) goes with its leader.
            self._signal_group(r, signal.SIGKILL)
            if self._shutdown_reason is not None:
                continue
            ok = code == 0
            self.say(
                f"process [{r.spec.name}] exited with code {code}" + ("" if ok else " (failure)")
            )
            if r.spec.shutdown_on_exit:
                if not ok:
                    self.failed.append(f"{r.spec.name}: exited with code {code}")
                self.request_shutdown(f"required process [{r.spec.name}] exited with code {code}")
            elif r.spec.respawn:
                r.restart_at = time.monotonic() + r.spec.respawn_delay
                self.say(f"respawning [{r.spec.name}] in {r.spec.respawn_delay:g} s")
            elif not ok:
                self.failed.append(f"{r.spec.name}: exited with code {code}")

    def run(self) -> int:
        for line in self.plan.logs:
            self.say(line)
        old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        for s in old:
            signal.signal(s, self._on_signal)
        try:
            for r in self.procs:
                self._start(r)
                if self._shutdown_reason:
                    break
            self.say(
                f"{sum(1 for r in self.procs if not r.exited)} process(es) running; log dir {self.log_dir}"
            )
            deadline = time.monotonic() + self.duration if self.duration else None
            while self._shutdown_reason is None:
                self._wake.wait(timeout=0.1)
                self._wake.clear()
                self._reap()
                now = time.monotonic()
                for r in self.procs:
                    if (
                        r.restart_at is not None
                        and now >= r.restart_at
                        and self._shutdown_reason is None
                    ):
                        r.restart_at = None
                        self._start(r)
                if deadline is not None and now >= deadline:
                    self.request_shutdown(f"duration of {self.duration:g} s reached")
                if all(r.exited and r.restart_at is None for r in self.procs):
                    self.request_shutdown("all processes have exited")
            self._stop_all()
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            for r in self.procs:
                if r.log is not None:
                    r.log.close()
        if self.failed:
            self.say("failed: " + "; ".join(self.failed))
            return 1
        return 0

    def _stop_all(self) -> None:
        self.say(f"shutting down: {self._shutdown_reason}")
        running = [r for r in self.procs if r.popen is not None and r.popen.poll() is None]
        for r in running:
            self._signal_group(r, signal.SIGINT)
        for sig, attr in ((signal.SIGTERM, "sigterm_timeout"), (signal.SIGKILL, "sigkill_timeout")):
            waiting = [r for r in running if r.popen.poll() is None]
            if not waiting:
                break
            deadline = time.monotonic() + max(getattr(r.spec, attr) for r in waiting)
            while time.monotonic() < deadline and any(r.popen.poll() is None for r in waiting):
                time.sleep(0.05)
            for r in waiting:
                if r.popen.poll() is None:
                    self.say(f"process [{r.spec.name}] did not stop, sending {sig.name}")
                    self._signal_group(r, sig)
        for r in running:
            try:
                r.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self._signal_group(r, signal.SIGKILL)  # leftovers in the group
            for t in r.threads:
                t.join(timeout=1.0)
        for r in self.procs:
            if r.popen is not None:
                self._signal_group(r, signal.SIGKILL)
