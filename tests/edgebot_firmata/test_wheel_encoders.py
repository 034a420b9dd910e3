"""Wheel encoders end to end: quadrature on two digital pins per wheel, decoded by firmata_node
from the firmware's port reports, published as wheel_states -- against the real StandardFirmata
(the emulator's quadrature generator, in emulated time) and against the board model (a thread
toggling its input pins); then encoders to odometry through base_controller on a straight
drive and a turn, the wheels simulated from the motor pins the firmware drives."""

import math
import threading
import time

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from sensor_msgs.msg import JointState

from edgebot_common import qos as Q
from edgebot_firmata import pinmap
from edgebot_firmata.virtual_arduino import VirtualArduino
from edgebot_testing import emulated_standard_firmata, wait_for

CPR = 400  # quadrature counts per wheel revolution
MAP = f"""board: uno
firmware: StandardFirmata
motors:
  - {{name: left, joint: left_wheel_joint, driver: in1_in2, pwm: 5, in1: 7, in2: 8}}
  - {{name: right, joint: right_wheel_joint, driver: in1_in2, pwm: 6, in1: 4, in2: 12,
     reversed: true}}
encoders:
  - {{name: left_encoder, joint: left_wheel_joint, pin_a: 2, pin_b: 3, counts_per_rev: {CPR}}}
  - {{name: right_encoder, joint: right_wheel_joint, pin_a: 10, pin_b: 11,
     counts_per_rev: {CPR}}}
"""
WHEELS = ["left_wheel_joint", "right_wheel_joint"]


def diag_values(msgs, suffix):
    for m in reversed(msgs):
        for s in m.status:
            if s.name.endswith(suffix):
                return {kv.key: kv.value for kv in s.values}
    return {}


class ModelQuadrature:
    """The model's stand-in for the emulator's quadrature(): a thread stepping two input pins
    through the Gray sequence at a rate (edges/s, sign = direction)."""

    SEQ = [(0, 0), (1, 0), (1, 1), (0, 1)]

    def __init__(self, board, pin_a, pin_b):
        self.b, self.pa, self.pb = board, pin_a, pin_b
        self.rate, self.edges, self._i = 0.0, 0, 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._apply()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _apply(self):
        a, b = self.SEQ[self._i % 4]
        self.b.set_digital_input(self.pa, a)
        self.b.set_digital_input(self.pb, b)

    def set_rate(self, r):
        with self._lock:  # no step in flight once this returns
            self.rate = r

    def _run(self):
        next_t = time.monotonic()
        while not self._stop.is_set():
            rate = self.rate
            if rate == 0:
                self._stop.wait(0.01)
                next_t = time.monotonic()
                continue
            self._stop.wait(max(0.0, next_t - time.monotonic()))
            with self._lock:
                if self.rate == 0:
                    continue
                step = 1 if self.rate > 0 else -1
                self._i += step
                self._apply()
                self.edges += step
            # the next edge one period after this one, not on a fixed schedule: a thread that
            # the loaded machine woke late must not catch up in a burst of edges closer together
            # than the rate (an encoder never does that; the board would merge them)
            next_t = time.monotonic() + 1.0 / abs(rate)

    def stop(self):
        self._stop.set()
        self._t.join(timeout=2)


@pytest.fixture(params=["firmware", "model"])
def board(request, tmp_path):
    link = str(tmp_path / "ttyENC")
    if request.param == "firmware":
        emu = emulated_standard_firmata(link)
        quads = {"left": emu.quadrature(2, 3), "right": emu.quadrature(10, 11)}
        yield link, quads, 0.5
        for q in quads.values():
            q.set_rate(0)
        emu.stop()
    else:
        b = VirtualArduino(board="uno", firmware="StandardFirmata")
        b.start(link=link)
        quads = {"left": ModelQuadrature(b, 2, 3), "right": ModelQuadrature(b, 10, 11)}
        yield link, quads, 0.5
        for q in quads.values():
            q.stop()
        b.stop()


