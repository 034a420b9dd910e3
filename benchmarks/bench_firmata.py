#!/usr/bin/env python3
"""Figures of edgebot_firmata (issue #3), measured with the real firmata_node process, real
pymata4 and the virtual Arduino on real pseudo-terminals (its output paced to the baud rate).

1. command latency: ``wheel_cmd`` published (rclpy, this process) -> the left motor's PWM pin
   changes on the virtual Arduino (its output listener), p50/p95/max; baseline in the same run:
   a direct pymata4 ``pwm_write`` -> pin change, with no ROS in the path.
2. analog throughput: 8 analog inputs (a virtual Nano, A0..A7) reported at sampling intervals
   from 20 ms down to 1 ms, through the host side the node uses (pymata4 behind the frame
   filter); reports the board sent vs. reports pymata4 dispatched; the highest loss-free rate
   as a fraction of what 115200 baud carries (3 bytes per report, 10 bits per byte).
3. reconnect: the port is unplugged for 0.5..4 s and plugged back; time from plugging back to
   the pin map being applied again (seen on the board); baseline: a fresh connect + apply.
4. real firmware (issue 14): ``wheel_cmd`` published -> the left motor's PWM duty changes on
   the emulated ATmega328P running StandardFirmata 2.4 (edgebot_avr, the timer registers
   polled), p50/p95, against the board model in StandardFirmata mode measured the same way
   (pin polled, same baud) in the same run.
5. encoders: the highest quadrature edge rate decoded without loss, through the host side the
   node uses (BoardLink: pymata4 behind the frame filter, the port-report decoder): real
   StandardFirmata at 57600 baud (the emulator's quadrature generator, emulated time), and
   the model at 115200 (FirmataExpress mode; a thread toggling its pins). Per rate: edges
   generated, counted, illegal transitions.

    source env.sh && python benchmarks/bench_firmata.py [--quick]

Prints the figures and writes benchmarks/results/firmata.json (with the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time

import benchlib

ROOT = benchlib.isolate()

import edgebot_testing as et  # noqa: E402
from edgebot_firmata import pinmap  # noqa: E402
from edgebot_firmata.client import BoardLink, FirmataClient  # noqa: E402
from edgebot_firmata.virtual_arduino import VirtualArduino  # noqa: E402

PIN_MAP = str(ROOT / "config" / "firmata.yaml")

MOTORS_ONLY = """board: uno
motors:
  - {name: left, joint: left_wheel_joint, driver: in1_in2, pwm: 5, in1: 7, in2: 8}
  - {name: right, joint: right_wheel_joint, driver: in1_in2, pwm: 6, in1: 4, in2: 3,
     reversed: true}
"""

# The floor of any Python ROS driver: a minimal rclpy node that writes the PWM with pymata4
# straight from its subscription callback (no pin map, no checks, no safety).
RELAY = r"""
import sys
import rclpy
from sensor_msgs.msg import JointState
from edgebot_common import qos
from edgebot_firmata.client import FirmataClient
c = FirmataClient(sys.argv[1], arduino_wait=0.5)
c.set_pin_mode_pwm_output(5)
rclpy.init()
n = rclpy.create_node("relay")
n.create_subscription(JointState, "wheel_cmd",
                      lambda m: c.pwm_write(5, int(round(m.velocity[0] / 15.0 * 255))),
                      qos.COMMANDS)
print("relay ready", flush=True)
try:
    rclpy.spin(n)
except KeyboardInterrupt:
    pass
