"""``edgebot topic list|echo|hz`` and ``edgebot node list`` (ros2cli is not a wheel).

The introspection node is anonymous and hidden from ``node list``. Discovery takes a moment
on DDS, so list/echo wait (``--wait``) for the graph to settle or the topic to appear.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections import deque

_HIDDEN_PREFIX = "_edgebot_cli_"


def _node():
    import rclpy

    rclpy.init(args=None)
    return rclpy.create_node(f"{_HIDDEN_PREFIX}{os.getpid()}", start_parameter_services=False)


def _spin_for(node, seconds: float, until=None):
    import rclpy

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
        if until is not None and until():
            return True
    return False


def _settle(node, wait: float, probe):
    """Spin until ``probe()`` stops changing for 0.5 s (or ``wait`` runs out)."""
    start = time.monotonic()
    last, stable_since = None, start
    end = start + wait
    while time.monotonic() < end:
        _spin_for(node, 0.1)
        cur = probe()
        now = time.monotonic()
        if cur != last:
            last, stable_since = cur, now
        elif cur and now - stable_since > 1.0 and now - start > min(1.5, wait):
            break
    return last


def _topic_type(node, topic: str, wait: float):
    found = {}

    def probe():
        for name, types in node.get_topic_names_and_types():
            if name == topic:
                found["t"] = types[0]
                return True
        return False

    if not probe():
        _spin_for(node, wait, probe)
    return found.get("t")


def _qos_for(node, topic: str):
    """Match the publishers: best effort if any is; latched (one sample kept per publisher) if
    all are; else reliable (also before any publisher is known)."""
    from edgebot_common import qos as Q

    return Q.matching_for_topic(node, topic, no_publisher=Q.RELIABLE, latched=Q.LATCHED_READER)


def _resolve_topic(topic: str) -> str:
    return topic if topic.startswith("/") else "/" + topic


def topic_main(argv) -> int:
    ap = argparse.ArgumentParser(prog="edgebot topic")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p_list = sub.add_parser("list", help="list topics")
    p_list.add_argument("-t", "--show-types", action="store_true")
    p_list.add_argument("--wait", type=float, default=3.0, help="longest discovery time [s]")
    p_echo = sub.add_parser("echo", help="print messages as YAML")
    p_echo.add_argument("topic")
    p_echo.add_argument("-n", "--count", type=int, default=0, help="exit after N messages")
    p_echo.add_argument("--wait", type=float, default=5.0, help="wait this long for the topic")
    p_echo.add_argument(
        "--timeout", type=float, default=0.0, help="give up after this long (0 = never)"
    )
    p_hz = sub.add_parser("hz", help="message rate and jitter")
    p_hz.add_argument("topic")
    p_hz.add_argument("-w", "--window", type=int, default=1000)
    p_hz.add_argument(
        "--duration", type=float, default=0.0, help="exit after this long (0 = Ctrl-C)"
    )
    p_hz.add_argument("--wait", type=float, default=5.0)
    ns = ap.parse_args(argv)
    node = _node()
    try:
        if ns.cmd == "list":
            topics = _settle(
                node,
                ns.wait,
                lambda: sorted((n, tuple(t)) for n, t in node.get_topic_names_and_types()),
            )
            for name, types in topics or []:
                print(f"{name} [{', '.join(types)}]" if ns.show_types else name)
            return 0
        topic = _resolve_topic(ns.topic)
        type_name = _topic_type(node, topic, ns.wait)
        if type_name is None:
            print(
                f"edgebot topic {ns.cmd}: topic {topic} not found (waited {ns.wait:g} s)",
                file=sys.stderr,
            )
            return 1
        if ns.cmd == "echo":
            return _echo(node, topic, type_name, ns)
        return _hz(node, topic, type_name, ns)
    except KeyboardInterrupt:
        return 0
    except Exception as e:  # ExternalShutdownException on SIGTERM
        if type(e).__name__ == "ExternalShutdownException":
            return 0
        raise
    finally:
        import rclpy

        node.destroy_node()
        rclpy.try_shutdown()


def _echo(node, topic, type_name, ns) -> int:
    from edgebot_common.msg_dict import get_message_class, to_yaml

    cls = get_message_class(type_name)
    count = {"n": 0}

    def cb(msg):
        count["n"] += 1
        sys.stdout.write(to_yaml(msg) + "---\n")
        sys.stdout.flush()

    node.create_subscription(cls, topic, cb, _qos_for(node, topic))
    start = time.monotonic()
    import rclpy

    while not ns.count or count["n"] < ns.count:
        rclpy.spin_once(node, timeout_sec=0.1)
        if ns.timeout and time.monotonic() - start > ns.timeout:
            print(
                f"edgebot topic echo: timeout after {ns.timeout:g} s ({count['n']} messages)",
                file=sys.stderr,
            )
            return 1
    return 0


def rate_stats(stamps) -> dict:
    """Rate and jitter of arrival times (seconds); ROS-free, used by ``hz`` and its tests."""
    if len(stamps) < 2:
        return {}
    d = [b - a for a, b in zip(stamps, list(stamps)[1:])]
    mean = sum(d) / len(d)
    return {
        "rate": 1.0 / mean if mean > 0 else math.inf,
        "min": min(d),
        "max": max(d),
        "std_dev": statistics.pstdev(d),
        "window": len(d) + 1,
    }


def _hz(node, topic, type_name, ns) -> int:
    import rclpy

    from edgebot_common.msg_dict import get_message_class

    cls = get_message_class(type_name)
    stamps = deque(maxlen=ns.window)
    node.create_subscription(
        cls, topic, lambda _raw: stamps.append(time.monotonic()), _qos_for(node, topic), raw=True
    )
    start = last_print = time.monotonic()
    while not ns.duration or time.monotonic() - start < ns.duration:
        rclpy.spin_once(node, timeout_sec=0.05)
        if time.monotonic() - last_print >= 1.0:
            last_print = time.monotonic()
            s = rate_stats(stamps)
            if s:
                print(
                    f"average rate: {s['rate']:.3f}\n\tmin: {s['min']:.4f}s max: {s['max']:.4f}s "
                    f"std dev: {s['std_dev']:.5f}s window: {s['window']}",
                    flush=True,
                )
            else:
                print("no new messages", flush=True)
    return 0


def node_main(argv) -> int:
    ap = argparse.ArgumentParser(prog="edgebot node")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p_list = sub.add_parser("list", help="list nodes")
    p_list.add_argument("--wait", type=float, default=3.0)
    ns = ap.parse_args(argv)
    node = _node()
    try:
        names = _settle(
            node,
            ns.wait,
            lambda: sorted(
                (n_ns.rstrip("/") + "/" + n)
                for n, n_ns in node.get_node_names_and_namespaces()
                if not n.startswith(_HIDDEN_PREFIX)
            ),
        )
        for n in names or []:
            print(n)
        return 0
    finally:
        import rclpy

        node.destroy_node()
        rclpy.try_shutdown()
