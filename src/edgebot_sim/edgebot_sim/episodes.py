"""Seeded episodes against a running sim_node (tests, benchmarks): set the ``seed`` parameter,
call ``sim/reset``, follow ``sim/status`` until the target is reached or the scenario's time
limit passes (simulated time). Needs rclpy; takes a node that something else spins."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from std_msgs.msg import String
from std_srvs.srv import Trigger

from edgebot_common import qos


class EpisodeRunner:
    def __init__(self, node, sim_name: str = "sim_node"):
        self.node = node
        self._lock = threading.Lock()
        self.status: dict = {}
        self._cond = threading.Condition(self._lock)
        node.create_subscription(String, "sim/status", self._on_status, qos.LATCHED)
        self._set = node.create_client(SetParameters, f"/{sim_name}/set_parameters")
        self._reset = node.create_client(Trigger, "sim/reset")

    def _on_status(self, msg):
        with self._cond:
            self.status = json.loads(msg.data)
            self._cond.notify_all()

    def _call(self, client, req, timeout):
        if not client.wait_for_service(timeout_sec=timeout):
            raise TimeoutError(f"service {client.srv_name} not available")
        fut = client.call_async(req)
        t_end = time.monotonic() + timeout
        while not fut.done():
            if time.monotonic() > t_end:
                raise TimeoutError(f"no response from {client.srv_name}")
            time.sleep(0.02)
        return fut.result()

    def wait_status(self, pred: Callable[[dict], bool], timeout: float, what: str) -> dict:
        t_end = time.monotonic() + timeout
        with self._cond:
            while not (self.status and pred(self.status)):
                left = t_end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"timed out after {timeout:g} s waiting for {what}; "
                        f"last status {self.status}"
                    )
                self._cond.wait(min(left, 0.5))
            return dict(self.status)

    def reset(self, seed: int, timeout: float = 60.0) -> dict:
        req = SetParameters.Request(
            parameters=[
                Parameter(
                    name="seed",
                    value=ParameterValue(
                        type=ParameterType.PARAMETER_INTEGER, integer_value=int(seed)
                    ),
                )
            ]
        )
        res = self._call(self._set, req, timeout)
        if not res.results[0].successful:
            raise RuntimeError(f"setting seed {seed}: {res.results[0].reason}")
        res = self._call(self._reset, Trigger.Request(), timeout)
        if not res.success:
            raise RuntimeError(f"sim/reset: {res.message}")
        return json.loads(res.message)

    def run(
        self, seed: int | None, wall_timeout: float, alive: Callable[[], bool] = lambda: True
    ) -> dict:
        """One episode (``seed`` None: the one already running). Returns its outcome."""
        if seed is not None:
            ep = self.reset(seed)["episode"]
        else:
            ep = self.wait_status(
                lambda s: s.get("holding") is None, wall_timeout, "the simulator to start"
            )["episode"]
        t0 = time.monotonic()
        while True:
            st = self.wait_status(lambda s: s["episode"] == ep, wall_timeout, f"episode {ep}")
            limit = st["time_limit"]
            if st["reached"] or st["episode_time"] > limit:
                break
            if time.monotonic() - t0 > wall_timeout:
                break
            if not alive():
                raise RuntimeError("the stack died during the episode")
            time.sleep(0.2)
        return {
            "seed": st["seed"],
            "episode": ep,
            "reached": bool(st["reached"]),
            "time_to_reach_s": st["reached_at"],
            "within_limit": bool(st["reached"] and st["reached_at"] <= limit),
            "distance_left_m": st["target_distance"],
            "episode_time_s": st["episode_time"],
            "wall_s": round(time.monotonic() - t0, 2),
            "rtf": st["rtf"],
        }


def run_seeds(
    runner: EpisodeRunner,
    seeds: list[int],
    wall_timeout: float,
    alive: Callable[[], bool] = lambda: True,
    log=print,
) -> list[dict]:
    out = []
    for i, seed in enumerate(seeds):
        r = runner.run(None if i == 0 else seed, wall_timeout, alive)
        outcome = f"reached in {r['time_to_reach_s']:.1f} s" if r['reached'] else "NOT reached"
        log(
            f"seed {r['seed']}: {outcome}"
            f" (distance left {r['distance_left_m']:.2f} m, {r['wall_s']:.0f} s wall)"
        )
        out.append(r)
    return out
