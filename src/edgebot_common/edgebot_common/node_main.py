"""The one entry point every edgebot node uses.

    def main(args=None):
        run_node(BaseController, args)

- a :class:`~edgebot_common.params.ParameterError` (or any ``ConfigError``) raised while the node
  is constructed prints one line ``[node] configuration error: parameter 'x' = v: allowed ...``
  and exits with status 2;
- SIGINT/SIGTERM end spinning cleanly and exit 0; the node's ``shutdown()`` method (if any) runs
  once, before the node is destroyed and while the ROS context is still valid, so drivers can put
  outputs into their safe state (and may still publish a last message);
- once shutdown has begun, further SIGINT/SIGTERM are ignored until it has finished: a terminal
  Ctrl-C under ``ros2 launch`` delivers SIGINT to every node and launch then sends each a second
  one (and SIGTERM after ``sigterm_timeout``); none of them may cut a safe-state write short.

Why not rclpy's own signal handlers: they shut the context down from a signal thread (so
``shutdown()`` could no longer publish) and chain to Python's default SIGINT handler, which
raises ``KeyboardInterrupt`` wherever the main thread happens to be -- on the second SIGINT that
is inside the node's cleanup (``process has died [exit code -2]``). Here the handler only records
the request. Python runs it in the main thread once that thread executes bytecode again, which
it does not while the executor waits; so the signal also goes down ``signal.set_wakeup_fd`` to a
small thread that triggers a guard condition of the node: the stop is immediate, and an idle node
does not poll (the executor still wakes every :data:`POLL_S` as a fallback).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.signals import SignalHandlerOptions

from .executors import MultiThreadedExecutor  # rclpy 9.x without its busy loops
from .params import ParameterError

POLL_S = 1.0  # fallback: longest time between a signal and the executor noticing it
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


_current: StopRequest | None = None


def stop_request() -> StopRequest | None:
    """The running process's :class:`StopRequest` (inside :func:`run_node`), else None."""
    return _current


class ConfigError(ValueError):
    """Bad configuration other than a single parameter (a malformed map file, a pin clash)."""


class StopRequest:
    """What the process's signal handlers do, by phase (ROS-free, testable in-process).

    - ``starting`` (the node is being constructed): the first signal raises
      ``KeyboardInterrupt`` so a node blocked while connecting to its device can be stopped;
    - ``running``: the first signal only records the request (the spin loop polls it);
    - ``stopping``: every signal is counted and ignored, so cleanup always runs to its end.
    """

    def __init__(self) -> None:
        self.phase = "starting"
        self.signum: int | None = None
        self.ignored = 0
        self._lock = threading.Lock()

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def handle(self, signum, frame=None) -> None:
        with self._lock:
            first = self.signum is None
            if first:
                self.signum = signum
            else:
                self.ignored += 1
            interrupt = first and self.phase == "starting"
            if interrupt:
                self.phase = "stopping"
        if interrupt:
            raise KeyboardInterrupt

    def begin_stopping(self) -> None:
        with self._lock:
            self.phase = "stopping"


def _install(handler) -> None:
    for s in _SIGNALS:
        try:
            signal.signal(s, handler)
        except ValueError:  # not the main thread (run_node called from a thread)
            pass


class _Waker:
    """Wakes the executor the moment a signal arrives (see the module docstring)."""

    def __init__(self) -> None:
        # a guard condition of the node: its (empty) callback is work for the executor, so
        # spin_once returns (Executor.wake() alone only restarts the executor's wait)
        self.guard = None
        try:
            r, w = os.pipe()
            os.set_blocking(w, False)
            signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        except (OSError, ValueError):  # not the main thread: the POLL_S fallback remains
            return
        threading.Thread(
            target=self._run, args=(r,), name="run_node-signal-waker", daemon=True
        ).start()

    def _run(self, fd: int) -> None:
        while True:
            try:
                if not os.read(fd, 64):
                    return
            except OSError:
                return
            gc = self.guard
            if gc is not None:
                try:
                    gc.trigger()
                except Exception:
                    pass


