"""What the demo starts: the launch file, the parts of the stack and the launch arguments."""

from __future__ import annotations

import pathlib
import re
import socket

DEFAULT_SCENARIO = "mission_three"  # a mission (config/missions/mission_three.yaml)
LAUNCH = ("edgebot_bringup", "demo.launch.yaml")
#: several rovers in one world (make demo ROBOTS=N): the launch file and its default scenario
FLEET_LAUNCH = "fleet.launch.yaml"
FLEET_SCENARIO = "fleet_field"
FLEET_MAX = 3  # the rover groups fleet.launch.yaml holds

#: launch flag -> the executables it needs
STACK = {
    "firmata": [("edgebot_firmata", "firmata_node")],
    "imu": [("edgebot_imu", "imu_node")],
    "perception": [("edgebot_camera", "camera_node"), ("edgebot_perception", "yolo_node")],
    "control": [
        ("edgebot_control", "base_controller"),
        ("edgebot_control", "safety_monitor"),
        ("edgebot_control", "target_follower"),
    ],
    "mqtt": [("edgebot_mqtt", "mqtt_bridge")],
}
#: topics the simulator's start gate waits for (publishers), per launch flag
GATE_PUBLISHERS = {
    "firmata": ["sonar/range"],
    "imu": ["imu/data"],
    "perception": ["detections"],
    "control": ["cmd_vel", "wheel_cmd"],
}

#: the launcher's line for a process that ended or could not start
EXIT_RE = re.compile(r"process \[([^\]]+)\] (?:exited with code (-?\d+)|could not start)")
#: a composed process's line naming the hosted node that stopped it (edgebot_common.container)
HOSTED_RE = re.compile(
    r"^\[([^\]]+)\] (?:\[(\w+)\] configuration error|.*node '(\w+)' raised in a callback)"
)


def executable_exists(pkg: str, exe: str) -> bool:
    try:
        from ament_index_python.packages import get_package_prefix

        return (pathlib.Path(get_package_prefix(pkg)) / "lib" / pkg / exe).exists()
    except Exception:
        return False


def available_stack() -> dict[str, bool]:
    return {flag: all(executable_exists(p, e) for p, e in exes) for flag, exes in STACK.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def robots_of(extra: list[str]) -> int:
    """The ``robots:=N`` among the extra launch arguments (1 when absent)."""
    for a in extra:
        if a.startswith("robots:="):
            try:
                n = int(a.split(":=", 1)[1])
            except ValueError:
                n = 0
            if not 1 <= n <= FLEET_MAX:
                raise ValueError(f"{a!r}: robots must be an integer 1..{FLEET_MAX}")
            return n
    return 1


def fleet_args(n: int, tmp: str) -> list[str]:
    """fleet.launch.yaml's per-rover arguments: free device ports, the run's folder for the
    pty links, spools and e-stop files, rover3 for a fleet of three."""
    if not 2 <= n <= FLEET_MAX:
        raise ValueError(f"robots:={n}: a fleet is 2..{FLEET_MAX} rovers (1 = the plain demo)")
    args = [f"run_dir:={tmp}", f"rover3:={'true' if n >= 3 else 'false'}"]
    for k in range(1, FLEET_MAX + 1):
        args += [f"rover{k}_camera_port:={free_port()}", f"rover{k}_imu_port:={free_port()}"]
    return args


def launch_args(
    scenario_name: str,
    seed: int,
    speed: float,
    target_class: str,
    tmp: str,
    record_dir: str,
    ports: dict[str, int],
    stack: dict[str, bool],
    extra: list[str],
) -> list[str]:
    """The ``name:=value`` arguments of demo.launch.yaml for one run."""
    gate_pubs = [t for f, ok in stack.items() if ok for t in GATE_PUBLISHERS.get(f, [])]
    args = [
        f"scenario:={scenario_name}",
        f"seed:={seed}",
        f"speed:={speed}",
        f"mqtt_spool:={tmp}/mqtt_spool.db",
        f"estop_state_file:={tmp}/estop.json",
        f"target_class:={target_class}",
        f"arduino_link:={tmp}/arduino",
        f"start_publishers:={','.join(gate_pubs)}",
        f"record_dir:={record_dir}",
    ]
    args += [f"{k}:={v}" for k, v in ports.items()]
    args += [f"{flag}:={'true' if ok else 'false'}" for flag, ok in stack.items()]
    n = robots_of(extra)
    if n > 1:  # fleet.launch.yaml (make demo ROBOTS=N)
        args += fleet_args(n, tmp)
    return args + list(extra)
