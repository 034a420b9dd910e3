"""The simulator's physics supervisor, ROS-free: steps the world at a fixed rate, paced against
an injected wall clock, feeds the virtual devices, holds time at 0 behind the start gate,
takes wheel commands and episode resets, and keeps the figures of ``sim/status``.

:class:`SimRunner` runs in one thread (PyBullet is not thread-safe); other threads only call
:meth:`SimRunner.set_wheel_target`, :meth:`SimRunner.request_reset`, :meth:`SimRunner.status`
and :meth:`SimRunner.stop`. What it produces goes out through :class:`Outputs` callbacks (the
node turns them into messages); the unit tests drive it with a fake clock.

A fleet: ``devices`` is a list with one :class:`DeviceSet` per rover; the world holds that many
rovers (one physics, one clock) and every per-rover call and output carries the rover's index.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .world import WHEEL_JOINTS, SimWorld, rot


def parse_wheel_cmd(names: Sequence[str], velocities: Sequence[float]) -> tuple[float, float]:
    """(left, right) rad/s of a wheel_cmd JointState; ``ValueError`` with the reason if bad."""
    if len(velocities) != len(names):
        raise ValueError("name and velocity lengths differ")
    vel = dict(zip(names, velocities))
    try:
        left, right = vel[WHEEL_JOINTS[0]], vel[WHEEL_JOINTS[1]]
    except KeyError as e:
        raise ValueError(f"no velocity for {e.args[0]}") from None
    if not (math.isfinite(left) and math.isfinite(right)):
        raise ValueError("non-finite velocity")
    return float(left), float(right)


def every(physics_rate: float, rate: float) -> int:
    """Physics steps between two events at ``rate`` (at least 1)."""
    return max(1, int(round(physics_rate / rate)))


@dataclass
class State:
    """What the node publishes at ``state_rate``: base_link in the map frame (ground truth)."""

    time: float  # simulated time since the node started [s]
    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float]  # (x, y, z, w)
    linear: tuple[float, float, float]  # in base_link (REP 105)
    angular: tuple[float, float, float]
    wheel_position: list[float]
    wheel_velocity: list[float]
    rover: int = 0  # index in the fleet (0: the first or only rover)


@dataclass
class RoverRun:
    """The runner's per-rover bookkeeping."""

    devices: object
    wheel_target: tuple = (0.0, 0.0)
    wheel_cmd_time: float = -math.inf
    frames: int = 0
    min_clearance: float = math.inf
    reached_at: float | None = None
    contact: bool = False
    cached: tuple = ((0.0, 0.0, 0.0), math.inf, 0.0)


class Outputs:
    """Callbacks of the runner (the node overrides them); the defaults drop everything."""

    def clock(self, t: float) -> None:
        """Simulated time went on to ``t``."""

    def state(self, s: State) -> None:
        """A ground-truth sample at ``state_rate``."""

    def status(self) -> None:
        """Episode or start-gate status changed: publish it now."""

    def log(self, level: str, text: str) -> None:
        """level: info | warn | error."""

    def missing(self) -> list[str]:
        """What else (outside the devices) the start gate waits for, e.g. topic peers."""
        return []


