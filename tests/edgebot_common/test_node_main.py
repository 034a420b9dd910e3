"""edgebot_common.node_main.run_node, in real processes: a clean stop when the context is shut
down under the executor, a traceback and status 1 for a real error, status 2 and one line for a
configuration error; SIGINT/SIGTERM while the node's cleanup runs are ignored (the ros2 launch
Ctrl-C sequence), a signal during construction is a clean stop."""

import signal
import subprocess
import sys
import textwrap

import pytest

from edgebot_common.node_main import StopRequest

NODE = textwrap.dedent("""
    import sys
    import time
    import rclpy
    from rclpy.node import Node
    from std_msgs.msg import String
    from edgebot_common import node_main
    from edgebot_common.node_main import run_node
    from edgebot_common.params import ParameterError

    MODE = sys.argv[1]

    class N(Node):
        NODE_NAME = "n"

        def __init__(self):
            super().__init__("n")
            if MODE == "config":
                raise ParameterError("rate", -1, "allowed > 0")
            if MODE == "slow_start":
                print("constructing", flush=True)
                while True:                      # a device that never answers
                    time.sleep(0.01)
            self.pub = self.create_publisher(String, "last_words", 10)
            self.create_timer(0.05, self.tick)

        def tick(self):
            if MODE == "slow_cleanup":
                print("spinning", flush=True)
                return
            if MODE == "shutdown_race":
                # as when SIGINT's handler shuts the context down while the executor is between
                # its "ok?" check and the next wait set: rclpy then raises, not a clean exit
                rclpy.shutdown()
                raise RuntimeError("failed to initialize wait set: the given context is not valid")
            raise RuntimeError("a real bug")

        def shutdown(self):
            print("shutdown hook ran", flush=True)
            if MODE == "slow_cleanup":
                print("cleanup started", flush=True)
                # the safe-state write is still under way when the next signals arrive
                deadline = time.monotonic() + 120
                seen = 0
                while seen < 2 and time.monotonic() < deadline:
                    if node_main.stop_request().ignored > seen:
                        seen = node_main.stop_request().ignored
                        print(f"ignored {seen}", flush=True)
                    time.sleep(0.01)
                # the context is still valid: a last message can go out (publish raises if not)
                self.pub.publish(String(data="motors stopped"))
                print(f"safe state written; context ok: {rclpy.ok()}", flush=True)

    run_node(N)
""")


def run(mode):
    p = subprocess.run(
        [sys.executable, "-c", NODE, mode], capture_output=True, text=True, timeout=120
    )
    return p.returncode, p.stdout + p.stderr


def test_context_shut_down_under_the_executor_is_a_clean_stop():
    code, out = run("shutdown_race")
    assert code == 0, out
    assert "Traceback" not in out and "shutdown hook ran" in out


def test_an_error_while_running_is_a_traceback_and_status_1():
    code, out = run("bug")
    assert code == 1
    assert "Traceback" in out and "a real bug" in out and "shutdown hook ran" in out


def test_a_configuration_error_is_one_line_and_status_2():
    code, out = run("config")
    assert code == 2
    assert "[n] configuration error: parameter 'rate' = -1: allowed > 0" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("second", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signals_during_cleanup_are_ignored_and_the_exit_is_clean(procs, second):
    """ros2 launch on Ctrl-C: SIGINT to every node, then a second SIGINT (and SIGTERM after
    sigterm_timeout). Both arrive while shutdown() runs; neither may interrupt it."""
    p = procs.start([sys.executable, "-c", NODE, "slow_cleanup"], name="slow_cleanup")
    p.wait_output("spinning", 60)
    p.signal(signal.SIGINT)
    p.wait_output("cleanup started", 30)
    # one at a time: two equal signals pending at once are delivered as one (POSIX)
    p.signal(signal.SIGINT)
    p.wait_output("ignored 1", 30)
    p.signal(second)
    assert p.wait(60) == 0, p.output()
    out = p.output()
    assert "safe state written; context ok: True" in out and "Traceback" not in out, out
    assert "2 further signal(s) ignored while shutting down" in out, out
    assert out.count("shutdown hook ran") == 1


def test_a_signal_during_construction_stops_cleanly(procs):
    p = procs.start([sys.executable, "-c", NODE, "slow_start"], name="slow_start")
    p.wait_output("constructing", 60)
    p.signal(signal.SIGINT)
    assert p.wait(30) == 0, p.output()
    assert "interrupted while starting" in p.output() and "Traceback" not in p.output()


def test_stop_request_phases():
    s = StopRequest()
    with pytest.raises(KeyboardInterrupt):  # starting: interrupt the constructor
        s.handle(signal.SIGINT)
    s.handle(signal.SIGINT)  # then ignored
    assert s.signum == signal.SIGINT and s.ignored == 1 and s.phase == "stopping"
    s = StopRequest()
    s.phase = "running"
    s.handle(signal.SIGTERM)  # running: recorded only
    assert s.requested and s.ignored == 0
    s.begin_stopping()
    s.handle(signal.SIGINT)
    s.handle(signal.SIGTERM)
    assert s.signum == signal.SIGTERM and s.ignored == 2
