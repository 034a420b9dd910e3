"""edgebot_container: several edgebot Python nodes in one process, one executor, one context
(one DDS participant), chosen in the launch file (an ordinary ``node`` entry; its parameters:
:mod:`edgebot_common.composition`, an example in the package README).

- each member is built by its own console script's factory (what ``main()`` passes to
  :func:`~edgebot_common.node_main.run_node`), with its own command line;
- a member's configuration error stops the container at startup: one line naming the node and
  the parameter, exit status 2 (as the node alone);
- an exception in a member's callback is reported (log, and ERROR on ``/diagnostics`` under the
  container's name with the node's name and the error); the member is shut down (its
  ``shutdown()``: safe state) and destroyed. ``on_node_failure`` (or ``on_failure.<name>``):
  ``shutdown`` (default) then stops the whole container, ``continue`` keeps the others running
  (a configuration error then leaves that node out); the exit status is 1 (2) either way;
- SIGINT/SIGTERM as :mod:`~edgebot_common.node_main`: once, every member's ``shutdown()`` runs
  (in reverse start order, context still valid), further signals are ignored until it is done.
"""

from __future__ import annotations

import sys
import tempfile
import traceback

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from . import composition as C
from . import node_main
from . import qos as Q
from .executors import MultiThreadedExecutor  # rclpy 9.x without its busy loops
from .node_main import ConfigError, StopRequest, _install, _Waker
from .params import ParameterError

POLL_S = node_main.POLL_S


def composable(factory, name: str, cli_args: list[str]):
    """A subclass of the node class that passes ``cli_args`` (its own command line) to rclpy's
    ``Node.__init__``, with global arguments off: the node class is used unchanged."""
    if not (isinstance(factory, type) and issubclass(factory, Node)):
        raise ConfigError(f"node '{name}': {factory!r} is not an rclpy Node class")

    class _Args(Node):
        def __init__(self, node_name, *a, **kw):
            kw.setdefault("cli_args", cli_args)
            kw.setdefault("use_global_arguments", False)
            super().__init__(node_name, *a, **kw)

    return type(factory.__name__, (factory, _Args), {"__module__": factory.__module__})


class Container(Node):
    def __init__(self, argv: list[str], tmpdir: str):
        super().__init__(
            "container",
            allow_undeclared_parameters=True,
            automatically_declare_parameters_from_overrides=True,
        )
        params = {k: p.value for k, p in self.get_parameters_by_prefix("").items()}
        self.executor_kind = C.validate_choice(
            "executor", params.get("executor", "single"), C.EXECUTORS
        )
        self.policy = C.validate_choice(
            "on_node_failure", params.get("on_node_failure", "shutdown"), C.FAILURE_POLICIES
        )
        self.members = C.plan(params)
        self.ns, self.remaps = C.container_ros_args(argv)
        self.tmpdir = tmpdir
        self.nodes: list[tuple[str, Node]] = []  # (name, node), start order
        self.threads = 1
        self.failed: dict[str, str] = {}  # name -> error
        self.exit_code = 0  # a member left out at startup (on_failure: continue): 2
        self._pub = self.create_publisher(DiagnosticArray, "/diagnostics", Q.DIAGNOSTICS)
        self.create_timer(1.0, self.publish_diagnostics)

    def start_members(self) -> None:
        for m in self.members:
            try:
                factory, threads = node_main.capture_factory(C.load_main(m.pkg, m.executable))
            except TypeError as e:  # a console script that is not an edgebot node
                raise C.CompositionError("nodes", f"{m.pkg}/{m.executable}", str(e)) from None
            name = m.key
            self.threads = max(self.threads, threads)
            args = C.member_args(
                name,
                self.ns,
                self.remaps,
                m,
                C.write_overrides(self.tmpdir, name, m.overrides),
            )
            try:
                node = composable(factory, name, args)()
            except (ParameterError, ConfigError) as e:
                if self.policy_of(name) == "shutdown":
                    raise ConfigError(f"[{name}] configuration error: {e}") from None
                print(f"[{name}] configuration error: {e}", file=sys.stderr, flush=True)
                self.failed[name], self.exit_code = f"configuration error: {e}", 2
                continue
            self.nodes.append((node.get_name(), node))
            self.get_logger().info(f"started {node.get_fully_qualified_name()}")

    def policy_of(self, name: str) -> str:
        m = next((m for m in self.members if m.key == name), None)
        return (m.on_failure if m is not None else None) or self.policy

    def by_id(self) -> dict[int, str]:
        return {id(n): name for name, n in self.nodes}

    def fail(self, name: str, exc: BaseException) -> None:
        """A member raised: report it, put it in its safe state, drop it."""
        err = f"{type(exc).__name__}: {exc}"
        self.failed[name] = err
        self.get_logger().error(
            f"node '{name}' raised in a callback and is stopped: {err}\n"
            + "".join(traceback.format_exception(exc)).rstrip()
        )
        self.finish(name)
        self.publish_diagnostics()

    def finish(self, name: str) -> None:
        for i, (n, node) in enumerate(self.nodes):
            if n == name:
                del self.nodes[i]
                try:
                    self.executor.remove_node(node)
                except Exception:
                    pass
                stop_node(node, self.get_logger())
                break

    def publish_diagnostics(self) -> None:
        msg = DiagnosticArray()
        msg.header.stamp = self.get_clock().now().to_msg()
        for name, _ in self.nodes:
            msg.status.append(_status(self, name, DiagnosticStatus.OK, "running", ""))
        for name, err in self.failed.items():
            msg.status.append(_status(self, name, DiagnosticStatus.ERROR, "raised, stopped", err))
        self._pub.publish(msg)


