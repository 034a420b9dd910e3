"""The demo's run loop: start the launch file, show the status, end, summarise."""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from . import summary as S
from .stack import (
    DEFAULT_SCENARIO,
    EXIT_RE,
    FLEET_LAUNCH,
    FLEET_SCENARIO,
    HOSTED_RE,
    LAUNCH,
    STACK,
    available_stack,
    free_port,
    launch_args,
    robots_of,
)


class Demo:
    def __init__(self, ns):
        self.ns = ns
        self.out_dir = pathlib.Path(ns.output)
        self.launcher: subprocess.Popen | None = None
        self.crashed: list[dict] = []
        self.hosted: dict[str, list[str]] = {}  # composed process -> its nodes that failed
        self._shutting_down = False
        self._lock = threading.Lock()
        self.gate_wall: float | None = None
        self.end_wall: float | None = None

    def _pump(self, stream, log):
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            log.write(line + "\n")
            log.flush()
            h = HOSTED_RE.search(line)
            if h and (h.group(2) or h.group(3)) != h.group(1):  # a node in a composed process
                self.hosted.setdefault(h.group(1), []).append(h.group(2) or h.group(3))
            m = EXIT_RE.search(line) if line.startswith("[edgebot launch]") else None
            if m:
                with self._lock:
                    if not self._shutting_down:
                        code = int(m.group(2)) if m.group(2) is not None else 127
                        c = {"node": m.group(1), "exit_code": code}
                        if m.group(1) in self.hosted:
                            c["hosted"] = self.hosted[m.group(1)]
                        self.crashed.append(c)
            if self.ns.verbose:
                print(line, flush=True)

    def run(self) -> int:
        from edgebot_sim import scenario as Scn

        from .monitor import Monitor, MqttCounter
        from .plot import write_plot

        ns = self.ns
        try:
            robots = robots_of(ns.launch_args)  # robots:=N > 1: a fleet (make demo ROBOTS=N)
            if robots > 1 and ns.launch_file == LAUNCH[1]:
                ns.launch_file = FLEET_LAUNCH
            scenario_name = ns.scenario or (FLEET_SCENARIO if robots > 1 else DEFAULT_SCENARIO)
            # rover1's start and target in a fleet: the rover the demo watches
            base = Scn.load(scenario_name).resolved(ns.seed)
            fleet_scens = [base.for_rover(k, robots) for k in range(1, robots + 1)]
            scen = fleet_scens[0]
        except ValueError as e:  # ScenarioError, or a bad robots:=
            print(f"edgebot demo: {e}", file=sys.stderr)
            return 2
        try:
            mission_file = mission_path(ns.mission, scen.name)
        except FileNotFoundError as e:
            print(f"edgebot demo: --mission {ns.mission!r}: {e}", file=sys.stderr)
            return 2
        if ns.duration is None and ns.until_time_limit:
            ns.duration = float(scen.time_limit) + 2.0  # the scenario's limit, then a summary
        self.out_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.out_dir / "demo", ignore_errors=True)  # the previous run's bag
        stack = available_stack()
        missing = [f for f, ok in stack.items() if not ok]
        for flag in STACK:
            if getattr(ns, f"no_{flag}", False):
                stack[flag] = False
        tmp = tempfile.mkdtemp(prefix="edgebot-demo-")
        ports = {"camera_port": free_port(), "imu_port": free_port(), "mqtt_port": free_port()}
        args = launch_args(
            scenario_name,
            scen.seed,
            ns.speed,
            scen.target.cls,
            tmp,
            str(self.out_dir.resolve()),
            ports,
            stack,
            ns.launch_args,
        )
        if mission_file:
            args += ["mission:=true", f"mission_file:={mission_file}"]
        cmd = [
            sys.executable,
            "-m",
            "edgebot_cli.main",
            "launch",
            ns.launch_pkg,
            ns.launch_file,
            *args,
        ]
        print(
            f"edgebot demo: scenario {scen.name} (seed {scen.seed}), target {scen.target.cls} "
            f"at ({scen.target.x:.2f}, {scen.target.y:.2f}); "
            f"duration {f'{ns.duration:g}s' if ns.duration else 'until Ctrl-C'}; "
            f"output {self.out_dir}/",
            flush=True,
        )
        if missing:
            print(f"edgebot demo: not installed, left out: {', '.join(missing)}", flush=True)
        if mission_file:
            print(f"edgebot demo: mission {mission_file}", flush=True)

        mon = Monitor(scen.target.cls)
        counter = MqttCounter(ports["mqtt_port"]) if stack["mqtt"] else None
        log = open(self.out_dir / "launch.log", "w")
        self.launcher = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        pump = threading.Thread(target=self._pump, args=(self.launcher.stdout, log), daemon=True)
        pump.start()

        interrupted = False
        end_reason = ""
        wall0 = time.monotonic()
        tty = sys.stdout.isatty()
        last_print = 0.0
        reached_at_wall = None
        mission_done_wall = None
        old_int = signal.getsignal(signal.SIGINT)

        def on_sig(signum, frame):
            raise KeyboardInterrupt

        # explicit handlers: a shell may start us with SIGINT ignored (background jobs)
        signal.signal(signal.SIGTERM, on_sig)
        signal.signal(signal.SIGINT, on_sig)
        try:
            while True:
                time.sleep(0.25)
                snap = mon.snapshot()
                line = S.status_line(snap, counter.figures() if counter else None)
                now = time.monotonic()
                if tty:
                    sys.stdout.write("\r" + line[:160].ljust(160))
                    sys.stdout.flush()
                elif now - last_print >= ns.status_period:
                    print(line, flush=True)
                    last_print = now
                if self.gate_wall is None and snap["sim_t"] > 0:
                    self.gate_wall = now
                if ns.stop_when_reached and snap["status"].get("reached") and not mission_file:
                    reached_at_wall = reached_at_wall or now  # a mission's end is its own
                if S.missions_done(snap, robots):  # a fleet: every rover's
                    mission_done_wall = mission_done_wall or now
                end_reason = S.end_reason(
                    S.RunState(
                        sim_t=snap["sim_t"],
                        status=snap["status"],
                        crashed=list(self.crashed),
                        launcher_code=self.launcher.poll(),
                        wall_elapsed=now - wall0,
                        reached_for=(now - reached_at_wall) if reached_at_wall else None,
                        mission_done_for=(now - mission_done_wall) if mission_done_wall else None,
                    ),
                    ns.duration,
                    ns.wall_factor,
                    ns.startup_s,
                    ns.stop_when_reached,
                )
                if end_reason:
                    break
        except KeyboardInterrupt:
            interrupted = True
            end_reason = "interrupted (Ctrl-C)"
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            if tty:
                sys.stdout.write("\n")
            with self._lock:
                self._shutting_down = True
            self.end_wall = time.monotonic()
            time.sleep(0.6)  # the last status publication
            final_status = mon.snapshot()["status"]
            code = self._stop_launcher()
            pump.join(timeout=5)
            log.close()
            snap = mon.snapshot()
            summary = S.build_summary(
                scen,
                snap,
                counter.figures() if counter else None,
                final_status,
                stack,
                self.crashed,
                end_reason,
                time.monotonic() - wall0,
                code,
                self.gate_wall,
                self.end_wall,
                self.out_dir,
                fleet_scens=fleet_scens,
            )
            (self.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
            try:
                write_plot(self.out_dir / "run.png", scen, snap, summary)
            except Exception as e:
                print(f"edgebot demo: plot failed: {e}", file=sys.stderr)
            mon.close()
            if counter:
                counter.close()
            signal.signal(signal.SIGINT, old_int if old_int is not None else signal.SIG_DFL)
            print(S.format_summary(summary), flush=True)
        if (
            self.crashed
            or final_status.get("error")
            or (
                self.launcher.returncode not in (0, None)
                and not interrupted
                and end_reason.startswith("launcher")
            )
        ):
            return 1
        return 0

    def _stop_launcher(self) -> int | None:
        p = self.launcher
        if p is None:
            return None
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        return p.returncode


def mission_path(name: str, scenario_name: str) -> str:
    """The mission file a run uses: ``name`` (a path or config/missions/<name>.yaml), '' for
    'none'; with no name, the mission named like the scenario when there is one."""
    from edgebot_sim import paths

    if name == "none":
        return ""
    if name:
        return str(paths.resource("config/missions", name, ".yaml"))
    try:
        return str(paths.resource("config/missions", scenario_name, ".yaml"))
    except FileNotFoundError:
        return ""


def parse_args(argv=None, doc: str = ""):
    ap = argparse.ArgumentParser(
        prog="edgebot demo", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--duration", default="", help="simulated seconds; empty = until Ctrl-C")
    ap.add_argument(
        "--until-time-limit",
        action="store_true",
        help="with no --duration: end at the scenario's time limit (make demo)",
    )
    ap.add_argument(
        "--scenario", default="", help=f"scenario name or path (default {DEFAULT_SCENARIO})"
    )
    ap.add_argument(
        "--mission",
        default="",
        help="mission file (config/missions/<name>.yaml or a path); default: the one named "
        "like the scenario, if any; 'none': no mission (the follower drives)",
    )
    ap.add_argument("--seed", type=int, default=-1, help="-1 = the scenario's seed")
    ap.add_argument("--speed", type=float, default=1.0, help="simulator real-time factor target")
    ap.add_argument("--output", default="demo_output", help="folder for summary.json, run.png")
    ap.add_argument(
        "--stop-when-reached",
        action="store_true",
        help="end one second after the target is reached (a mission: after it is done)",
    )
    ap.add_argument(
        "--status-period",
        type=float,
        default=5.0,
        help="seconds between status lines when stdout is not a terminal",
    )
    ap.add_argument(
        "--wall-factor",
        type=float,
        default=4.0,
        help="wall-clock guard: end after duration*factor + startup seconds",
    )
    ap.add_argument("--startup-s", type=float, default=120.0, help="see --wall-factor")
    ap.add_argument("--launch-pkg", default=LAUNCH[0])
    ap.add_argument("--launch-file", default=LAUNCH[1])
    for flag in STACK:
        ap.add_argument(f"--no-{flag}", action="store_true", help=f"leave out {flag}")
    ap.add_argument("-v", "--verbose", action="store_true", help="show the nodes' output")
    ap.add_argument("launch_args", nargs="*", help="extra name:=value launch arguments")
    ns = ap.parse_args(argv)
    if ns.duration in ("", None):
        ns.duration = None
    else:
        try:
            ns.duration = float(ns.duration)
        except ValueError:
            ap.error(f"--duration {ns.duration!r}: must be a number of seconds (or empty)")
        if not ns.duration > 0:
            ap.error(f"--duration {ns.duration!r}: must be > 0")
    for a in ns.launch_args:
        if ":=" not in a:
            ap.error(f"{a!r}: extra arguments must be name:=value")
    return ns
