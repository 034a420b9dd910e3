"""``edgebot emulated-arduino``: real firmware on an emulated AVR, its serial port on a pty."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from edgebot_avr import boards


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="edgebot emulated-arduino",
        description="Run real Arduino firmware (Intel HEX) on an emulated AVR (simavr); its "
        "USART0 is a pseudo-terminal that opens like a USB port (and resets the "
        "board on open, like a Uno's DTR).",
    )
    ap.add_argument("--board", default="uno", help=f"one of {', '.join(sorted(boards.BOARDS))}")
    ap.add_argument(
        "--firmware",
        default=None,
        help="Intel HEX file (default: the installed StandardFirmata for the board)",
    )
    ap.add_argument("--link", default=None, help="also make this symlink to the pty")
    ap.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="1 = real time (default), N = N times faster, 0 = as fast as possible",
    )
    ap.add_argument(
        "--analog",
        action="append",
        default=[],
        metavar="CH=VOLTS",
        help="analog input voltage, e.g. --analog 0=2.5",
    )
    ap.add_argument(
        "--digital",
        action="append",
        default=[],
        metavar="PIN=0|1",
        help="drive a digital input pin",
    )
    ap.add_argument("--verbose", action="store_true", help="print every output pin edge")
    args = ap.parse_args(argv)

    from edgebot_avr import EmulatedArduino, FirmwareError

    try:
        emu = EmulatedArduino(
            board=args.board, firmware=args.firmware, link=args.link, speed=args.speed
        )
        for spec in args.analog:
            ch, v = spec.split("=")
            emu.set_analog(int(ch), float(v))
        for spec in args.digital:
            pin, lv = spec.split("=")
            emu.set_digital(int(pin), lv not in ("0", "false", "False"))
    except (ValueError, FirmwareError) as e:
        print(f"edgebot emulated-arduino: {e}", file=sys.stderr)
        return 2
    if args.verbose:
        emu.add_pin_listener(
            lambda pin, level, t: print(f"{t:12.6f} s  pin {pin} -> {int(level)}", flush=True)
        )
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    path = emu.start()
    print(
        f"emulated {args.board} ({emu.spec.mcu} @ {emu.spec.frequency // 1_000_000} MHz) "
        f"running {emu.firmware} on {emu.pty}" + (f" -> {args.link}" if args.link else ""),
        flush=True,
    )
    del path

    def check_firmata():  # a sketch that is not Firmata: say so once, naming the file
        try:
            print(f"firmware reports Firmata {emu.wait_firmata()}", flush=True)
        except FirmwareError as e:
            print(f"edgebot emulated-arduino: {e}", file=sys.stderr, flush=True)
        except Exception:  # stopped meanwhile
            pass

    threading.Thread(target=check_firmata, daemon=True).start()
    try:
        while not done.wait(0.5):
            pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
