"""The PyBullet world of a scenario: the rover from the URDF, floor, walls, obstacles, target
and distractor objects; physics at a fixed step; the readings the virtual devices need.
ROS-free (the node and the tests drive it).

Objects of the detector's classes are built exactly as :mod:`edgebot_common.objects` defines
them (shape, size, colour), standing on the floor.

A fleet (``rovers=N``): N rovers in the one world, each with its own target object, placed by
the scenario's spawn rule (:meth:`Scenario.for_rover`); they see and bump into each other. The
rover-specific readings take the rover's index ``i`` (0 = the first; the default).
"""

from __future__ import annotations

import math

import numpy as np
import pybullet as pb

from edgebot_common import objects
from edgebot_common import transforms as T

from . import paths
from .scenario import Scenario, target_distance

GRAVITY = 9.81
WHEEL_JOINTS = ("left_wheel_joint", "right_wheel_joint")


# quaternions (x, y, z, w) as pybullet and geometry_msgs order them: edgebot_common.transforms
yaw_quat = T.from_yaw
quat_yaw = T.to_yaw


def rot(q) -> np.ndarray:
    """3x3 rotation matrix (columns = the frame's x, y, z axes in the world)."""
    return np.array(pb.getMatrixFromQuaternion(q), dtype=float).reshape(3, 3)


