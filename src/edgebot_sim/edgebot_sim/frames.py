"""map -> odom from ground truth and odometry, as REP 105 defines it. ROS-free.

The simulator knows where base_link really is in ``map`` (ground truth); the odometry
(base_controller) says where it thinks base_link is in ``odom``. The transform between the
two frames is what makes both true at once:

    T_map_odom = T_map_base(truth at the odometry's stamp) * inverse(T_odom_base(odometry))

so map -> odom -> base_link lands on the true pose, and the drift of the odometry shows as a
slowly changing map -> odom. Until odometry arrives, odom is taken to start where the rover
starts (map -> odom = the first ground-truth pose). An episode reset moves the rover but not
the odometry (simulated time goes on): map -> odom jumps, as it does when a localiser corrects.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from edgebot_common import transforms as T

Pose = tuple[tuple[float, float, float], tuple[float, float, float, float]]  # xyz, xyzw


def compose(a: Pose, b: Pose) -> Pose:
    """a * b: b's pose expressed in a's parent frame."""
    r = T.rotate(a[1], b[0])
    return ((a[0][0] + r[0], a[0][1] + r[1], a[0][2] + r[2]), T.normalize(T.multiply(a[1], b[1])))


def inverse(a: Pose) -> Pose:
    q = T.conjugate(a[1])
    r = T.rotate(q, a[0])
    return (-r[0], -r[1], -r[2]), q


def valid(position: Sequence[float], orientation: Sequence[float]) -> bool:
    vals = list(position) + list(orientation)
    return all(math.isfinite(v) for v in vals) and sum(q * q for q in orientation) > 1e-12


def _pose(position, orientation) -> Pose:
    return tuple(float(v) for v in position), T.normalize(tuple(float(q) for q in orientation))


class MapOdom:
    """Keeps a short history of ground truth; gives map -> odom for the latest odometry."""

    def __init__(self, history_s: float = 2.0):
        self.history_s = history_s
        self._t: list[float] = []
        self._poses: list[Pose] = []
        self._odom: tuple[float, Pose] | None = None
        self.first: Pose | None = None

    def truth(self, t: float, position, orientation) -> None:
        """Ground truth of base_link in map at simulated time ``t`` (increasing)."""
        p = _pose(position, orientation)
        if self.first is None:
            self.first = p
        self._t.append(t)
        self._poses.append(p)
        while self._t and self._t[0] < t - self.history_s:
            self._t.pop(0)
            self._poses.pop(0)

    def odometry(self, t: float, position, orientation) -> bool:
        """base_link in odom at time ``t``; False (ignored) for a non-finite pose."""
        if not valid(position, orientation):
            return False
        self._odom = (t, _pose(position, orientation))
        return True

    def _truth_at(self, t: float) -> Pose | None:
        if not self._t:
            return None
        i = bisect.bisect_left(self._t, t)
        if i == len(self._t):
            return self._poses[-1]
        if i > 0 and t - self._t[i - 1] < self._t[i] - t:
            return self._poses[i - 1]
        return self._poses[i]

    def transform(self) -> Pose | None:
        """map -> odom, or None before any ground truth."""
        if self._odom is None:
            return self.first
        t, odom_base = self._odom
        map_base = self._truth_at(t)
        if map_base is None:
            return None
        return compose(map_base, inverse(odom_base))
