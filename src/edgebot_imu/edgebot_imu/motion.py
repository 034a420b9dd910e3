"""Motion sources for the virtual IMU (ROS-free).

A motion source answers ``state(t)`` with the true :class:`MotionState` of the sensor at time
``t`` (seconds since the source started): specific force and angular rate in the sensor frame,
and its orientation (sensor -> world, ENU). Two kinds:

- :class:`PushedMotion`: the simulator (or a test) pushes the current state with ``set``;
- :class:`Trajectory`: a scripted pose ``pose(t) -> (position, orientation)``; rates and
  specific force come from its derivatives (central differences), so any smooth pose
  function gives consistent IMU readings. Named ones: :data:`TRAJECTORIES`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

from . import quat as Q
from .sample import GRAVITY

Vec3 = tuple[float, float, float]


@dataclass
class MotionState:
    accel: Vec3  # specific force, m/s², sensor frame (+g on z at rest, level)
    gyro: Vec3  # rad/s, sensor frame
    orientation: Q.Quat  # sensor -> world


class PushedMotion:
    """Holds the last state given with :meth:`set`; integrates the rate into the orientation
    when no orientation is given (so the BNO055 model stays consistent)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._state = MotionState((0.0, 0.0, GRAVITY), (0.0, 0.0, 0.0), Q.IDENTITY)
        self._given_orientation = True
        self._t_last: float | None = None

    def set(self, accel, gyro, orientation=None) -> None:
        a = tuple(float(v) for v in accel)
        g = tuple(float(v) for v in gyro)
        if len(a) != 3 or len(g) != 3:
            raise ValueError("accel and gyro need three components")
        with self._lock:
            q = self._state.orientation
            if orientation is not None:
                q = Q.normalize(tuple(float(v) for v in orientation))
            self._given_orientation = orientation is not None
            self._state = MotionState(a, g, q)

    def state(self, t: float) -> MotionState:
        with self._lock:
            if not self._given_orientation and self._t_last is not None:
                dt = max(0.0, t - self._t_last)
                g = self._state.gyro
                q = Q.normalize(
                    Q.mul(self._state.orientation, Q.from_rotvec(g[0] * dt, g[1] * dt, g[2] * dt))
                )
                self._state = MotionState(self._state.accel, g, q)
            self._t_last = t
            return self._state


PoseFn = Callable[[float], tuple[Vec3, Q.Quat]]


class Trajectory:
    """A scripted motion from a pose function; derivatives by central differences."""

    H_ROT = 1e-4
    H_POS = 2e-3

    def __init__(self, pose: PoseFn, name: str = "custom"):
        self.pose = pose
        self.name = name

    def orientation(self, t: float) -> Q.Quat:
        return self.pose(t)[1]

    def state(self, t: float) -> MotionState:
        p0, q0 = self.pose(t)
        h = self.H_ROT
        q_next = self.pose(t + h)[1]
        q_prev = self.pose(t - h)[1]
        if sum(a * b for a, b in zip(q_next, q0)) < 0:
            q_next = tuple(-v for v in q_next)
        if sum(a * b for a, b in zip(q_prev, q0)) < 0:
            q_prev = tuple(-v for v in q_prev)
        # body rate: q(t+h) = q(t) ⊗ exp(ω h)  ->  ω ≈ rotvec(q* ⊗ q(t+h)) / h (central form)
        dq = Q.mul(Q.conj(q_prev), q_next)
        w = max(-1.0, min(1.0, dq[0]))
        ang = 2.0 * math.acos(w)
        s = math.sqrt(max(0.0, 1.0 - w * w))
        k = (ang / s) if s > 1e-12 else 2.0
        gyro = (dq[1] * k / (2 * h), dq[2] * k / (2 * h), dq[3] * k / (2 * h))
        hp = self.H_POS
        pa = self.pose(t + hp)[0]
        pb = self.pose(t - hp)[0]
        acc_w = tuple((pa[i] - 2 * p0[i] + pb[i]) / (hp * hp) for i in range(3))
        f_world = (acc_w[0], acc_w[1], acc_w[2] + GRAVITY)
        return MotionState(Q.rotate_inv(q0, f_world), gyro, q0)


