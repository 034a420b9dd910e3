"""``edgebot <command> ...``: dispatch to subcommands.

Subcommands of other packages are listed here by module path and imported only when used,
so ``edgebot launch`` never imports rclpy, torch or pybullet.
"""

from __future__ import annotations

import importlib
import sys

# name -> (module, function, one-line help)
COMMANDS = {
    "launch": ("edgebot_cli.launcher.cli", "main", "run a ROS 2 YAML launch file"),
    "topic": ("edgebot_cli.introspect", "topic_main", "list / echo / hz topics"),
    "node": ("edgebot_cli.introspect", "node_main", "list nodes"),
    "virtual-arduino": (
        "edgebot_firmata.virtual_arduino",
        "main",
        "a virtual Arduino speaking Firmata on a pseudo-terminal",
    ),
    "emulated-arduino": (
        "edgebot_avr.cli",
        "main",
        "real Arduino firmware (e.g. StandardFirmata) on an emulated AVR, on a pty",
    ),
    "virtual-imu": ("edgebot_imu.virtual_imu", "main", "a virtual I2C IMU (MPU-6050 / BNO055)"),
    "modbus-sim": (
        "edgebot_modbus.sim",
        "cli",
        "a simulated Modbus device (pymodbus's server) serving a register map",
    ),
    "demo": ("edgebot_cli.demo", "main", "the whole robot in simulation, headless"),
}


def usage() -> str:
    lines = ["usage: edgebot <command> [args...]", "", "commands:"]
    for name, (_, _, text) in COMMANDS.items():
        lines.append(f"  {name:<16} {text}")
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        try:
            print(usage())
        except BrokenPipeError:
            pass
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"edgebot: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    if name != "launch":
        # `edgebot topic echo ... | head`: end quietly when the reader goes away
        import signal

        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    module, func, _ = COMMANDS[name]
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        print(
            f"edgebot {name}: not available ({e}); is the workspace built and env.sh sourced?",
            file=sys.stderr,
        )
        return 2
    result = getattr(mod, func)(rest)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
