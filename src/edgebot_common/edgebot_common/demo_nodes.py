"""Two tiny nodes used to check launch files and the DDS setup end to end.

``talker``: publishes std_msgs/String ``"<message> <n>"`` on ``chatter`` at ``rate`` Hz.
``listener``: subscribes ``chatter``, logs what it hears, republishes it on ``heard``;
with ``exit_after`` > 0 it exits (status ``exit_code``) after that many messages; with
``raise_after`` > 0 its callback raises RuntimeError at that message (a crashing node).

They stay in the package (not in ``tests/``) because they are used as installed executables:
launch files name them as ``pkg: edgebot_common, exec: talker`` (the launcher's tests and
parity checks against ``ros2 launch``, ``benchmarks/bench_foundation.py``), which needs the
console scripts, like ros2's demo_nodes_py talker/listener for checking a DDS setup.
"""

from __future__ import annotations

import sys

from rclpy.node import Node
from std_msgs.msg import String

from . import qos
from .node_main import run_node
from .params import ParamSpec
from .ros_params import declare_params


class Talker(Node):
    NODE_NAME = "talker"
    SPECS = [
        ParamSpec("message", "hello", "text to publish"),
        ParamSpec("rate", 10.0, "publish rate [Hz]", min=0.0, min_exclusive=True, max=1000.0),
        ParamSpec("count", 0, "stop after this many messages (0 = never)", min=0),
    ]

    def __init__(self):
        super().__init__("talker")
        self.p = declare_params(self, self.SPECS)
        self.pub = self.create_publisher(String, "chatter", qos.RELIABLE)
        self.n = 0
        self.create_timer(1.0 / self.p["rate"], self.tick)

    def tick(self):
        self.n += 1
        self.pub.publish(String(data=f"{self.p['message']} {self.n}"))
        if self.p["count"] and self.n >= self.p["count"]:
            raise SystemExit(0)


class Listener(Node):
    NODE_NAME = "listener"
    SPECS = [
        ParamSpec("exit_after", 0, "exit after this many messages (0 = never)", min=0),
        ParamSpec("exit_code", 0, "exit status used with exit_after", min=0, max=255),
        ParamSpec("raise_after", 0, "raise RuntimeError at this message (0 = never)", min=0),
    ]

    def __init__(self):
        super().__init__("listener")
        self.p = declare_params(self, self.SPECS)
        self.pub = self.create_publisher(String, "heard", qos.RELIABLE)
        self.n = 0
        self.create_subscription(String, "chatter", self.on_msg, qos.RELIABLE)

    def on_msg(self, msg):
        self.n += 1
        self.get_logger().info(f"I heard: {msg.data}")
        self.pub.publish(String(data=f"{self.get_namespace()} {self.get_name()} heard: {msg.data}"))
        if self.p["raise_after"] and self.n >= self.p["raise_after"]:
            raise RuntimeError(f"raise_after {self.p['raise_after']} reached")
        if self.p["exit_after"] and self.n >= self.p["exit_after"]:
            sys.exit(self.p["exit_code"])


def talker(args=None):
    run_node(Talker, args)


def listener(args=None):
    run_node(Listener, args)