def _smoothstep(x: float) -> float:
    """0 for x<=0, 1 for x>=1, C² smooth in between (quintic)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    return x * x * x * (x * (6 * x - 15) + 10)


def _warp(t: float, lead_in: float, ramp: float = 2.0) -> float:
    """Time of the motion: stands still for ``lead_in`` s, then speeds up smoothly over
    ``ramp`` s to real time (so trajectories start at rest and the start calibration works)."""
    if t <= lead_in:
        return 0.0
    u = t - lead_in
    if u >= ramp:
        return u - ramp / 2.0
    # integral of smoothstep(u/ramp) du ; smoothstep integral has closed form
    x = u / ramp
    return ramp * (x**6 - 3 * x**5 + 2.5 * x**4)


def static(roll_deg: float = 0.0, pitch_deg: float = 0.0, yaw_deg: float = 0.0, **_) -> Trajectory:
    q = Q.from_euler(math.radians(roll_deg), math.radians(pitch_deg), math.radians(yaw_deg))
    return Trajectory(lambda t: ((0.0, 0.0, 0.0), q), "static")


def rotate(
    rate_dps: float = 45.0, wobble_deg: float = 15.0, lead_in: float = 3.0, **_
) -> Trajectory:
    """Spins about z at ``rate_dps`` while rolling and pitching by ``wobble_deg``."""
    w = math.radians(rate_dps)
    a = math.radians(wobble_deg)

    def pose(t):
        s = _warp(t, lead_in)
        return (0.0, 0.0, 0.0), Q.from_euler(
            a * math.sin(0.7 * s), 0.8 * a * math.sin(0.45 * s), w * s
        )

    return Trajectory(pose, "rotate")


def figure_eight(
    size_m: float = 1.0, period_s: float = 20.0, lead_in: float = 3.0, **_
) -> Trajectory:
    """A ground robot driving a figure eight (heading along the path, level)."""
    om = 2 * math.pi / period_s

    def pose(t):
        s = _warp(t, lead_in)
        x = size_m * math.sin(om * s)
        y = 0.5 * size_m * math.sin(2 * om * s)
        # heading from the path's velocity direction (dx/ds, dy/ds never both zero here)
        dx = size_m * om * math.cos(om * s)
        dy = size_m * om * math.cos(2 * om * s)
        return (x, y, 0.0), Q.from_euler(0.0, 0.0, math.atan2(dy, dx))

    return Trajectory(pose, "figure-eight")


def stop_and_go(
    step_deg: float = 90.0, still_s: float = 8.0, turn_s: float = 6.0, lead_in: float = 3.0, **_
) -> Trajectory:
    """Turns on the spot by ``step_deg`` (with a little rocking), stops, turns again...
    A robot's day: the still phases let the bias estimator follow the drifting gyro bias."""
    period = still_s + turn_s
    step = math.radians(step_deg)
    rock = math.radians(3.0)

    def pose(t):
        u = max(0.0, t - lead_in)
        k, r = divmod(u, period)
        frac = _smoothstep((r - still_s) / turn_s) if r > still_s else 0.0
        bump = math.sin(math.pi * frac) ** 2
        return (0.0, 0.0, 0.0), Q.from_euler(rock * bump, -rock * bump, step * (k + frac))

    return Trajectory(pose, "stop-and-go")


TRAJECTORIES: dict[str, Callable[..., Trajectory]] = {
    "static": static,
    "rotate": rotate,
    "figure-eight": figure_eight,
    "stop-and-go": stop_and_go,
}


def make_trajectory(name: str, **kw) -> Trajectory:
    try:
        return TRAJECTORIES[name](**kw)
    except KeyError:
        raise ValueError(f"unknown trajectory {name!r}; known: {sorted(TRAJECTORIES)}") from None
