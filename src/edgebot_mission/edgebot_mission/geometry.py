"""Where a detected object is (ROS-free): bearing from the box's pixel column and the camera's
intrinsics (CameraInfo), range from the box height and the class's real height (pinhole), or
from the sonar when the object is straight ahead and the two agree; then into the odometry
frame with the robot's pose (REP 103: x forward, y left, yaw counter-clockwise).

    cam = Camera.from_info(width=320, fx=277.1, cx=160.0)        # or Camera.from_hfov(320, 60)
    obs = observe(cam, Pose(x, y, yaw), "ball", u=200.0, box_h=40.0, sonar=None)
    obs.x, obs.y, obs.range, obs.bearing, obs.source
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edgebot_common import objects

#: camera_link and sonar_link ahead of base_link (urdf/edgebot_rover.urdf)
CAMERA_X = 0.11
SONAR_X = 0.125


def wrap(a: float) -> float:
    """An angle in (-pi, pi]."""
    return math.atan2(math.sin(a), math.cos(a))


@dataclass(frozen=True)
class Pose:
    x: float
    y: float
    yaw: float

    def forward(self, d: float) -> tuple[float, float]:
        return self.x + d * math.cos(self.yaw), self.y + d * math.sin(self.yaw)


@dataclass(frozen=True)
class Camera:
    width: float
    fx: float  # px
    cx: float  # px, principal point

    @staticmethod
    def from_info(width: float, fx: float, cx: float) -> Camera:
        if not (width > 0 and math.isfinite(fx) and fx > 0 and math.isfinite(cx)):
            raise ValueError(f"camera_info width={width} fx={fx} cx={cx}: not a camera")
        return Camera(float(width), float(fx), float(cx))

    @staticmethod
    def from_hfov(width: float, hfov_deg: float) -> Camera:
        fx = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return Camera(float(width), fx, width / 2.0)

    def scaled(self, width: float) -> Camera:
        """The same camera for detections in an image of another width."""
        if width == self.width or width <= 0:
            return self
        k = width / self.width
        return Camera(float(width), self.fx * k, self.cx * k)

    def bearing(self, u: float) -> float:
        """Angle of pixel column ``u`` from the optical axis, positive to the left [rad]."""
        return math.atan2(self.cx - u, self.fx)


real_height = objects.height


def footprint(cls: str) -> float:
    """Radius of the object's footprint [m]."""
    c = objects.by_name(cls)
    if c.shape in ("sphere", "cone", "cylinder"):
        return c.size[0]
    return 0.5 * min(c.size[0], c.size[1])


def centre_offset(cls: str, source: str) -> float:
    """From the measured range to the object's centre [m]. The sonar measures to the near
    surface. The camera's box height measures the apparent height: for a sphere that is its
    diameter at the centre's distance; a cone's is its height at its base's (near) rim, which
    the pinhole range already places about a radius farther (measured in the simulated
    world: +0.09 m for the 0.12 m cone); a box's front face is its near surface."""
    if source == "sonar":
        return footprint(cls)
    shape = objects.by_name(cls).shape
    return 0.0 if shape in ("sphere", "cone") else footprint(cls)


@dataclass(frozen=True)
class Observation:
    cls: str
    x: float  # object centre, odometry frame
    y: float
    range: float  # camera (or sonar) to the object's near surface [m]
    bearing: float  # rad, positive left
    source: str  # "camera" | "sonar"
    track_id: int = -1
    score: float = 1.0


def camera_range(cam: Camera, cls: str, box_h: float, bearing: float) -> float:
    """Distance from the camera to the object's near surface along the ray (pinhole: the
    optical-axis depth f * H / h, over cos(bearing))."""
    depth = cam.fx * real_height(cls) / box_h
    return depth / max(0.2, math.cos(bearing))


def observe(
    cam: Camera,
    pose: Pose,
    cls: str,
    u: float,
    box_h: float,
    sonar: float | None = None,
    sonar_cone: float = math.radians(8.0),
    sonar_agree: float = 0.35,
    track_id: int = -1,
    score: float = 1.0,
) -> Observation:
    """One detection -> where the object is. ``sonar`` (m, or None) is used as the range when
    the object is within ``sonar_cone`` of straight ahead and the camera's range agrees within
    ``sonar_agree`` (relative): then the sonar is measuring this object, not something else."""
    if not (box_h > 0 and math.isfinite(box_h) and math.isfinite(u)):
        raise ValueError(f"box height {box_h} / column {u}: not a detection")
    b = cam.bearing(u)
    r_cam = camera_range(cam, cls, box_h, b)
    rng, src, origin = r_cam, "camera", CAMERA_X
    if (
        sonar is not None
        and math.isfinite(sonar)
        and abs(b) <= sonar_cone
        and abs(sonar - r_cam) <= sonar_agree * r_cam
    ):
        rng, src, origin = sonar, "sonar", SONAR_X
    centre = rng + centre_offset(cls, src)
    ox, oy = pose.forward(origin)
    a = pose.yaw + b
    return Observation(
        cls,
        ox + centre * math.cos(a),
        oy + centre * math.sin(a),
        rng,
        b,
        src,
        int(track_id),
        float(score),
    )
