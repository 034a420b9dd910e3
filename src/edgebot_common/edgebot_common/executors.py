"""rclpy's MultiThreadedExecutor without its busy loops.

Between handing a ready subscription's callback to its thread pool and a pool thread starting
it, rclpy 9.x (Kilted, here) spins without waiting, holding the GIL that the pool thread needs
to start the callback. Two causes, both found here:

1. It finds the handed-over task "not executing, not done" on its next turn and hands it over
   again without waiting (ros2/rclpy#1452, fixed upstream by #1547 in rolling's rclpy 10.0.4).
2. While the task waits, the subscription is left out of the wait set but its QoS event
   handlers (the default ones every subscription gets) are not; with Fast DDS they share the
   reader's listener, and the unread message wakes ``rcl_wait`` at once with nothing ready for
   rclpy: thousands of empty waits until the callback has taken the message.

Measured with yolo_node hosted in the process that publishes its frames: a frame waited 20-44 ms
for a pool thread (0.4-1.4 ms in a process of its own), and a callback held up behind two busy
pool threads cost 0.5-0.9 s of CPU per second it waited (``benchmarks/bench_yolo_hosted.py``,
``tests/edgebot_common/test_executors.py``).

This subclass marks a task as taken while it waits in the pool's queue (not handed over again)
and keeps its entity's event handlers out of the wait set until a pool thread starts it; the
spinning thread then sleeps in ``rcl_wait`` until there is new work. Used by node_main's and the
container's ``multi`` executors. A task that awaits something (an ``async`` callback) is resumed
as before: it counts as queued only between its hand-over and its start.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from rclpy.executors import MultiThreadedExecutor as _RclpyMultiThreadedExecutor
from rclpy.task import Task


class _Pool(ThreadPoolExecutor):
    """The executor's thread pool: a task is marked queued from its hand-over to its start, and
    the event handlers held for it (``_edgebot_held``) return to the wait set at its start."""

    handed_over = 0  # tasks handed to the pool (a test counts them; only the spin thread adds)

    def submit(self, fn, /, *args, **kwargs):
        if not isinstance(fn, Task):
            return super().submit(fn, *args, **kwargs)
        task = fn
        if "executing" not in task.__dict__:  # once per task: "taken" while queued, too
            task.executing = lambda: task._edgebot_queued or Task.executing(task)
        task._edgebot_queued = True
        self.handed_over += 1

        def start():
            task._edgebot_queued = False
            for e in task.__dict__.pop("_edgebot_held", ()):
                e._executor_event = False
            task()

        return super().submit(start)


class MultiThreadedExecutor(_RclpyMultiThreadedExecutor):
    """``rclpy.executors.MultiThreadedExecutor`` whose spinning thread does not hand a queued
    task over again (see the module doc). Same arguments."""

    def __init__(self, num_threads: int | None = None, *, context=None):
        super().__init__(num_threads, context=context)
        n = self._executor._max_workers  # rclpy resolved None to the CPUs it may use
        self._executor.shutdown(wait=False)  # no thread started yet: they start on submit
        self._executor = _Pool(n)

    def _make_handler(self, entity, node, take_from_wait_list):
        task = super()._make_handler(entity, node, take_from_wait_list)
        # cause 2: the entity's event handlers stay out of the wait set until the task starts
        events = [e for e in getattr(entity, "event_handlers", ()) if not e._executor_event]
        for e in events:
            e._executor_event = True
        task._edgebot_held = events
        return task

    @property
    def handed_over(self) -> int:
        """Tasks handed to the thread pool so far."""
        return self._executor.handed_over