def _node_name(factory, node=None) -> str:
    if node is not None:
        try:
            return node.get_name()
        except Exception:
            pass
    return getattr(factory, "NODE_NAME", getattr(factory, "__name__", "node"))


class Captured(Exception):
    """Raised by :func:`run_node` inside :func:`capture_factory`: what ``main()`` would run."""

    def __init__(self, factory, threads: int):
        super().__init__(factory)
        self.factory = factory
        self.threads = threads


_capturing = threading.local()


def capture_factory(main: Callable[..., None]) -> tuple[Callable[[], rclpy.node.Node], int]:
    """(node factory, executor threads) a node's ``main()`` passes to :func:`run_node`.

    How :mod:`edgebot_common.container` composes nodes from their console scripts without
    running them: ``main()`` is called with run_node in capture mode, which raises
    :class:`Captured` before touching rclpy or signals. TypeError if ``main`` never calls it.
    """
    _capturing.on = True
    try:
        main([])
    except Captured as c:
        return c.factory, c.threads
    finally:
        _capturing.on = False
    raise TypeError(f"{getattr(main, '__qualname__', main)!r} does not call run_node()")


def run_node(
    factory: Callable[[], rclpy.node.Node], args: list | None = None, threads: int = 1
) -> None:
    global _current
    if getattr(_capturing, "on", False):
        raise Captured(factory, threads)
    stop = _current = StopRequest()
    _install(stop.handle)
    waker = _Waker()
    node = None
    executor = None
    code = 0
    try:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
        try:
            node = factory()
        except (ParameterError, ConfigError) as e:
            print(f"[{_node_name(factory)}] configuration error: {e}", file=sys.stderr, flush=True)
            code = 2
            return
        with stop._lock:
            if stop.phase == "starting":
                stop.phase = "running"
        executor = (
            MultiThreadedExecutor(num_threads=threads) if threads > 1 else SingleThreadedExecutor()
        )
        executor.add_node(node)
        waker.guard = node.create_guard_condition(lambda: None)
        try:
            while not stop.requested and executor.context.ok():
                executor.spin_once(timeout_sec=POLL_S)
        except ExternalShutdownException:
            pass
        except Exception:
            # The context shut down under the executor (someone called rclpy.shutdown()): when
            # that lands between the executor's "still ok?" check and its building the next
            # wait set, rclpy raises RCLError("context is not valid") instead of
            # ExternalShutdownException. That is the same clean stop, not a crash.
            if executor.context.ok():
                raise
    except KeyboardInterrupt:
        # a signal while the node was being constructed: a requested stop, not a failure
        print(f"[{_node_name(factory)}] interrupted while starting", file=sys.stderr, flush=True)
    except Exception:
        traceback.print_exc()
        code = 1
    finally:
        stop.begin_stopping()
        code = _cleanup(node, executor, code)
        if stop.ignored:
            print(
                f"[{_node_name(factory)}] {stop.ignored} further signal(s) ignored while "
                "shutting down",
                file=sys.stderr,
                flush=True,
            )
        ignore_signals()
        if code:
            sys.exit(code)


def ignore_signals() -> None:
    """The interpreter's own teardown (DDS participants, threads) still takes a while and
    resets Python-level handlers to the default on the way: launch's second SIGINT would turn a
    clean exit into -2. Ignored at the OS level, they stay ignored to the end."""
    for s in _SIGNALS:
        try:
            signal.signal(s, signal.SIG_IGN)
        except ValueError:
            pass


def _cleanup(node, executor, code: int) -> int:
    """Runs once, with every further SIGINT/SIGTERM ignored (see :class:`StopRequest`)."""
    if executor is not None:
        try:
            executor.shutdown(timeout_sec=5.0)  # no callback runs concurrently with shutdown()
        except Exception:
            pass
    if node is not None:
        shutdown = getattr(node, "shutdown", None)
        if callable(shutdown):
            try:
                shutdown()
            except Exception:
                traceback.print_exc()
                code = code or 1
        try:
            node.destroy_node()
        except Exception:
            pass
    try:
        rclpy.try_shutdown()
    except Exception:
        pass
    return code