def test_wheel_states_count_every_edge(procs, ros, board, tmp_path):
    link, quads, wait = board
    pm = tmp_path / "enc.yaml"
    pm.write_text(MAP)
    states = ros.collect(JointState, "wheel_states", Q.SENSOR_DATA)
    diags = ros.collect(DiagnosticArray, "/diagnostics", Q.DIAGNOSTICS)
    node = procs.node(
        "edgebot_firmata",
        "firmata_node",
        params={"port": link, "pin_map": str(pm), "arduino_wait": wait, "command_timeout": 5.0},
    )
    node.wait_output("pin map applied", timeout=90)
    wait_for(lambda: states, 30, what="wheel_states from the start")
    assert list(states[-1].name) == WHEELS and list(states[-1].position) == [0.0, 0.0]
    e0 = {k: q.edges for k, q in quads.items()}
    quads["left"].set_rate(200.0)  # 0.5 rev/s = pi rad/s forward
    quads["right"].set_rate(-100.0)  # pi/2 rad/s backwards
    wait_for(
        lambda: len(states) > 5 and states[-1].position[0] > 2 * math.pi,
        30,
        what="a turn of the left wheel",
    )
    # velocity against the edge rate measured here (the emulator keeps emulated time, which
    # runs slower than the wall clock on a loaded machine)
    n1, t1, e1 = len(states), time.monotonic(), {k: q.edges for k, q in quads.items()}
    wait_for(lambda: len(states) >= n1 + 25, 30, what="25 more wheel_states")
    t2, e2 = time.monotonic(), {k: q.edges for k, q in quads.items()}
    recent = [s.velocity for s in states[n1:]]
    for i, k in enumerate(("left", "right")):
        want = (e2[k] - e1[k]) / (t2 - t1) / CPR * 2 * math.pi
        got = sum(v[i] for v in recent) / len(recent)
        assert got == pytest.approx(want, rel=0.2), (k, got, want)
    assert sum(v[0] for v in recent) > 0 > sum(v[1] for v in recent)
    for q in quads.values():
        q.set_rate(0)
    # loss-free: once the pins rest, the host's counts are the edges generated, exactly
    want = {k: q.edges - e0[k] for k, q in quads.items()}

    def settled():
        d = diag_values(diags, "encoders")
        return (int(d.get("left_encoder_counts", -1)), int(d.get("right_encoder_counts", 1))) == (
            want["left"],
            want["right"],
        )

    wait_for(settled, 30, what=f"counts == edges {want}")
    d = diag_values(diags, "encoders")
    assert int(d["left_encoder_illegal_transitions"]) == 0
    assert int(d["right_encoder_illegal_transitions"]) == 0
    wait_for(
        lambda: (
            states[-1].position[0] == pytest.approx(want["left"] / CPR * 2 * math.pi)
            and states[-1].velocity[0] == 0.0
        ),
        20,
        what="wheel_states at rest",
    )
    assert node.running()


class SimulatedWheels:
    """Wheels on the emulated board: the motor pins the firmware drives set each wheel's
    speed (duty * max_wheel_speed, as the pin map's Motor says), its encoder follows."""

    def __init__(self, emu, pm, quads):
        self.emu, self.pm, self.quads = emu, pm, quads
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _read(self, pin):
        st = self.emu.pin(pin)
        if st.pwm_duty is not None:
            return st.pwm_duty * 255
        return 255 if st.level else 0

    def _run(self):
        while not self._stop.wait(0.01):
            for m, q in zip(self.pm.motors, self.quads):
                w = m.wheel_speed(self._read)  # rad/s of the joint
                q.set_rate(w / (2 * math.pi) * CPR)

    def stop(self):
        self._stop.set()
        self._t.join(timeout=2)