c.close()
"""


pct = benchlib.pct


def summary(xs_s):
    ms = [x * 1000.0 for x in xs_s]
    return {
        "n": len(ms),
        "p50_ms": round(pct(ms, 50), 3),
        "p95_ms": round(pct(ms, 95), 3),
        "max_ms": round(max(ms), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
    }


class PinWatch:
    """Times the moments a board pin takes given values (output listener, board thread)."""

    def __init__(self, board, pin):
        self.pin = pin
        self.want = None
        self.event = threading.Event()
        self.t = 0.0
        board.add_output_listener(self._cb)

    def _cb(self, pin, mode, value):
        if pin == self.pin and value == self.want:
            self.t = time.perf_counter()
            self.event.set()

    def arm(self, value):
        self.want = value
        self.event.clear()


# ---------------------------------------------------------------------------- 1. latency
def bench_latency(n: int) -> dict:
    from sensor_msgs.msg import JointState

    from edgebot_common import qos as Q

    out = {}
    # baseline: pymata4 directly
    board = VirtualArduino()
    path = board.start()
    watch = PinWatch(board, 5)
    c = FirmataClient(path, arduino_wait=0.5)
    c.set_pin_mode_pwm_output(5)
    lat = []
    for i in range(n):
        v = 64 if i % 2 else 128
        watch.arm(v)
        t0 = time.perf_counter()
        c.pwm_write(5, v)
        if watch.event.wait(2.0):
            lat.append(watch.t - t0)
        time.sleep(random.uniform(0.005, 0.02))
    c.close()
    board.stop()
    out["baseline_pymata4_direct"] = summary(lat)

    def through_ros(label, start):
        procs = et.Procs()
        ros = et.RosHelper("bench_firmata")
        tmp = tempfile.mkdtemp(prefix="bench-firmata-")
        board = VirtualArduino()
        link = os.path.join(tmp, "ttyVIRT0")
        board.start(link=link)
        watch = PinWatch(board, 5)
        try:
            start(procs, link)
            pub = ros.publisher(JointState, "wheel_cmd", Q.COMMANDS)
            ros.wait_subscribers(pub, timeout=30)
            time.sleep(0.5)
            lat = []
            names = ["left_wheel_joint", "right_wheel_joint"]
            for i in range(n):
                duty = 0.25 if i % 2 else 0.5
                watch.arm(int(round(duty * 255)))
                msg = JointState(name=names, velocity=[duty * 15.0, duty * 15.0])
                t0 = time.perf_counter()
                pub.publish(msg)
                if watch.event.wait(2.0):
                    lat.append(watch.t - t0)
                time.sleep(random.uniform(0.01, 0.03))
            out[label] = summary(lat)
            out[label]["lost"] = n - len(lat)
        finally:
            procs.stop_all()
            ros.close()
            board.stop()

    def start_relay(procs, link):
        procs.start([sys.executable, "-c", RELAY, link], name="relay").wait_output(
            "relay ready", timeout=60
        )

    def start_node(procs, link, pin_map=PIN_MAP):
        et.start_firmata_node(procs, link, pin_map, command_timeout=1.0).wait_output(
            "pin map applied", timeout=60
        )

    motors_only = os.path.join(tempfile.mkdtemp(prefix="bench-firmata-"), "motors.yaml")
    with open(motors_only, "w") as f:
        f.write(MOTORS_ONLY)

    # wheel_cmd -> minimal rclpy relay -> pymata4 -> pty -> board (the Python/ROS floor)
    through_ros("baseline_minimal_rclpy_relay", start_relay)
    # wheel_cmd -> firmata_node -> pymata4 -> pty -> board
    through_ros("wheel_cmd_to_pin", start_node)
    # the same with a pin map of the two motors only: no input reports, no input timers
    through_ros(
        "wheel_cmd_to_pin_motors_only_map", lambda procs, link: start_node(procs, link, motors_only)
    )
    out["ratio_p50_vs_direct"] = round(
        out["wheel_cmd_to_pin"]["p50_ms"] / max(1e-9, out["baseline_pymata4_direct"]["p50_ms"]), 2
    )
    out["ratio_p50_vs_relay"] = round(
        out["wheel_cmd_to_pin"]["p50_ms"]
        / max(1e-9, out["baseline_minimal_rclpy_relay"]["p50_ms"]),
        2,
    )
    out["ratio_p95_vs_relay"] = round(
        out["wheel_cmd_to_pin"]["p95_ms"]
        / max(1e-9, out["baseline_minimal_rclpy_relay"]["p95_ms"]),
        2,
    )
    return out


# ---------------------------------------------------------------------------- 2. analog rate
class CountingClient(FirmataClient):
    analog_seen = 0

    def _analog_message(self, data):
        self.analog_seen += 1
        super()._analog_message(data)


def bench_analog(seconds: float, intervals) -> dict:
    board = VirtualArduino(board="nano")
    path = board.start()
    for ch in range(8):
        board.set_analog_input(ch, 100 * ch + 7)
    c = CountingClient(path, arduino_wait=0.5)
    link_capacity = board.baud / 10.0 / 3.0  # analog reports per second the UART carries
    rows = []
    try:
        for ch in range(8):
            c.set_pin_mode_analog_input(ch)
        for si in intervals:
            # stream stopped and drained: every report counted below is sent and received
            # inside this row
            c.set_sampling_interval(16000)
            time.sleep(0.4)
            s0, r0 = board.stats["analog_reports"], c.analog_seen
            c.set_sampling_interval(si)
            time.sleep(0.2)
            w0, t0 = board.stats["analog_reports"], time.perf_counter()
            time.sleep(seconds)
            w1, t1 = board.stats["analog_reports"], time.perf_counter()
            c.set_sampling_interval(16000)
            time.sleep(0.4)
            s2, r2 = board.stats["analog_reports"], c.analog_seen
            sent, got = s2 - s0, r2 - r0
            rate = (w1 - w0) / (t1 - t0)
            rows.append(
                {
                    "sampling_interval_ms": si,
                    "requested_per_s": round(8000.0 / si, 1),
                    "sent_per_s": round(rate, 1),
                    "sent": sent,
                    "received": got,
                    "lost": sent - got,
                    "fraction_of_link": round(rate / link_capacity, 3),
                }
            )
    finally:
        c.close()
        board.stop()
    lossless = [r for r in rows if r["lost"] == 0]
    best = max(lossless, key=lambda r: r["sent_per_s"]) if lossless else None
    return {
        "pins": 8,
        "baud": board.baud,
        "link_capacity_reports_per_s": round(link_capacity, 1),
        "rows": rows,
        "best_lossless_per_s": best["sent_per_s"] if best else 0.0,
        "best_lossless_fraction_of_link": best["fraction_of_link"] if best else 0.0,
        "parser_errors": c.parser.error_total,
    }


# ---------------------------------------------------------------------------- 3. reconnect
def bench_reconnect(outages) -> dict:
    # baseline: one fresh connect + pin map apply, no backoff involved
    pm = pinmap.load(PIN_MAP)
    board = VirtualArduino()
    path = board.start()
    t0 = time.perf_counter()
    bl = BoardLink(pm, path, 115200, arduino_wait=0.5)
    bl.connect()
    base = time.perf_counter() - t0
    bl.close()
    board.stop()

    procs = et.Procs()
    tmp = tempfile.mkdtemp(prefix="bench-firmata-")
    board = VirtualArduino()
    link = os.path.join(tmp, "ttyVIRT0")
    board.start(link=link)
    rows = []
    try:
        node = procs.node(
            "edgebot_firmata",
            "firmata_node",
            params={"port": link, "pin_map": PIN_MAP, "arduino_wait": 0.5},
        )
        node.wait_output("pin map applied", timeout=60)
        for k, outage in enumerate(outages):
            et.wait_for(lambda: board.pin_mode(5) == "PWM", 30, what="connected")
            time.sleep(0.5)
            board.unplug()
            et.wait_for(lambda: node.output().count("link lost") >= k + 1, 30, what="loss seen")
            time.sleep(outage)
            t0 = time.perf_counter()
            board.replug()
            et.wait_for(lambda: board.host_connected, 60, interval=0.002, what="reopened")
            t_open = time.perf_counter() - t0
            et.wait_for(
                lambda: board.pin_mode(12) == "SONAR", 60, interval=0.002, what="pin map re-applied"
            )
            rows.append(
                {
                    "outage_s": outage,
                    "port_reopened_s": round(t_open, 3),
                    "pin_map_reapplied_s": round(time.perf_counter() - t0, 3),
                }
            )
    finally:
        procs.stop_all()
        board.stop()
    return {
        "baseline_fresh_connect_s": round(base, 3),
        "rows": rows,
        "max_s": max(r["pin_map_reapplied_s"] for r in rows),
        "reconnect_params": {"reconnect.initial": 0.5, "reconnect.max": 3.0},
    }


# ---------------------------------------------------------------------------- 4. real firmware
STD_MAP = """board: uno
firmware: StandardFirmata
motors:
  - {name: left, joint: left_wheel_joint, driver: in1_in2, pwm: 5, in1: 7, in2: 8}
  - {name: right, joint: right_wheel_joint, driver: in1_in2, pwm: 6, in1: 4, in2: 12,
     reversed: true}