class RoverBody:
    """One rover of the world: its PyBullet body, joints, wheel command, IMU state, target."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario  # this rover's view: its start and its target
        self.robot = -1
        self.target_id = -1
        self.joint_index: dict[str, int] = {}
        self.link_index: dict[str, int] = {"base_link": -1}
        self.wheels: list[int] = []
        self.wheel_cmd = [0.0, 0.0]
        self.prev_imu_vel: np.ndarray | None = None
        self.acc = np.array([0.0, 0.0, 0.0])
        self.imu_orn = (0.0, 0.0, 0.0, 1.0)
        self.imu_gyro_world = np.zeros(3)


class SimWorld:
    """One PyBullet DIRECT world. ``step()`` advances ``dt`` (default 1/240 s)."""

    def __init__(
        self,
        scenario: Scenario,
        urdf: str | None = None,
        dt: float = 1.0 / 240,
        camera_size: tuple[int, int] = (objects.CAMERA_WIDTH, objects.CAMERA_HEIGHT),
        camera_hfov_deg: float = objects.CAMERA_HFOV_DEG,
        wheel_max_torque: float = 0.3,
        sonar_max_range: float = 4.0,
        sonar_half_angle_deg: float = 10.0,
        rovers: int = 1,
    ):
        self.scenario = scenario
        self.bodies = [RoverBody(scenario.for_rover(k, rovers)) for k in range(1, rovers + 1)]
        self.dt = float(dt)
        self.steps = 0
        self.camera_size = tuple(int(v) for v in camera_size)
        self.camera_hfov_deg = float(camera_hfov_deg)
        self.wheel_max_torque = float(wheel_max_torque)
        self.sonar_max_range = float(sonar_max_range)
        self.sonar_half_angle = math.radians(sonar_half_angle_deg)
        self.cid = pb.connect(pb.DIRECT)
        c = self.cid
        pb.resetSimulation(physicsClientId=c)
        pb.setPhysicsEngineParameter(
            fixedTimeStep=self.dt, deterministicOverlappingPairs=1, physicsClientId=c
        )
        pb.setTimeStep(self.dt, physicsClientId=c)
        pb.setGravity(0, 0, -GRAVITY, physicsClientId=c)
        self.obstacle_ids: list[int] = []
        self.object_ids: dict[int, str] = {}  # body id -> class name (target + distractors)
        self._build_floor()
        for o in scenario.obstacles:
            self.obstacle_ids.append(self._add_shape(o.shape, o.size, o.rgba, o.x, o.y, o.yaw))
        for b in self.bodies:
            t = b.scenario.target
            b.target_id = self._add_object(t.cls, t.x, t.y, t.yaw)
        self.target_id = self.bodies[0].target_id
        for d in scenario.distractors:
            self._add_object(d.cls, d.x, d.y, d.yaw)
        for b in self.bodies:
            self._load_robot(b, urdf or str(paths.urdf_path(scenario.robot)))
        # let the rovers settle on their wheels before time starts
        for _ in range(60):
            pb.stepSimulation(physicsClientId=c)
        self.robot = self.bodies[0].robot
        for i, _ in enumerate(self.bodies):
            self._update_imu(i)
            self.apply_wheels(i)

    # -- construction -------------------------------------------------------------------------
    def _build_floor(self):
        c, f = self.cid, self.scenario.floor
        hx, hy = f.size[0] / 2, f.size[1] / 2
        col = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=[hx, hy, 0.05], physicsClientId=c)
        vis = pb.createVisualShape(
            pb.GEOM_BOX, halfExtents=[hx, hy, 0.05], rgbaColor=f.rgba, physicsClientId=c
        )
        self.floor_id = pb.createMultiBody(0, col, vis, [0, 0, -0.05], physicsClientId=c)
        pb.changeDynamics(self.floor_id, -1, lateralFriction=f.friction, physicsClientId=c)
        self.wall_ids = []
        if f.wall_height > 0:
            h, t = f.wall_height, 0.05
            for x, y, ex, ey in (
                (0, hy + t, hx + 2 * t, t),
                (0, -hy - t, hx + 2 * t, t),
                (hx + t, 0, t, hy),
                (-hx - t, 0, t, hy),
            ):
                self.wall_ids.append(
                    self._add_shape("box", (2 * ex, 2 * ey, h), (0.80, 0.78, 0.72, 1.0), x, y, 0.0)
                )

    def _add_shape(self, shape, size, rgba, x, y, yaw, mass=0.0) -> int:
        c = self.cid
        if shape == "box":
            he = [size[0] / 2, size[1] / 2, size[2] / 2]
            col = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=he, physicsClientId=c)
            vis = pb.createVisualShape(
                pb.GEOM_BOX, halfExtents=he, rgbaColor=rgba, physicsClientId=c
            )
            z = size[2] / 2
        elif shape == "sphere":
            col = pb.createCollisionShape(pb.GEOM_SPHERE, radius=size[0], physicsClientId=c)
            vis = pb.createVisualShape(
                pb.GEOM_SPHERE, radius=size[0], rgbaColor=rgba, physicsClientId=c
            )
            z = size[0]
        elif shape == "cylinder":
            col = pb.createCollisionShape(
                pb.GEOM_CYLINDER, radius=size[0], height=size[1], physicsClientId=c
            )
            vis = pb.createVisualShape(
                pb.GEOM_CYLINDER, radius=size[0], length=size[1], rgbaColor=rgba, physicsClientId=c
            )
            z = size[1] / 2
        elif shape == "cone":
            verts, idx = objects.cone_mesh(size[0], size[1])
            col = pb.createCollisionShape(pb.GEOM_MESH, vertices=verts, physicsClientId=c)
            vis = pb.createVisualShape(
                pb.GEOM_MESH, vertices=verts, indices=idx, rgbaColor=rgba, physicsClientId=c
            )
            z = 0.0
        else:
            raise ValueError(f"unknown shape {shape!r}")
        return pb.createMultiBody(mass, col, vis, [x, y, z], yaw_quat(yaw), physicsClientId=c)

    def _add_object(self, cls: str, x: float, y: float, yaw: float) -> int:
        oc = objects.by_name(cls)
        bid = self._add_shape(oc.shape, oc.size, oc.rgba, x, y, yaw)
        self.object_ids[bid] = cls
        return bid

    def _load_robot(self, b: RoverBody, urdf: str):
        c, s = self.cid, b.scenario.start
        b.robot = pb.loadURDF(
            urdf,
            [s.x, s.y, 0.034],
            yaw_quat(s.yaw),
            flags=pb.URDF_USE_INERTIA_FROM_FILE,
            physicsClientId=c,
        )
        for j in range(pb.getNumJoints(b.robot, physicsClientId=c)):
            info = pb.getJointInfo(b.robot, j, physicsClientId=c)
            b.joint_index[info[1].decode()] = j
            b.link_index[info[12].decode()] = j
        for name in WHEEL_JOINTS + ("camera_joint", "sonar_joint", "imu_joint"):
            if name not in b.joint_index:
                raise ValueError(f"{urdf}: the robot has no joint {name!r}")
        b.wheels = [b.joint_index[n] for n in WHEEL_JOINTS]
        for w in b.wheels:
            pb.changeDynamics(b.robot, w, lateralFriction=1.0, physicsClientId=c)
        if "caster_link" in b.link_index:
            pb.changeDynamics(
                b.robot,
                b.link_index["caster_link"],
                lateralFriction=0.0,
                rollingFriction=0.0,
                spinningFriction=0.0,
                physicsClientId=c,
            )

    # -- actuation and time ---------------------------------------------------------------------
    @property
    def time(self) -> float:
        return self.steps * self.dt

    @property
    def _wheel_cmd(self) -> list[float]:
        return self.bodies[0].wheel_cmd

    def wheel_cmd(self, i: int = 0) -> list[float]:
        return self.bodies[i].wheel_cmd

    def set_wheel_velocity(self, left: float, right: float, i: int = 0) -> None:
        """Target wheel speeds in rad/s (positive drives the rover forward)."""
        self.bodies[i].wheel_cmd = [float(left), float(right)]
        self.apply_wheels(i)

    def apply_wheels(self, i: int = 0):
        b = self.bodies[i]
        pb.setJointMotorControlArray(
            b.robot,
            b.wheels,
            pb.VELOCITY_CONTROL,
            targetVelocities=b.wheel_cmd,
            forces=[self.wheel_max_torque] * 2,
            physicsClientId=self.cid,
        )

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            pb.stepSimulation(physicsClientId=self.cid)
            self.steps += 1
            for i in range(len(self.bodies)):
                self._update_imu(i)

    # -- readings -------------------------------------------------------------------------------
    def base_pose(self, i: int = 0):
        pos, orn = pb.getBasePositionAndOrientation(self.bodies[i].robot, physicsClientId=self.cid)
        return pos, orn

    def base_twist(self, i: int = 0):
        """(linear, angular) velocity of base_link in the world frame."""
        return pb.getBaseVelocity(self.bodies[i].robot, physicsClientId=self.cid)

    def pose2d(self, i: int = 0) -> tuple[float, float, float]:
        pos, orn = self.base_pose(i)
        return pos[0], pos[1], quat_yaw(orn)

    def wheel_states(self, i: int = 0) -> tuple[list[float], list[float]]:
        b = self.bodies[i]
        st = pb.getJointStates(b.robot, b.wheels, physicsClientId=self.cid)
        return [s[0] for s in st], [s[1] for s in st]

    def link_pose(self, link: str, i: int = 0):
        b = self.bodies[i]
        st = pb.getLinkState(
            b.robot, b.link_index[link], computeForwardKinematics=1, physicsClientId=self.cid
        )
        return st[4], st[5]

    def _update_imu(self, i: int = 0):
        b = self.bodies[i]
        st = pb.getLinkState(
            b.robot,
            b.link_index["imu_link"],
            computeLinkVelocity=1,
            computeForwardKinematics=1,
            physicsClientId=self.cid,
        )
        v = np.array(st[6], dtype=float)
        if b.prev_imu_vel is not None:
            a = (v - b.prev_imu_vel) / self.dt
            # contacts make the raw difference spiky: low-pass at ~20 Hz (tau 8 ms)
            alpha = self.dt / (0.008 + self.dt)
            b.acc += alpha * (a - b.acc)
        b.prev_imu_vel = v
        b.imu_orn = st[5]
        b.imu_gyro_world = np.array(st[7], dtype=float)

    def imu(self, i: int = 0):
        """(specific force m/s^2, angular velocity rad/s) in imu_link, orientation quat (x,y,z,w).

        Specific force = acceleration minus gravity: at rest it reads +9.81 on z.
        """
        b = self.bodies[i]
        R = rot(b.imu_orn)
        f = R.T @ (b.acc + np.array([0.0, 0.0, GRAVITY]))
        w = R.T @ b.imu_gyro_world
        return tuple(f.tolist()), tuple(w.tolist()), tuple(b.imu_orn)

    def sonar_range(self, i: int = 0) -> float:
        """Nearest hit along sonar_link's +x within the beam (a fan of rays); inf if none."""
        pos, orn = self.link_pose("sonar_link", i)
        R = rot(orn)
        starts, ends = [], []
        for a in np.linspace(-self.sonar_half_angle, self.sonar_half_angle, 5):
            d = R @ np.array([math.cos(a), math.sin(a), 0.0])
            starts.append(pos)
            ends.append((np.array(pos) + d * self.sonar_max_range).tolist())
        best = math.inf
        for hit in pb.rayTestBatch(starts, ends, physicsClientId=self.cid):
            if hit[0] >= 0 and hit[0] != self.bodies[i].robot:
                best = min(best, hit[2] * self.sonar_max_range)
        return best

    def camera_matrices(self, i: int = 0):
        w, h = self.camera_size
        pos, orn = self.link_pose("camera_link", i)
        R = rot(orn)
        eye = np.array(pos)
        view = pb.computeViewMatrix(
            eye.tolist(), (eye + R[:, 0]).tolist(), R[:, 2].tolist(), physicsClientId=self.cid
        )
        vfov = math.degrees(2 * math.atan(math.tan(math.radians(self.camera_hfov_deg) / 2) * h / w))
        proj = pb.computeProjectionMatrixFOV(vfov, w / h, 0.03, 30.0, physicsClientId=self.cid)
        return view, proj

    def render(self, i: int = 0) -> np.ndarray:
        """An RGB frame (h, w, 3, uint8) from camera_link with the CPU renderer."""
        w, h = self.camera_size
        view, proj = self.camera_matrices(i)
        img = pb.getCameraImage(
            w,
            h,
            view,
            proj,
            renderer=pb.ER_TINY_RENDERER,
            flags=pb.ER_NO_SEGMENTATION_MASK,
            shadow=0,
            lightDirection=[0.4, -0.3, 1.0],
            physicsClientId=self.cid,
        )
        rgba = np.asarray(img[2], dtype=np.uint8).reshape(h, w, 4)
        return np.ascontiguousarray(rgba[:, :, :3])

    def target_distance(self, i: int = 0) -> float:
        x, y, _ = self.pose2d(i)
        return target_distance(x, y, self.bodies[i].scenario.target)

    def reached(self, i: int = 0) -> bool:
        return self.target_distance(i) <= self.bodies[i].scenario.target.reach_distance

    def obstacle_clearance(self, within: float = 1.0, i: int = 0) -> float:
        """Smallest distance between a rover and any obstacle, wall or other rover (inf beyond
        ``within``)."""
        best = math.inf
        me = self.bodies[i].robot
        others = [b.robot for b in self.bodies if b.robot != me]
        for oid in self.obstacle_ids + self.wall_ids + others:
            for cp in pb.getClosestPoints(me, oid, within, physicsClientId=self.cid):
                best = min(best, cp[8])
        return best

    def in_contact(self, i: int = 0) -> bool:
        """The rover touches something other than the floor (what a bumper switch feels)."""
        me = self.bodies[i].robot
        for cp in pb.getContactPoints(bodyA=me, physicsClientId=self.cid):
            if cp[2] != self.floor_id and cp[2] != me:
                return True
        return False

    def close(self):
        if self.cid is not None:
            try:
                pb.disconnect(physicsClientId=self.cid)
            except pb.error:
                pass
            self.cid = None
