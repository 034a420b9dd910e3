"""sim_node's parameters (ROS-free: the runner's tests and the benchmarks read the defaults).

Names follow docs/conventions.md (rates in Hz ``*_rate``, times in seconds ``*_period`` /
``*_timeout``); a former name stops the node at startup naming the new one (CHANGELOG.md).
``camera.hfov_deg`` keeps its unit in the name as camera_node's and target_follower's
``hfov_deg`` do (one name for the one quantity across the nodes).
"""

from __future__ import annotations

from edgebot_common.params import ParamSpec

SPECS = [
    ParamSpec("scenario", "open_field", "scenario name (config/scenarios/<name>.yaml) or path"),
    ParamSpec(
        "seed",
        -1,
        "random seed; -1 = the scenario's (settable: sim/reset uses it)",
        min=-1,
        read_only=False,
    ),
    ParamSpec("speed", 1.0, "target real-time factor; 0 = as fast as possible", min=0.0, max=100.0),
    ParamSpec(
        "physics_rate", 240.0, "physics steps per simulated second [Hz]", min=60.0, max=2000.0
    ),
    ParamSpec(
        "clock_rate", 100.0, "/clock messages per simulated second [Hz]", min=1.0, max=1000.0
    ),
    ParamSpec(
        "state_rate", 50.0, "ground truth and wheel_states rate (sim time) [Hz]", min=1.0, max=500.0
    ),
    ParamSpec("publish_wheel_states", True, "publish wheel_states from the wheel joints"),
    ParamSpec(
        "drive",
        "auto",
        "what moves the wheels: the virtual Arduino's motor pins "
        "(firmata), wheel_cmd directly (wheel_cmd, no Arduino in the loop), or auto "
        "(firmata when arduino.enabled)",
        choices=["auto", "firmata", "wheel_cmd"],
    ),
    ParamSpec(
        "wheel_cmd_timeout",
        0.5,
        "drive=wheel_cmd: stop when no command for this long (sim time) [s]",
        min=0.0,
        min_exclusive=True,
    ),
    ParamSpec(
        "wheel_max_torque", 0.3, "wheel motor torque limit [N m]", min=0.0, min_exclusive=True
    ),
    ParamSpec(
        "start.wait",
        False,
        "hold simulated time at 0 until the drivers are connected "
        "to the virtual devices and the start.* topics are up (fair time-to-target)",
    ),
    ParamSpec("start.publishers", "", "comma-separated topics that need a publisher first"),
    ParamSpec("start.subscribers", "", "comma-separated topics that need a subscriber first"),
    ParamSpec(
        "start.settle_period",
        2.0,
        "wall seconds to wait once everything is up",
        min=0.0,
        max=60.0,
        renamed_from=("start.settle",),
    ),
    ParamSpec(
        "start.timeout", 120.0, "wall seconds after which time starts anyway", min=0.0, max=3600.0
    ),
    ParamSpec("camera.enabled", True, "render the camera and serve it as MJPEG"),
    ParamSpec(
        "camera.rate",
        10.0,
        "frames per simulated second, per rover [Hz]",
        min=0.1,
        max=60.0,
        renamed_from=("camera.fps",),
    ),
    ParamSpec("camera.width", 320, "image width [px]", min=16, max=1920),
    ParamSpec("camera.height", 240, "image height [px]", min=16, max=1080),
    ParamSpec("camera.hfov_deg", 60.0, "horizontal field of view [deg]", min=10.0, max=170.0),
    ParamSpec("camera.host", "127.0.0.1", "MJPEG server address"),
    ParamSpec("camera.port", 8080, "MJPEG server port (0 = any free port)", min=0, max=65535),
    ParamSpec("camera.jpeg_quality", 85, "JPEG quality", min=10, max=100),
    ParamSpec("arduino.enabled", True, "serve a virtual Firmata Arduino on a pty"),
    ParamSpec(
        "arduino.link", "", "symlink to the pty (what firmata_node's port names); empty = none"
    ),
    ParamSpec(
        "arduino.pin_map",
        "",
        "pin map file (as firmata_node's pin_map); empty = config/firmata.yaml",
    ),
    ParamSpec(
        "arduino.firmware",
        "",
        "run real firmware on an emulated AVR (edgebot_avr) "
        "instead of the Python board model: a .hex path or an installed image name "
        "(StandardFirmata); empty = the model",
    ),
    ParamSpec(
        "arduino.sonar_rate", 20.0, "sonar ray casts per simulated second [Hz]", min=1.0, max=200.0
    ),
    ParamSpec("imu.enabled", True, "serve a virtual I2C IMU over TCP"),
    ParamSpec("imu.chip", "mpu6050", "virtual IMU chip", choices=["mpu6050", "bno055"]),
    ParamSpec("imu.host", "127.0.0.1", "virtual IMU server address"),
    ParamSpec("imu.port", 0, "virtual IMU server port (0 = any free port)", min=0, max=65535),
    ParamSpec(
        "imu.rate", 200.0, "IMU motion updates per simulated second [Hz]", min=1.0, max=1000.0
    ),
    ParamSpec("imu.noise", True, "the chip's noise and bias"),
    # a fleet: several rovers in the one world (edgebot_sim.fleet)
    ParamSpec(
        "robots",
        1,
        "rovers in the world; 1 = one rover in the node's namespace, N > 1 = rover1..N "
        "(namespaces fleet.prefix + k, placed by the scenario's fleet spawn rule)",
        min=1,
        max=16,
    ),
    ParamSpec("fleet.prefix", "rover", "robots > 1: the rovers' namespaces are <prefix>1..N"),
    ParamSpec(
        "fleet.namespaced",
        False,
        "robots = 1: the one rover under <prefix>1 as well (fleet.launch.yaml robots:=1)",
    ),
    ParamSpec(
        "fleet.camera_ports",
        "",
        "robots > 1: comma-separated MJPEG ports, one per rover (empty = any free port)",
    ),
    ParamSpec(
        "fleet.imu_ports",
        "",
        "robots > 1: comma-separated virtual IMU ports, one per rover (empty = any free port)",
    ),
    ParamSpec(
        "fleet.arduino_links",
        "",
        "robots > 1: comma-separated pty symlinks, one per rover (empty = none)",
    ),
]