"""


def _std_map() -> str:
    path = os.path.join(tempfile.mkdtemp(prefix="bench-firmata-"), "std.yaml")
    with open(path, "w") as f:
        f.write(STD_MAP)
    return path


def bench_firmware_latency(n: int) -> dict:
    """wheel_cmd -> PWM duty of pin 5, the pin polled (~0.1 ms) on both boards."""
    from sensor_msgs.msg import JointState

    from edgebot_common import qos as Q

    out = {}
    names = ["left_wheel_joint", "right_wheel_joint"]

    def run(label, make_board, read_duty, arduino_wait):
        procs = et.Procs()
        ros = et.RosHelper("bench_firmata_fw")
        tmp = tempfile.mkdtemp(prefix="bench-firmata-")
        link = os.path.join(tmp, "ttyB")
        board, stop = make_board(link)
        try:
            procs.node(
                "edgebot_firmata",
                "firmata_node",
                params={
                    "port": link,
                    "pin_map": _std_map(),
                    "arduino_wait": arduino_wait,
                    "command_timeout": 2.0,
                },
            ).wait_output("pin map applied", timeout=90)
            pub = ros.publisher(JointState, "wheel_cmd", Q.COMMANDS)
            ros.wait_subscribers(pub, timeout=30)
            et.wait_for(
                lambda: (
                    pub.publish(JointState(name=names, velocity=[3.75, 3.75]))
                    or abs(read_duty(board) - 64 / 255) < 0.01
                ),
                30,
                interval=0.05,
                what="commands arrive",
            )
            lat, lost = [], 0
            for i in range(n):
                duty = 0.25 if i % 2 else 0.5
                want = round(duty * 255) / 255
                msg = JointState(name=names, velocity=[duty * 15.0, duty * 15.0])
                t0 = time.perf_counter()
                pub.publish(msg)
                while True:
                    t = time.perf_counter()
                    if abs(read_duty(board) - want) < 0.005:
                        lat.append(t - t0)
                        break
                    if t - t0 > 2.0:
                        lost += 1
                        break
                    time.sleep(0.0001)
                time.sleep(random.uniform(0.01, 0.03))
            out[label] = summary(lat)
            out[label]["lost"] = lost
        finally:
            procs.stop_all()
            ros.close()
            stop()

    def emulated(link):
        e = et.emulated_standard_firmata(link)
        return e, e.stop

    def model(link):
        b = VirtualArduino(board="uno", firmware="StandardFirmata")
        b.start(link=link)
        return b, b.stop

    run("model_standard_firmata", model, lambda b: b.board.pwm_duty(5) or 0.0, 0.05)
    run("real_standard_firmata_emulated", emulated, lambda e: e.pin(5).pwm_duty or 0.0, 0.5)
    out["ratio_p50_real_vs_model"] = round(
        out["real_standard_firmata_emulated"]["p50_ms"]
        / max(1e-9, out["model_standard_firmata"]["p50_ms"]),
        2,
    )
    out["ratio_p95_real_vs_model"] = round(
        out["real_standard_firmata_emulated"]["p95_ms"]
        / max(1e-9, out["model_standard_firmata"]["p95_ms"]),
        2,
    )
    return out


# ---------------------------------------------------------------------------- 5. encoders
ENC_MAP = """board: uno
firmware: {fw}
encoders:
  - {{name: left, joint: left_wheel_joint, pin_a: 2, pin_b: 3, counts_per_rev: 400}}
