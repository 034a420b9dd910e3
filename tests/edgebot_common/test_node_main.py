"""edgebot_common.node_main.run_node, in real processes: a clean stop when the context is shut
down under the executor (what SIGINT does), a traceback and status 1 for a real error, status 2
and one line for a configuration error."""
import subprocess
import sys
import textwrap

NODE = textwrap.dedent("""
    import sys
    import rclpy
    from rclpy.node import Node
    from edgebot_common.node_main import run_node
    from edgebot_common.params import ParameterError

    MODE = sys.argv[1]

    class N(Node):
        NODE_NAME = "n"

        def __init__(self):
            super().__init__("n")
            if MODE == "config":
                raise ParameterError("rate", -1, "allowed > 0")
            self.create_timer(0.05, self.tick)

        def tick(self):
            if MODE == "shutdown_race":
                # as when SIGINT's handler shuts the context down while the executor is between
                # its "ok?" check and the next wait set: rclpy then raises, not a clean exit
                rclpy.shutdown()
                raise RuntimeError("failed to initialize wait set: the given context is not valid")
            raise RuntimeError("a real bug")

        def shutdown(self):
            print("shutdown hook ran", flush=True)

    run_node(N)
""")


def run(mode):
    p = subprocess.run([sys.executable, "-c", NODE, mode], capture_output=True, text=True,
                       timeout=120)
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
