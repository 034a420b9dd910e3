"""edgebot_common.executors.MultiThreadedExecutor: a callback waiting for a free pool thread is
handed over once and the spinning thread sleeps meanwhile (rclpy 9.x's own executor hands the
queued task over again and again, burning a core: ros2/rclpy#1452), callbacks still run, and an
``async`` callback that awaits is resumed."""

import threading
import time

import pytest
import rclpy
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.task import Future
from std_msgs.msg import Empty

from edgebot_common.executors import MultiThreadedExecutor
from edgebot_testing import wait_for


@pytest.fixture
def ctx():
    c = rclpy.Context()
    rclpy.init(context=c)
    yield c
    rclpy.shutdown(context=c)


def spun(ctx, node):
    ex = MultiThreadedExecutor(num_threads=2, context=ctx)
    ex.add_node(node)
    t = threading.Thread(target=ex.spin, daemon=True)
    t.start()
    return ex, t


def test_a_callback_waiting_for_a_busy_pool_is_handed_over_once_and_costs_no_cpu(ctx):
    node = rclpy.create_node("exec_test", context=ctx)
    started, ran = [], []

    def slow(name):
        def cb(_msg):
            started.append(name)
            time.sleep(0.6)  # both pool threads busy, the GIL free

        return cb

    subs = {}
    for name in ("a", "b", "c"):
        cb = slow(name) if name != "c" else (lambda _m: ran.append(time.monotonic()))
        group = MutuallyExclusiveCallbackGroup()
        subs[name] = node.create_subscription(Empty, name, cb, 10, callback_group=group)
    pubs = {name: node.create_publisher(Empty, name, 10) for name in subs}
    ex, t = spun(ctx, node)
    try:
        wait_for(lambda: all(p.get_subscription_count() for p in pubs.values()))
        n0 = ex.handed_over
        pubs["a"].publish(Empty())
        pubs["b"].publish(Empty())
        wait_for(lambda: len(started) == 2, interval=0.005)
        cpu0, t0 = time.process_time(), time.monotonic()
        pubs["c"].publish(Empty())  # ready now; no pool thread free for ~0.6 s
        time.sleep(0.4)
        cpu = time.process_time() - cpu0  # every thread of this process
        wait_for(lambda: ran)
        assert ran[0] - t0 >= 0.3  # c waited for a pool thread ...
        assert cpu < 0.15, f"{cpu:.2f} s of CPU while c waited in the pool's queue"
        assert ex.handed_over - n0 == 3  # ... handed over once (rclpy 9.x: thousands of times)
    finally:
        ex.shutdown()
        t.join(5)


def test_an_async_callback_that_awaits_is_resumed(ctx):
    node = rclpy.create_node("exec_async", context=ctx)
    fut, done = Future(), []

    async def waits(_msg):
        done.append(await fut)

    node.create_subscription(Empty, "go", waits, 10)
    # the timer in a group of its own: the awaiting callback keeps the default group busy
    node.create_timer(
        0.2,
        lambda: fut.done() or fut.set_result("set by the timer"),
        callback_group=MutuallyExclusiveCallbackGroup(),
    )
    pub = node.create_publisher(Empty, "go", 10)
    ex, t = spun(ctx, node)
    try:
        wait_for(lambda: pub.get_subscription_count())
        pub.publish(Empty())
        wait_for(lambda: done, 5)
        assert done == ["set by the timer"]
    finally:
        ex.shutdown()
        t.join(5)