"""


class ToggleQuadrature:
    """The model's generator: a thread stepping pins 2/3 through the Gray code."""

    SEQ = [(0, 0), (1, 0), (1, 1), (0, 1)]

    def __init__(self, board):
        self.b, self.rate, self.edges, self._i = board, 0.0, 0, 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def set_rate(self, r):
        with self._lock:
            self.rate = r

    def _run(self):
        nxt = time.monotonic()
        while not self._stop.is_set():
            if self.rate == 0:
                time.sleep(0.005)
                nxt = time.monotonic()
                continue
            nxt += 1.0 / self.rate
            d = nxt - time.monotonic()
            if d > 0:
                time.sleep(d)
            with self._lock:
                if self.rate == 0:
                    continue
                self._i += 1
                a, b = self.SEQ[self._i % 4]
                self.b.set_digital_input(2, a)
                self.b.set_digital_input(3, b)
                self.edges += 1

    def stop(self):
        self._stop.set()


def bench_encoders(rates, seconds: float) -> dict:
    from edgebot_firmata.encoders import WheelEncoder

    def run(label, fw, baud, make, arduino_wait):
        pm = pinmap.loads(ENC_MAP.format(fw=fw))
        tmp = tempfile.mkdtemp(prefix="bench-firmata-")
        link = os.path.join(tmp, "ttyE")
        board, quad, clock, stop = make(link)
        enc = {"left": WheelEncoder(400)}
        bl = BoardLink(pm, link, baud, arduino_wait=arduino_wait, keep_alive_s=0, encoders=enc)
        rows = []
        try:
            bl.connect()
            dec = enc["left"].decoder
            for rate in rates:
                e0, c0, i0 = quad.edges, dec.count, dec.illegal
                s0, w0 = clock(), time.perf_counter()
                quad.set_rate(rate)
                while clock() - s0 < seconds and time.perf_counter() - w0 < 6 * seconds:
                    time.sleep(0.05)
                quad.set_rate(0)
                gen_s = clock() - s0
                edges = quad.edges - e0
                # drained: the count stops moving
                last, still = None, 0
                while still < 5:
                    time.sleep(0.05)
                    still = still + 1 if dec.count == last else 0
                    last = dec.count
                counted = dec.count - c0
                rows.append(
                    {
                        "rate_requested": rate,
                        "rate_generated": round(edges / gen_s, 1),
                        "edges": edges,
                        "counted": counted,
                        "illegal": dec.illegal - i0,
                        "lost": edges - counted,
                    }
                )
        finally:
            bl.close(reset=False)
            stop()
        ok = [r for r in rows if r["lost"] == 0 and r["illegal"] == 0]
        return {
            "baud": baud,
            "link_capacity_reports_per_s": round(baud / 30.0, 1),
            "rows": rows,
            "max_lossless_edges_per_s": max((r["rate_generated"] for r in ok), default=0.0),
            "lowest_rate_with_loss": min(
                (r["rate_generated"] for r in rows if r not in ok), default=None
            ),
        }

    def emulated(link):
        e = et.emulated_standard_firmata(link)
        return e, e.quadrature(2, 3), lambda: e.sim_time_s, e.stop

    def model(link):
        b = VirtualArduino(board="uno", firmware="FirmataExpress")
        b.start(link=link)
        q = ToggleQuadrature(b)
        return b, q, time.monotonic, lambda: (q.stop(), b.stop())

    def ideal(fw):
        """The board model alone, in-process, fed edges at exact times (no generator thread,
        no transport): what the model itself predicts for the firmware's loop and UART."""
        from edgebot_firmata import protocol as P
        from edgebot_firmata.board_model import FirmataBoard

        rows = []
        seq = ToggleQuadrature.SEQ
        for rate in rates:
            b = FirmataBoard(board="uno", firmware=fw, now=0.0)
            b.host_opened(0.0)
            dec = WheelEncoder(400).decoder
            parser = P.board_parser()
            t, last, i = 1.0, 1.0, 0

            def drain(out):
                for f in parser.feed(out):
                    if not f.is_sysex and f.command == P.DIGITAL_MESSAGE:
                        v = P.from7(f.data)
                        dec.update(v >> 2 & 1, v >> 3 & 1, 0.0)

            drain(
                b.feed(
                    bytes(
                        [
                            P.SET_PIN_MODE,
                            2,
                            P.INPUT,
                            P.SET_PIN_MODE,
                            3,
                            P.INPUT,
                            P.REPORT_DIGITAL | 0,
                            1,
                        ]
                    ),
                    0.0,
                )
            )  # the state at start
            drain(b.tick(0.5))
            n = int(rate * seconds)
            for _k in range(n):
                t += 1.0 / rate
                i += 1
                a, bb = seq[i % 4]
                b.set_digital_input(2, a, t)
                b.set_digital_input(3, bb, t)
                if t - last > 0.005:
                    drain(b.tick(t))
                    last = t
            drain(b.tick(t + 1.0))
            rows.append(
                {
                    "rate_requested": rate,
                    "rate_generated": float(rate),
                    "edges": n,
                    "counted": dec.count,
                    "illegal": dec.illegal,
                    "lost": n - dec.count,
                }
            )
        ok = [r for r in rows if r["lost"] == 0 and r["illegal"] == 0]
        baud = 115200 if fw == "FirmataExpress" else 57600
        return {
            "baud": baud,
            "link_capacity_reports_per_s": round(baud / 30.0, 1),
            "rows": rows,
            "max_lossless_edges_per_s": max((r["rate_generated"] for r in ok), default=0.0),
            "lowest_rate_with_loss": min(
                (r["rate_generated"] for r in rows if r not in ok), default=None
            ),
        }

    return {
        "model_ideal_timing_standard_firmata_57600": ideal("StandardFirmata"),
        "model_ideal_timing_firmata_express_115200": ideal("FirmataExpress"),
        "real_standard_firmata_57600": run("real", "StandardFirmata", 57600, emulated, 2.0),
        "model_firmata_express_115200": run("model", "FirmataExpress", 115200, model, 0.05),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--only",
        choices=["latency", "analog", "reconnect", "firmware", "encoders"],
        default=None,
        help="run one part (the JSON then holds only that part)",
    )
    args = ap.parse_args()
    n = 60 if args.quick else 300
    results = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m_at_start": round(os.getloadavg()[0], 2),
            "note": "2 cores shared with other developers' builds and tests",
        },
        "quick": args.quick,
    }
    if args.only in (None, "latency"):
        print("1. wheel_cmd -> pin latency ...", flush=True)
        results["latency"] = lat = bench_latency(n)
        print(
            f"   direct pymata4 write: p50 {lat['baseline_pymata4_direct']['p50_ms']} ms, "
            f"p95 {lat['baseline_pymata4_direct']['p95_ms']} ms"
        )
        r = lat["baseline_minimal_rclpy_relay"]
        print(
            f"   wheel_cmd via a minimal rclpy relay: p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, "
            f"max {r['max_ms']} ms"
        )
        w = lat["wheel_cmd_to_pin"]
        print(
            f"   wheel_cmd via firmata_node: p50 {w['p50_ms']} ms, p95 {w['p95_ms']} ms, "
            f"max {w['max_ms']} ms ({w['n']} samples, {w['lost']} lost); "
            f"p50 {lat['ratio_p50_vs_relay']}x / p95 {lat['ratio_p95_vs_relay']}x the relay"
        )
        m = lat["wheel_cmd_to_pin_motors_only_map"]
        print(
            f"   wheel_cmd via firmata_node, motors-only pin map: p50 {m['p50_ms']} ms, "
            f"p95 {m['p95_ms']} ms, max {m['max_ms']} ms"
        )
    if args.only in (None, "analog"):
        print("2. analog reports over 8 pins ...", flush=True)
        intervals = [20, 5, 2, 1] if args.quick else [20, 10, 5, 3, 2, 1]
        results["analog"] = an = bench_analog(2.0 if args.quick else 4.0, intervals)
        for r in an["rows"]:
            print(
                f"   interval {r['sampling_interval_ms']:>2} ms: requested {r['requested_per_s']:>7}/s,"
                f" sent {r['sent_per_s']:>7}/s ({r['fraction_of_link']:.3f} of link), "
                f"lost {r['lost']}"
            )
        print(
            f"   best loss-free: {an['best_lossless_per_s']}/s = "
            f"{an['best_lossless_fraction_of_link']} of the {an['baud']} baud link "
            f"({an['link_capacity_reports_per_s']}/s)"
        )
    if args.only in (None, "reconnect"):
        print("3. reconnect after unplug ...", flush=True)
        outages = [0.5, 2.0] if args.quick else [0.5, 1.0, 2.0, 4.0]
        results["reconnect"] = rc = bench_reconnect(outages)
        for r in rc["rows"]:
            print(
                f"   outage {r['outage_s']} s: port reopened after {r['port_reopened_s']} s, "
                f"pin map applied after {r['pin_map_reapplied_s']} s"
            )
        print(f"   baseline fresh connect + apply: {rc['baseline_fresh_connect_s']} s")
    if args.only in (None, "firmware"):
        print(
            "4. wheel_cmd -> pin on the real StandardFirmata (emulated) vs the model ...",
            flush=True,
        )
        results["firmware_latency"] = fl = bench_firmware_latency(60 if args.quick else 200)
        for k in ("model_standard_firmata", "real_standard_firmata_emulated"):
            r = fl[k]
            print(
                f"   {k}: p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, max {r['max_ms']} ms "
                f"({r['n']} samples, {r['lost']} lost)"
            )
        print(
            f"   real / model: p50 x{fl['ratio_p50_real_vs_model']}, "
            f"p95 x{fl['ratio_p95_real_vs_model']}"
        )
    if args.only in (None, "encoders"):
        print("5. encoder edge rates decoded without loss ...", flush=True)
        rates = (
            [250, 500, 1000, 1500, 2000, 3000]
            if args.quick
            else [250, 500, 1000, 1500, 1750, 2000, 2500, 3000, 3500, 4000]
        )
        results["encoders"] = en = bench_encoders(rates, 2.0 if args.quick else 3.0)
        for k, v in en.items():
            print(f"   {k} (link {v['link_capacity_reports_per_s']} reports/s):")
            for r in v["rows"]:
                print(
                    f"     {r['rate_generated']:>8}/s: {r['edges']} edges, {r['counted']} counted, "
                    f"{r['illegal']} illegal, {r['lost']} lost"
                )
            print(f"     max loss-free: {v['max_lossless_edges_per_s']} edges/s")
    results["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    out = (
        ROOT
        / "benchmarks"
        / "results"
        / ("firmata.json" if args.only is None else f"firmata_{args.only}.json")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