@pytest.fixture
def robot(procs, tmp_path):
    link = str(tmp_path / "ttyROBOT")
    emu = emulated_standard_firmata(link)
    pm_path = tmp_path / "robot.yaml"
    pm_path.write_text(MAP)
    pm = pinmap.loads(MAP)
    wheels = SimulatedWheels(emu, pm, [emu.quadrature(2, 3), emu.quadrature(10, 11)])
    fw = procs.node(
        "edgebot_firmata",
        "firmata_node",
        params={"port": link, "pin_map": str(pm_path), "arduino_wait": 0.5, "command_timeout": 0.5},
    )
    fw.wait_output("pin map applied", timeout=90)
    bc = procs.node(
        "edgebot_control",
        "base_controller",
        params={
            "wheel_radius": 0.033,
            "wheel_separation": 0.16,
            "max_wheel_speed": 15.0,
            "max_linear": 0.45,
            "feedback_timeout": 1.0,  # a loaded CI machine: keep it fresh
            "command_timeout": 0.5,
            "publish_tf": False,
        },
    )
    yield bc
    wheels.stop()
    emu.stop()


def yaw(o):
    q = o.pose.pose.orientation
    return math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z))


def at_rest(cmd, states, odom):
    wait_for(
        lambda: (
            cmd.publish(Twist())
            or (abs(states[-1].velocity[0]) < 1e-9 and abs(states[-1].velocity[1]) < 1e-9)
        ),
        30,
        interval=0.02,
        what="wheels at rest",
    )
    wait_for(
        lambda: (
            cmd.publish(Twist())
            or (
                abs(odom[-1].twist.twist.linear.x) < 1e-3
                and abs(odom[-1].twist.twist.angular.z) < 1e-3
            )
        ),
        30,
        interval=0.02,
        what="odometry at rest",
    )


@pytest.mark.parametrize("linear,angular", [(0.1, 0.0), (0.0, 1.0)])
def test_encoders_to_odometry(procs, ros, robot, linear, angular):
    odom = ros.collect(Odometry, "odom", Q.RELIABLE)
    states = ros.collect(JointState, "wheel_states", Q.SENSOR_DATA)
    cmd = ros.publisher(Twist, "cmd_vel", Q.COMMANDS)
    ros.wait_subscribers(cmd, timeout=60)
    wait_for(lambda: odom and states, 60, what="odom and wheel_states")
    tw = Twist()
    tw.linear.x, tw.angular.z = linear, angular
    # Close the loop first: until base_controller's wheel_cmd reaches firmata_node and its
    # wheel_states reach base_controller (discovery takes seconds on a loaded machine), the
    # odometry integrates commanded speeds the wheels do not turn at. A short motion the
    # encoders see, then rest; the comparison starts from there.
    start = list(states[-1].position)
    wait_for(
        lambda: cmd.publish(tw) or abs(states[-1].position[1] - start[1]) > 0.5,
        60,
        interval=0.02,
        what="the wheels turn (loop closed)",
    )
    at_rest(cmd, states, odom)
    p0, o0, y0 = list(states[-1].position), odom[-1].pose.pose.position, yaw(odom[-1])
    # drive until the wheels have turned a good way, measured by the encoders
    enough = math.pi if angular else 2 * math.pi  # a turn of ~1.3 rad; ~0.2 m
    wait_for(
        lambda: cmd.publish(tw) or abs(states[-1].position[1] - p0[1]) > enough,
        60,
        interval=0.02,
        what="the wheels turn",
    )
    recent = states[-10:]
    assert abs(sum(s.velocity[1] for s in recent) / len(recent)) > 0.5  # the motion is seen
    at_rest(cmd, states, odom)
    dl = states[-1].position[0] - p0[0]
    dr = states[-1].position[1] - p0[1]
    r, sep = 0.033, 0.16
    o = odom[-1].pose.pose.position
    dx, dy = o.x - o0.x, o.y - o0.y
    dyaw = (yaw(odom[-1]) - y0 + math.pi) % (2 * math.pi) - math.pi
    tol = 0.15
    if angular == 0.0:
        assert dl > 0 and dr > 0
        assert dx == pytest.approx(r * (dl + dr) / 2, rel=tol)
        assert abs(dy) < 0.1 * dx and abs(dyaw) < 0.15
    else:
        assert dl < 0 < dr  # spinning left
        turned = r * (dr - dl) / sep  # what the encoders say
        assert dyaw == pytest.approx(turned, rel=tol)
        assert math.hypot(dx, dy) < 0.05
