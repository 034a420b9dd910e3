"""The simulator's fault hooks (edgebot_sim.faults) on the real virtual devices a DeviceSet
starts: the camera's MJPEG port closes and opens again, the Arduino's pty vanishes and comes back,
the IMU's bus fails or goes away and comes back, the clock stalls the physics thread."""

import os
import socket
import threading
import time

import pytest

from edgebot_imu.bus import open_bus
from edgebot_imu.mpu6050 import WHO_AM_I, WHO_AM_I_VALUE
from edgebot_sim.devices import DeviceSet
from edgebot_sim.faults import NAMES, FaultHooks
from edgebot_testing import wait_for


def params(tmp_path):
    return {
        "camera.enabled": True,
        "camera.host": "127.0.0.1",
        "camera.port": 0,
        "arduino.enabled": True,
        "drive": "firmata",
        "arduino.pin_map": "",
        "arduino.link": str(tmp_path / "arduino"),
        "arduino.firmware": "",
        "imu.enabled": True,
        "imu.chip": "mpu6050",
        "imu.noise": False,
        "imu.host": "127.0.0.1",
        "imu.port": 0,
    }


@pytest.fixture
def devices(tmp_path):
    d = DeviceSet.start(params(tmp_path), seed=0)
    yield d
    d.stop(lambda text: None)


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


def who_am_i(spec):
    bus = open_bus(spec, timeout=0.5)
    try:
        return bus.read_byte_data(0x68, WHO_AM_I)
    finally:
        bus.close()


def test_camera_down_and_back(devices):
    hooks = FaultHooks(devices)
    port = devices.mjpeg.port
    assert port_open(port)
    hooks.set("camera_down", True)
    assert not port_open(port)
    hooks.set("camera_down", False)
    assert wait_for(lambda: port_open(port), 10, what="the MJPEG port open again")
    assert devices.mjpeg.port == port


def test_arduino_unplugged_and_back(devices, tmp_path):
    hooks = FaultHooks(devices)
    link = tmp_path / "arduino"
    before = os.path.realpath(link)
    assert os.path.exists(before)
    hooks.set("arduino_unplugged", True)
    assert not os.path.exists(link)  # the port is gone for the host
    hooks.set("arduino_unplugged", False)
    assert wait_for(lambda: os.path.exists(link), 10, what="the pty back at the link")


def test_imu_errors_and_imu_gone(devices):
    hooks = FaultHooks(devices)
    spec = devices.imu.server.bus_spec
    assert who_am_i(spec) == WHO_AM_I_VALUE
    hooks.set("imu_errors", True)
    with pytest.raises(OSError):
        who_am_i(spec)
    hooks.set("imu_errors", False)
    assert who_am_i(spec) == WHO_AM_I_VALUE
    hooks.set("imu_gone", True)
    with pytest.raises(OSError):
        who_am_i(spec)
    hooks.set("imu_gone", False)
    assert wait_for(lambda: who_am_i(spec) == WHO_AM_I_VALUE, 10, what="the IMU back")
    assert devices.imu.server.bus_spec == spec  # same address


def test_clock_stall_holds_the_physics_thread_until_cleared(devices):
    hooks = FaultHooks(devices)
    ticks = []
    stop = threading.Event()

    def physics():
        while not stop.is_set():
            hooks.hold_clock(stop.is_set)
            ticks.append(time.monotonic())
            time.sleep(0.005)

    t = threading.Thread(target=physics, daemon=True)
    t.start()
    wait_for(lambda: len(ticks) > 5, 5, what="ticks")
    hooks.set("clock_stall", True)
    # ticks every 5 ms until now: half a second without one is the stall
    wait_for(lambda: time.monotonic() - ticks[-1] > 0.5, 5, what="0.5 s without a tick")
    n = len(ticks)
    hooks.set("clock_stall", False)
    wait_for(lambda: len(ticks) > n + 5, 5, what="ticks again")
    stop.set()
    t.join(5)


def test_unknown_fault_and_missing_device(tmp_path):
    d = DeviceSet()  # nothing started
    hooks = FaultHooks(d)
    with pytest.raises(ValueError, match="unknown fault"):
        hooks.set("meteor", True)
    for name in ("camera_down", "arduino_unplugged", "imu_errors", "imu_gone"):
        with pytest.raises(ValueError):
            hooks.set(name, True)
    assert set(NAMES) >= {"camera_down", "clock_stall"}
