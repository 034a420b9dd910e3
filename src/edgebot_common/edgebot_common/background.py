"""An rclpy node on its own context, spun in a background thread.

For programs whose main thread does something else (the demo's run loop, the fault campaign,
the test suites' ``ros`` fixture): ``BackgroundNode("name")`` creates a context, a node and a
single-threaded executor spun in a daemon thread; ``close()`` stops the thread and shuts the
context down. ``raise_errors`` re-raises an exception from a callback in the spin thread (tests
want to see it); otherwise the thread carries on.
"""

from __future__ import annotations

import threading


class BackgroundNode:
    def __init__(self, name: str, raise_errors: bool = False, period: float = 0.05):
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor

        self.context = Context()
        # args=[]: the host program's own command line (e.g. the demo's launch arguments,
        # name:=value) is not a ROS command line and must not be read as remap rules
        rclpy.init(args=[], context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._raise = raise_errors
        self._period = period
        self._stop = False
        self._thread = threading.Thread(target=self._spin, daemon=True, name=f"spin-{name}")
        self._thread.start()

    def _spin(self):
        while not self._stop and self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=self._period)
            except Exception:
                if self._stop:
                    break
                if self._raise:
                    raise

    def close(self) -> None:
        import rclpy

        self._stop = True
        self._thread.join(timeout=2)
        try:
            self.executor.shutdown()
            self.node.destroy_node()
        finally:
            rclpy.try_shutdown(context=self.context)