class SimRunner:
    """Physics loop of one scenario; ``p`` holds sim_node's parameter values (plain dict)."""

    def __init__(
        self,
        p: dict,
        base_scenario,
        devices,
        outputs: Outputs = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.p = p
        self.base_scenario = base_scenario
        self.scenario = base_scenario.resolved(p["seed"])
        fleet = devices if isinstance(devices, list) else [devices]
        self.devices = fleet[0]
        self.rovers = [RoverRun(d) for d in fleet]
        self.out = outputs or Outputs()
        self.clock, self.sleep = clock, sleep
        self.world = SimWorld(
            self.scenario,
            dt=1.0 / p["physics_rate"],
            camera_size=(p["camera.width"], p["camera.height"]),
            camera_hfov_deg=p["camera.hfov_deg"],
            wheel_max_torque=p["wheel_max_torque"],
            rovers=len(self.rovers),
        )
        self._lock = threading.Lock()
        self._reset_seed: int | None = None
        self._reset_done = threading.Event()
        self._stop = threading.Event()
        self.rtf = 0.0
        self.time_offset = 0.0
        self.episode = 0
        self.holding: list | None = None
        self.error: str | None = None
        for i in range(len(self.rovers)):
            self._cache(i)

    # the first rover's figures (a one-rover run: the run's)
    frames = property(lambda self: self.rovers[0].frames)
    reached_at = property(lambda self: self.rovers[0].reached_at)
    min_clearance = property(lambda self: self.rovers[0].min_clearance)
    contact = property(lambda self: self.rovers[0].contact)

    # -- called from other threads --------------------------------------------------------------
    def set_wheel_target(self, left: float, right: float, i: int = 0) -> None:
        with self._lock:
            self.rovers[i].wheel_target = (float(left), float(right))
            self.rovers[i].wheel_cmd_time = self.sim_time()

    def request_reset(self, seed: int, timeout: float = 30.0) -> bool:
        """New episode with ``seed`` at the next step; False if the loop did not take it."""
        self._reset_done.clear()
        self._reset_seed = int(seed)
        return self._reset_done.wait(timeout)

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def sim_time(self) -> float:
        """Simulated time since the node started (monotonic across episodes)."""
        return self.time_offset + self.world.time

    # -- the physics thread ---------------------------------------------------------------------
    def run(self, max_steps: int | None = None) -> None:
        """The loop (until :meth:`stop`, or ``max_steps`` physics steps for tests)."""
        p = self.p
        if p["start.wait"]:
            self.hold()
        rate = p["physics_rate"]
        n_clock, n_state = every(rate, p["clock_rate"]), every(rate, p["state_rate"])
        n_imu, n_sonar = every(rate, p["imu.rate"]), every(rate, p["arduino.sonar_rate"])
        n_cam = every(rate, p["camera.rate"])
        # rovers render in turn, spread over the frame period (one render per step at most)
        cam_phase = [(i * n_cam) // len(self.rovers) for i in range(len(self.rovers))]
        speed = p["speed"]
        wall0, sim0 = self.clock(), self.sim_time()
        rtf_wall, rtf_sim = wall0, sim0
        steps = 0
        while not self._stop.is_set() and (max_steps is None or steps < max_steps):
            if self._reset_seed is not None:
                self._reset()
            w = self.world
            if speed > 0:
                due = sim0 + (self.clock() - wall0) * speed
                ahead = self.sim_time() - due
                if ahead > 0:
                    self.sleep(min(ahead / speed, 0.02))
                    continue
                if -ahead > 0.5:  # fell behind by more than 0.5 s: do not burst
                    wall0, sim0 = self.clock(), self.sim_time()
            for i in range(len(self.rovers)):
                self._apply_drive(i)
            w.step()
            steps += 1
            k = w.steps
            for i, r in enumerate(self.rovers):
                dev = r.devices
                if k % n_imu == 0 and dev.imu is not None:
                    dev.imu.update(*w.imu(i))
                if k % n_sonar == 0 and dev.arduino is not None:
                    dev.arduino.set_sonar(w.sonar_range(i))
                if (k - cam_phase[i]) % n_cam == 0 and dev.mjpeg is not None:
                    self.render(i)
                if k % n_state == 0:
                    self._state(i)
            if k % n_clock == 0:
                self.out.clock(self.sim_time())
            now = self.clock()
            if now - rtf_wall >= 1.0:
                self.rtf = (self.sim_time() - rtf_sim) / (now - rtf_wall)
                rtf_wall, rtf_sim = now, self.sim_time()

    def missing(self) -> list[str]:
        """What the start gate still waits for (empty: ready)."""
        out = []
        for i, r in enumerate(self.rovers):
            who = f"rover {i + 1}: " if len(self.rovers) > 1 else ""
            out += [who + m for m in r.devices.missing()]
        return out + list(self.out.missing())

    def hold(self) -> None:
        """Time stays at 0 while the drivers connect: devices answer, the camera streams."""
        p, w = self.p, self.world
        t0 = self.clock()
        ready_since = None
        last_frame = -math.inf
        self.holding = self.missing()
        while not self._stop.is_set():
            now = self.clock()
            missing = self.missing()
            self.holding = missing
            if not missing:
                ready_since = now if ready_since is None else ready_since
                if now - ready_since >= p["start.settle_period"]:
                    break
            else:
                ready_since = None
            if now - t0 > p["start.timeout"]:
                self.out.log("warn", f"start gate timed out; still missing: {missing}")
                break
            frame = now - last_frame > 0.2 * len(self.rovers)
            for i, r in enumerate(self.rovers):
                dev = r.devices
                if dev.imu is not None:
                    dev.imu.update(*w.imu(i))
                if dev.arduino is not None:
                    dev.arduino.set_sonar(w.sonar_range(i))
                if dev.mjpeg is not None and frame:
                    self.render(i)
                    last_frame = now
            self.out.clock(self.sim_time())
            self.sleep(0.05)
        self.holding = None
        self.out.log("info", f"simulated time starts (held {self.clock() - t0:.1f} s)")

    def _apply_drive(self, i: int = 0) -> None:
        r = self.rovers[i]
        if self.p["drive"] == "firmata":
            left, right = r.devices.arduino.wheel_velocities()
        else:
            with self._lock:
                left, right = r.wheel_target
                if self.sim_time() - r.wheel_cmd_time > self.p["wheel_cmd_timeout"]:
                    left = right = 0.0
        if [left, right] != self.world.wheel_cmd(i):
            self.world.set_wheel_velocity(left, right, i)

    def render(self, i: int = 0) -> None:
        import cv2

        rgb = self.world.render(i)
        ok, jpg = cv2.imencode(
            ".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, self.p["camera.jpeg_quality"]]
        )
        if ok:
            self.rovers[i].devices.mjpeg.publish(jpg.tobytes())
            self.rovers[i].frames += 1

    def _reset(self) -> None:
        seed, self._reset_seed = self._reset_seed, None
        old = self.world
        self.scenario = self.base_scenario.resolved(seed)
        self.time_offset += old.time
        self.world = SimWorld(
            self.scenario,
            dt=old.dt,
            camera_size=old.camera_size,
            camera_hfov_deg=old.camera_hfov_deg,
            wheel_max_torque=old.wheel_max_torque,
            rovers=len(self.rovers),
        )
        old.close()
        self.episode += 1
        for i, r in enumerate(self.rovers):
            r.reached_at, r.min_clearance = None, math.inf
            self._cache(i)
        s = self.scenario
        self.out.log(
            "info",
            f"episode {self.episode}: seed {seed}, start ({s.start.x:.2f}, "
            f"{s.start.y:.2f}), target ({s.target.x:.2f}, {s.target.y:.2f})",
        )
        self.out.status()
        self._reset_done.set()

    def _state(self, i: int = 0) -> None:
        w, r = self.world, self.rovers[i]
        (pos, orn), (lin, ang) = w.base_pose(i), w.base_twist(i)
        R = rot(orn)  # twist in the child frame (REP 105)
        vb, wb = R.T @ np.asarray(lin), R.T @ np.asarray(ang)
        wpos, wvel = w.wheel_states(i)
        feed = getattr(r.devices.arduino, "set_wheel_speeds", None)
        if feed is not None:  # encoders on the emulated board's pins
            feed(dict(zip(WHEEL_JOINTS, wvel)))
        self.out.state(
            State(
                self.sim_time(),
                tuple(pos),
                tuple(orn),
                tuple(float(v) for v in vb),
                tuple(float(v) for v in wb),
                wpos,
                wvel,
                i,
            )
        )
        if r.reached_at is None and w.reached(i):
            r.reached_at = w.time
            who = f"rover {i + 1}: " if len(self.rovers) > 1 else ""
            self.out.log("info", f"{who}target reached {w.time:.2f} s into episode {self.episode}")
        if self.scenario.obstacles or self.scenario.floor.wall_height > 0 or len(self.rovers) > 1:
            r.min_clearance = min(r.min_clearance, w.obstacle_clearance(0.5, i))
        contact = w.in_contact(i)
        if r.devices.arduino is not None and contact != r.contact:
            r.devices.arduino.set_bumper(contact)
        r.contact = contact
        self._cache(i)

    # -- status ---------------------------------------------------------------------------------
    def _cache(self, i: int = 0) -> None:
        """Readings for status() taken in the physics thread (PyBullet is not thread-safe)."""
        w = self.world
        self.rovers[i].cached = (w.pose2d(i), w.target_distance(i), w.time)

    def status(self, i: int = 0) -> dict:
        """Rover ``i``'s status (``robot``: its number 1..N of ``robots``)."""
        r = self.rovers[i]
        s = self.scenario.for_rover(i + 1, len(self.rovers))
        (x, y, yaw), tdist, ep_time = r.cached
        return {
            "scenario": s.name,
            "seed": s.seed,
            "time_limit": s.time_limit,
            "sim_time": round(self.time_offset + ep_time, 4),
            "rtf": round(self.rtf, 3),
            "episode": self.episode,
            "episode_start": round(self.time_offset, 4),
            "episode_time": round(ep_time, 4),
            "pose": [round(x, 4), round(y, 4), round(yaw, 4)],
            "target": {
                "class": s.target.cls,
                "x": s.target.x,
                "y": s.target.y,
                "reach_distance": s.target.reach_distance,
            },
            "target_distance": round(tdist, 4),
            "reached": r.reached_at is not None,
            "reached_at": r.reached_at,
            "min_obstacle_clearance": (
                None if math.isinf(r.min_clearance) else round(r.min_clearance, 4)
            ),
            "contact": r.contact,
            "camera_frames": r.frames,
            "endpoints": r.devices.endpoints,
            "robot": i + 1,
            "robots": len(self.rovers),
            "holding": self.holding,
            "error": self.error,
        }

    def diag_values(self) -> dict:
        vals = {
            "sim_time": self.time_offset + self.rovers[0].cached[2],
            "episode": self.episode,
            "real_time_factor": self.rtf,
        }
        for i, r in enumerate(self.rovers):
            pre = f"rover{i + 1}_" if len(self.rovers) > 1 else ""
            dev = r.devices
            vals[pre + "camera_frames"] = r.frames
            vals[pre + "camera_clients"] = dev.mjpeg.clients if dev.mjpeg else 0
            if dev.arduino is not None:
                vals.update({pre + k: v for k, v in dev.arduino.stats().items()})
        return vals

    def close(self) -> None:
        self.world.close()
