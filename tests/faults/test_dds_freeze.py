"""No frozen node stalls the simulator through DDS (#18, the campaign's stop:base_controller).

What the campaign found: while base_controller was SIGSTOPped, sim_node's physics thread sat
for ~2 s in an rclpy publish (which holds the GIL: the whole simulator stopped, /clock too), in
Fast DDS's shared-memory transport: SharedMemManager::Port::try_push ->
boost::interprocess::interprocess_mutex::lock, waiting for the mutex of a reader's port that
the frozen process held (1 s lock timeout, tried twice). config/fastdds.xml now announces UDPv4
locators only, so no peer writes into a shared-memory port and a frozen process holds no lock
anybody else needs.

The test, with real processes on the profile the tests run with (env.sh's config/fastdds.xml):
sim_node; a "victim" that subscribes to the simulator's topics and publishes as fast as it can
to a third process (which reads /clock too), so that at any instant it is likely to be inside
Fast DDS's critical section of some port; the victim is SIGSTOPped for 60 ms, many times over.
After each stop it looks at where sim_node's own threads wait (/proc/<pid>/task/*/syscall: a
futex inside a /dev/shm/fastdds_port* mapping is a thread waiting for a port lock); the test's
own /clock subscriber records every gap. Fails if sim_node ever waited on a port lock or /clock
stood still for 0.9 s or more (the lock timeout is 1 s; when a wait is seen the victim is kept
frozen 1.2 s, so the stall shows on /clock too).

It can fail: with the shared-memory profile (FASTDDS_DEFAULT_PROFILES_FILE=config/fastdds_shm.xml
python -m pytest tests/faults/test_dds_freeze.py) a lock wait shows within the first ~40 stops.
"""

import os
import pathlib
import signal
import sys
import time

import pytest

from edgebot_testing import free_port, wait_for

# a simulator and a subscriber publishing flat out for ~10 s: never beside a whole-stack test
# (their timing bounds), which share this xdist group (make test: two workers, --dist loadgroup)
pytestmark = pytest.mark.xdist_group("stack")

#: the victim: a subscriber of the simulator's streams that publishes flat out to a third node
VICTIM = r"""
import os, threading, rclpy
os.nice(10)  # the flood must not starve the simulator on a loaded machine
from rosgraph_msgs.msg import Clock
from nav_msgs.msg import Odometry
from sensor_msgs.msg import JointState
from std_msgs.msg import String
from edgebot_common import qos
rclpy.init()
node = rclpy.create_node("freeze_victim")
node.create_subscription(Clock, "/clock", lambda m: None, qos.CLOCK)
node.create_subscription(Odometry, "sim/ground_truth", lambda m: None, qos.RELIABLE)
node.create_subscription(JointState, "wheel_states", lambda m: None, qos.SENSOR_DATA)
pub = node.create_publisher(String, "freeze/hammer", qos.RELIABLE)
threading.Thread(target=rclpy.spin, args=(node,), daemon=True).start()
msg = String(data="x" * 64)
print("up", flush=True)
while True:
    pub.publish(msg)
"""

#: the third node: reads the victim's flood and /clock (the simulator writes to it too)
READER = r"""
import os, rclpy
os.nice(10)
from rosgraph_msgs.msg import Clock
from std_msgs.msg import String
from edgebot_common import qos
rclpy.init()
node = rclpy.create_node("freeze_reader")
node.create_subscription(Clock, "/clock", lambda m: None, qos.CLOCK)
node.create_subscription(String, "freeze/hammer", lambda m: None, qos.RELIABLE)
print("up", flush=True)
rclpy.spin(node)
"""

STOPS_FOR = 10.0  # wall seconds of stop/continue cycles
STOP_S = 0.06
HOLD_S = 1.2  # a lock wait seen: keep the victim frozen past Fast DDS's 1 s lock timeout


def _shm_lock_waits(pid: int) -> list[str]:
    """Threads of ``pid`` (not Fast DDS's own listener threads, which wait on their port by
    design) blocked in a futex that lies in a Fast DDS shared-memory port segment."""
    maps = []
    try:
        for line in pathlib.Path(f"/proc/{pid}/maps").read_text().splitlines():
            f = line.split()
            if len(f) >= 6 and os.path.basename(f[5]).startswith("fastdds_port"):
                lo, hi = (int(x, 16) for x in f[0].split("-"))
                maps.append((lo, hi, f[5]))
    except OSError:
        return []
    if not maps:
        return []
    out = []
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            sc = (task / "syscall").read_text().split()
        except OSError:
            continue
        if comm.startswith("dds.") or len(sc) < 2 or sc[0] != "202":  # 202: futex (x86_64)
            continue
        addr = int(sc[1], 16)
        out += [f"thread {task.name} ({comm}) on {p}" for lo, hi, p in maps if lo <= addr < hi]
    return out


def test_a_frozen_subscriber_never_stalls_the_simulator(procs, ros):
    from rosgraph_msgs.msg import Clock

    from edgebot_common import qos

    got = []  # (wall monotonic, sim seconds) of every /clock the test receives
    ros.node.create_subscription(
        Clock,
        "/clock",
        lambda m: got.append((time.monotonic(), m.clock.sec + m.clock.nanosec * 1e-9)),
        qos.CLOCK,
    )
    sim = procs.node(
        "edgebot_sim",
        "sim_node",
        params={
            "drive": "wheel_cmd",
            "arduino.enabled": False,
            "imu.enabled": False,
            "camera.enabled": False,
            "camera.port": free_port(),
            "scenario": "near_cone",
            "seed": 3,
        },
    )
    reader = procs.start([sys.executable, "-c", READER], name="freeze_reader")
    victim = procs.start([sys.executable, "-c", VICTIM], name="freeze_victim")
    reader.wait_output("up", timeout=60)
    victim.wait_output("up", timeout=60)
    # the simulator runs and its clock reaches the test
    wait_for(lambda: len(got) > 50 and got[-1][1] > got[0][1], 60, what="/clock advancing")
    time.sleep(1.0)  # let the victim's flood reach the reader (discovery done)

    waits, stops, t0 = [], 0, time.monotonic()
    n0 = len(got)
    try:
        while time.monotonic() - t0 < STOPS_FOR:
            os.kill(victim.pid, signal.SIGSTOP)
            stops += 1
            time.sleep(STOP_S)
            seen = _shm_lock_waits(sim.pid)
            if seen:
                waits.append(f"stop {stops}: " + "; ".join(seen))
                time.sleep(HOLD_S)
            os.kill(victim.pid, signal.SIGCONT)
            if seen:
                break
            time.sleep(0.03)
    finally:
        os.kill(victim.pid, signal.SIGCONT)
    time.sleep(0.5)
    seen_clock = got[n0:]
    gaps = [b[0] - a[0] for a, b in zip(seen_clock, seen_clock[1:])]
    assert not waits, (
        f"sim_node waited for a Fast DDS shared-memory port lock held by the frozen victim "
        f"({len(waits)} of {stops} stops): {waits}; longest /clock gap {max(gaps):.2f} s"
    )
    assert max(gaps) < 0.9, f"/clock stood still {max(gaps):.2f} s while a subscriber was frozen"
    assert stops >= 20 and len(seen_clock) > 20, (stops, len(seen_clock))
    assert seen_clock[-1][1] > seen_clock[0][1]  # simulated time went on
    assert victim.running() and reader.running() and sim.running()
