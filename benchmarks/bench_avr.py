#!/usr/bin/env python3
"""Emulated Arduino (edgebot_avr) figures: the real-time factor simavr reaches on this machine
running the real StandardFirmata, free running (speed 0), idle and under reporting load, for
the Uno (ATmega328P) and the Mega (ATmega2560); and the CPU the emulator takes when paced to
real time (speed 1). Results: benchmarks/results/avr.json.

    python benchmarks/bench_avr.py [--seconds 4]

"Idle": the firmware's main loop with no host. "Reporting load": a host on the port, every
analog input reporting at a 10 ms sampling interval, every digital port reporting, and a
quadrature encoder toggling D2/D3 at 2,000 edges/s (the firmware reports each change).
On a shared machine the free-running factor is capped by the CPU share the thread gets;
``emulated_s_per_cpu_s`` (emulated seconds per CPU second of the emulator thread) is the figure
that carries over to an idle machine.
"""

from __future__ import annotations

import argparse
import os
import time

import benchlib

ROOT = benchlib.isolate("edgebot_avr")

from firmata_wire import FirmataWire  # noqa: E402

from edgebot_avr import EmulatedArduino, firmware_path  # noqa: E402


def thread_cpu() -> dict:
    """CPU seconds of each thread of this process (from /proc)."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[tid] = (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return out


def measure(emu: EmulatedArduino, seconds: float) -> dict:
    c0, w0, s0, p0 = thread_cpu(), time.monotonic(), emu.sim_time_s, time.process_time()
    time.sleep(seconds)
    c1, w1, s1, p1 = thread_cpu(), time.monotonic(), emu.sim_time_s, time.process_time()
    wall = w1 - w0
    busiest = max((c1[t] - c0.get(t, 0.0) for t in c1 if t != str(os.getpid())), default=0.0)
    rtf = (s1 - s0) / wall
    return {
        "realtime_factor": round(rtf, 3),
        # emulated seconds per CPU second of the emulator thread: what a free core gives,
        # independent of how much of a core a loaded machine lets it have
        "emulated_s_per_cpu_s": round(rtf / (busiest / wall), 2) if busiest > 0 else None,
        "emulator_thread_cpu_share": round(busiest / wall, 3),
        "process_cpu_share": round((p1 - p0) / wall, 3),
        "wall_s": round(wall, 2),
    }


def load(emu: EmulatedArduino, fw: FirmataWire) -> None:
    fw.wait_boot(30)
    fw.send(0xF0, 0x7A, 10, 0, 0xF7)  # sampling interval 10 ms
    for ch in range(emu.spec.analog_channels if emu.board != "mega" else 8):
        fw.send(0xC0 | ch, 1)
    for port in range((len(emu.spec.digital) + 7) // 8):
        fw.send(0xD0 | port, 1)
    fw.pin_mode(2, 0)
    fw.pin_mode(3, 0)
    q = emu.quadrature(2, 3)
    q.set_rate(2000.0)


def run(board: str, speed: float, loaded: bool, seconds: float) -> dict:
    emu = EmulatedArduino(board=board, firmware=firmware_path(board), speed=speed)
    emu.start()
    fw = None
    try:
        if loaded:
            fw = FirmataWire(emu.port)
            load(emu, fw)
            n0 = fw.count()
        else:
            while emu.sim_time_s < 2.5:  # past the boot blink
                time.sleep(0.05)
        r = measure(emu, seconds)
        if fw is not None:
            r["host_messages_per_s"] = round((fw.count() - n0) / r["wall_s"], 1)
        return r
    finally:
        if fw is not None:
            fw.close()
        emu.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    args = ap.parse_args()
    results = {
        "machine": benchlib.machine(),
        "firmware": "StandardFirmata (avrgirl-arduino 5.0.1)",
        "seconds_per_case": args.seconds,
        "cases": {},
    }
    for board in ("uno", "mega"):
        for speed, label in ((0.0, "free"), (1.0, "paced")):
            for loaded in (False, True):
                key = f"{board}/{label}/{'load' if loaded else 'idle'}"
                r = run(board, speed, loaded, args.seconds)
                results["cases"][key] = r
                print(
                    f"{key:18s} realtime factor {r['realtime_factor']:6.2f}   emulator thread "
                    f"CPU {100 * r['emulator_thread_cpu_share']:5.1f} %   process CPU "
                    f"{100 * r['process_cpu_share']:5.1f} %   {r['emulated_s_per_cpu_s']} emulated s/CPU s"
                    + (
                        f"   {r['host_messages_per_s']:.0f} msgs/s to host"
                        if "host_messages_per_s" in r
                        else ""
                    ),
                    flush=True,
                )
    out = benchlib.save("avr", results)
    print(f"saved {out}")


if __name__ == "__main__":
    main()