def _status(c: Container, name: str, level, message: str, error: str) -> DiagnosticStatus:
    values = [KeyValue(key="node", value=name)]
    if error:
        values.append(KeyValue(key="error", value=error))
    return DiagnosticStatus(
        level=bytes([level]) if isinstance(level, int) else level,
        name=f"{c.get_name()}: {name}",
        message=message,
        hardware_id=c.get_fully_qualified_name(),
        values=values,
    )


def stop_node(node: Node, log) -> bool:
    """The member's ``shutdown()`` (safe state), then destroy it; False if shutdown raised."""
    ok = True
    shutdown = getattr(node, "shutdown", None)
    if callable(shutdown):
        try:
            shutdown()
        except Exception:
            log.error(f"{node.get_name()}: shutdown() raised:\n{traceback.format_exc()}")
            ok = False
    try:
        node.destroy_node()
    except Exception:
        pass
    return ok


def make_executor(kind: str, threads: int):
    if kind == "events":
        return __import__("rclpy.experimental", fromlist=["EventsExecutor"]).EventsExecutor()
    if kind == "multi" or threads > 1:
        return MultiThreadedExecutor(num_threads=max(threads, 2))
    return SingleThreadedExecutor()


def main(args=None) -> None:
    argv = list(sys.argv if args is None else args)
    stop = node_main._current = StopRequest()
    _install(stop.handle)
    waker = _Waker()
    c = executor = None
    code = 0
    tmp = tempfile.TemporaryDirectory(prefix="edgebot-container-")
    try:
        rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO)
        try:
            c = Container(argv, tmp.name)
            c.start_members()
        except (C.CompositionError, ParameterError, ConfigError) as e:
            text = str(e) if str(e).startswith("[") else f"[container] configuration error: {e}"
            print(text, file=sys.stderr, flush=True)
            code = 2
            return
        if not c.nodes:
            code = c.exit_code or 2
            return
        with stop._lock:
            if stop.phase == "starting":
                stop.phase = "running"
        executor = make_executor(c.executor_kind, c.threads)
        executor.add_node(c)
        for _, node in c.nodes:
            executor.add_node(node)
        if c.executor_kind != "events":  # rclpy's EventsExecutor: no guard conditions
            waker.guard = c.create_guard_condition(lambda: None)
        c.get_logger().info(
            f"{len(c.nodes)} nodes in one process ({c.executor_kind} executor): "
            + ", ".join(n for n, _ in c.nodes)
        )
        code = spin(c, executor, stop) or c.exit_code
    except KeyboardInterrupt:
        print("[container] interrupted while starting", file=sys.stderr, flush=True)
    except Exception:
        traceback.print_exc()
        code = 1
    finally:
        stop.begin_stopping()
        code = cleanup(c, executor, code)
        tmp.cleanup()
        if stop.ignored:
            print(
                f"[container] {stop.ignored} further signal(s) ignored while shutting down",
                file=sys.stderr,
                flush=True,
            )
        node_main.ignore_signals()
        if code:
            sys.exit(code)


def spin(c: Container, executor, stop: StopRequest) -> int:
    code = 0
    while not stop.requested and executor.context.ok():
        try:
            executor.spin_once(timeout_sec=POLL_S)
        except ExternalShutdownException:
            break
        except SystemExit as e:
            # a member ended itself (sys.exit in a callback): alone, its process would end
            name = C.failed_member(e.__traceback__, c.by_id())
            if name is None:
                raise
            if e.code in (0, None):
                c.get_logger().info(f"node '{name}' exited (status 0)")
                c.finish(name)
            else:
                code = e.code if isinstance(e.code, int) else 1
                c.fail(name, e)
                if c.policy_of(name) == "shutdown":
                    break
            if not c.nodes:
                break
        except Exception as e:
            if not executor.context.ok():
                break  # the context shut down under the executor (see node_main)
            name = C.failed_member(e.__traceback__, c.by_id())
            if name is None:
                raise
            code = 1
            c.fail(name, e)
            if c.policy_of(name) == "shutdown" or not c.nodes:
                c.get_logger().error(f"stopping the container (on_node_failure: {c.policy})")
                break
    return code


def cleanup(c: Container | None, executor, code: int) -> int:
    """Every member's safe state, once, with further signals ignored (see node_main)."""
    if executor is not None:
        try:
            executor.shutdown(timeout_sec=5.0)
        except Exception:
            pass
    if c is not None:
        for _, node in reversed(c.nodes):
            if not stop_node(node, c.get_logger()):
                code = code or 1
        c.nodes.clear()
        try:
            c.publish_diagnostics()
            c.destroy_node()
        except Exception:
            pass
    try:
        rclpy.try_shutdown()
    except Exception:
        pass
    return code


if __name__ == "__main__":
    main()
