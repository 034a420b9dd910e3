"""``make demo`` / ``edgebot demo``: the whole robot in simulation, headless.

    python -m edgebot_cli.demo [--duration S] [--scenario NAME] [--seed N] [--speed X]
                               [--output demo_output] [--stop-when-reached] [name:=value ...]

Starts ``launch/demo.launch.yaml`` (simulator + the real driver, perception, control and MQTT
nodes) with the project's launcher, shows a live one-line status (sim time, rover pose,
follower state, detections/s, telemetry sent), and at the end writes ``summary.json`` and
``run.png`` (the rover's path over the world map; detections and follower state over time) to
the output folder and prints the summary. Parts of the stack that are not installed are left
out (and listed in the summary). A node that dies during the run is named in the summary and
the demo exits 1. Empty ``--duration``/``--scenario`` mean the defaults (until Ctrl-C; the
``open_field`` scenario). ``--duration`` counts simulated seconds (with a wall-clock guard).
``make demo`` without ``DURATION`` passes ``--stop-when-reached --until-time-limit``: the run ends
by itself once the target is reached, or at the scenario's time limit.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from typing import Dict, List, Optional

DEFAULT_SCENARIO = "open_field"
LAUNCH = ("edgebot_bringup", "demo.launch.yaml")

#: launch flag -> the executables it needs
STACK = {
    "firmata": [("edgebot_firmata", "firmata_node")],
    "imu": [("edgebot_imu", "imu_node")],
    "perception": [("edgebot_camera", "camera_node"), ("edgebot_perception", "yolo_node")],
    "control": [("edgebot_control", "base_controller"), ("edgebot_control", "safety_monitor"),
                ("edgebot_control", "target_follower")],
    "mqtt": [("edgebot_mqtt", "mqtt_bridge")],
}
#: topics the simulator's start gate waits for (publishers), per launch flag
GATE_PUBLISHERS = {"firmata": ["sonar/range"], "imu": ["imu/data"],
                   "perception": ["detections"], "control": ["cmd_vel", "wheel_cmd"]}

EXIT_RE = re.compile(r"process \[([^\]]+)\] (?:exited with code (-?\d+)|could not start)")


def executable_exists(pkg: str, exe: str) -> bool:
    try:
        from ament_index_python.packages import get_package_prefix
        return (pathlib.Path(get_package_prefix(pkg)) / "lib" / pkg / exe).exists()
    except Exception:
        return False


def available_stack() -> Dict[str, bool]:
    return {flag: all(executable_exists(p, e) for p, e in exes) for flag, exes in STACK.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------------------------
class Monitor:
    """An rclpy node in this process recording what the demo reports."""

    def __init__(self, target_class: str):
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from diagnostic_msgs.msg import DiagnosticArray
        from nav_msgs.msg import Odometry
        from std_msgs.msg import String

        from edgebot_common import qos
        self.target_class = target_class
        self.lock = threading.Lock()
        self.status: dict = {}
        self.path: List[tuple] = []          # (t, x, y, yaw) ground truth, 10 Hz
        self.odom: List[tuple] = []          # (t, x, y) odometry, 10 Hz
        self.det_times: List[float] = []     # sim time of every detections message
        self.det_target_times: List[float] = []
        self.det_objects = Counter()
        self.det_msgs = 0
        self.states: List[tuple] = []        # (t, state)
        self.state = "-"
        self.diag: Dict[str, dict] = {}
        self.mqtt_stats: dict = {}
        self.sim_t = 0.0
        self._last_path_t = -1.0
        self._last_odom_t = -1.0

        self.context = Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("demo_monitor", context=self.context)
        n = self.node
        n.create_subscription(String, "sim/status", self._on_status, qos.LATCHED)
        n.create_subscription(Odometry, "sim/ground_truth", self._on_truth, qos.SENSOR_DATA)
        n.create_subscription(Odometry, "odom", self._on_odom, qos.SENSOR_DATA)
        n.create_subscription(String, "follower/state", self._on_state, qos.SENSOR_DATA)
        n.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, qos.SENSOR_DATA)
        n.create_subscription(String, "mqtt/stats", self._on_mqtt, qos.SENSOR_DATA)
        try:
            from edgebot_interfaces.msg import Detection2DArray
            n.create_subscription(Detection2DArray, "detections", self._on_det, qos.SENSOR_DATA)
        except ImportError:
            pass
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(n)
        self._stop = False
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self):
        while not self._stop and self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except Exception:
                if self._stop:
                    break

    @staticmethod
    def _t(stamp) -> float:
        return stamp.sec + stamp.nanosec * 1e-9

    def _on_status(self, msg):
        try:
            st = json.loads(msg.data)
        except ValueError:
            return
        with self.lock:
            self.status = st
            self.sim_t = max(self.sim_t, float(st.get("sim_time", 0.0)))

    def _on_truth(self, msg):
        t = self._t(msg.header.stamp)
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        yaw = math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z))
        with self.lock:
            self.sim_t = max(self.sim_t, t)
            self.pose = (p.x, p.y, yaw)
            if t - self._last_path_t >= 0.1:
                self.path.append((t, p.x, p.y, yaw))
                self._last_path_t = t

    def _on_odom(self, msg):
        t = self._t(msg.header.stamp)
        with self.lock:
            if t - self._last_odom_t >= 0.1:
                p = msg.pose.pose.position
                self.odom.append((t, p.x, p.y))
                self._last_odom_t = t

    def _on_state(self, msg):
        text = msg.data
        try:
            d = json.loads(text)
            if isinstance(d, dict) and "state" in d:
                text = str(d["state"])
        except ValueError:
            pass
        with self.lock:
            if text != self.state:
                self.states.append((self.sim_t, text))
                self.state = text

    def _on_det(self, msg):
        t = self._t(msg.header.stamp) or self.sim_t
        names = []
        for d in msg.detections:
            name = getattr(d, "class_name", None) or getattr(d, "label", None) or \
                getattr(d, "class_id", "?")
            names.append(str(name))
        with self.lock:
            self.det_msgs += 1
            self.det_times.append(t)
            self.det_objects.update(names)
            if self.target_class in names:
                self.det_target_times.append(t)

    def _on_diag(self, msg):
        with self.lock:
            for s in msg.status:
                self.diag[s.name] = {"level": int.from_bytes(s.level, "little")
                                     if isinstance(s.level, bytes) else int(s.level),
                                     "message": s.message,
                                     **{kv.key: kv.value for kv in s.values}}

    def _on_mqtt(self, msg):
        try:
            d = json.loads(msg.data)
        except ValueError:
            return
        if isinstance(d, dict):
            with self.lock:
                self.mqtt_stats = d

    def detections_per_s(self, window: float = 3.0) -> float:
        with self.lock:
            t = self.sim_t
            n = sum(1 for x in self.det_times[-200:] if x > t - window)
        return n / window if t > window else (n / t if t > 0 else 0.0)

    def close(self):
        import rclpy
        self._stop = True
        self.thread.join(timeout=2)
        try:
            self.executor.shutdown()
            self.node.destroy_node()
        finally:
            rclpy.try_shutdown(context=self.context)


class MqttCounter:
    """Counts what reaches the embedded broker (telemetry delivered), independently of the
    bridge's own statistics."""

    def __init__(self, port: int):
        self.port = port
        self.count = 0
        self.topics = Counter()
        self.connected = False
        self.client = None
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            return
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"edgebot-demo-{os.getpid()}")
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        c.on_disconnect = lambda *a, **k: setattr(self, "connected", False)
        c.reconnect_delay_set(0.5, 2.0)
        self.client = c
        c.connect_async("127.0.0.1", port, keepalive=30)
        c.loop_start()

    def _on_connect(self, client, userdata, flags, reason, properties=None):
        if not getattr(reason, "is_failure", False):
            self.connected = True
            client.subscribe("#", qos=1)

    def _on_message(self, client, userdata, msg):
        if msg.topic.startswith("$"):
            return
        self.count += 1
        self.topics[msg.topic.split("/")[-1]] += 1

    def close(self):
        if self.client is not None:
            self.client.loop_stop()
            try:
                self.client.disconnect()
            except Exception:
                pass


# ----------------------------------------------------------------------------------------------
def _first(d: dict, *keys, default=None):
    for k in keys:
        if k in d:
            return d[k]
    return default


def telemetry_figures(mon: Monitor, counter: Optional[MqttCounter]) -> dict:
    """The bridge's own counts (sent, acknowledged by the broker, dropped) and what an
    independent subscriber on the broker received; lost = sent - received there."""
    with mon.lock:
        st = dict(mon.mqtt_stats)
    sent = st.get("sent")
    received = counter.count if counter else None
    out = {"sent": sent, "delivered": received,
           "acknowledged": st.get("delivered"), "dropped_by_bridge": st.get("dropped"),
           "spooled": st.get("spooled"), "latency_p95_ms": st.get("latency_p95_ms"),
           "lost": (max(0, int(sent) - received)
                    if isinstance(sent, (int, float)) and received is not None else None),
           "by_topic": dict(counter.topics) if counter else {}}
    return out


def control_figures(mon: Monitor) -> dict:
    with mon.lock:
        return {k: v for k, v in mon.diag.items()
                if k.split(":")[0].strip() in ("base_controller", "safety_monitor",
                                               "target_follower")}


def status_line(mon: Monitor, counter: Optional[MqttCounter]) -> str:
    with mon.lock:
        st = dict(mon.status)
        pose = getattr(mon, "pose", None)
        state = mon.state
        t = mon.sim_t
    if st.get("holding"):
        return f"waiting for the stack to connect: {', '.join(st['holding'])}"
    pose_s = (f"({pose[0]:+.2f}, {pose[1]:+.2f}, {math.degrees(pose[2]):+4.0f}deg)"
              if pose else "(?)")
    tel = telemetry_figures(mon, counter)
    dist = st.get("target_distance")
    return (f"t={t:6.1f}s pose={pose_s} follower={state:<10} "
            f"det/s={mon.detections_per_s():4.1f} mqtt sent={tel['sent'] if tel['sent'] is not None else '-'} "
            f"target={dist if dist is not None else '?'}m rtf={st.get('rtf', 0):.2f}"
            + (" REACHED" if st.get("reached") else ""))


def time_series(times: List[float], t_end: float, bin_s: float = 1.0):
    n = max(1, int(math.ceil(t_end / bin_s)))
    counts = [0] * n
    for t in times:
        i = int(t / bin_s)
        if 0 <= i < n:
            counts[i] += 1
    return [i * bin_s for i in range(n)], [c / bin_s for c in counts]


def write_plot(path: pathlib.Path, scenario, mon: Monitor, summary: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, Polygon, Rectangle

    from edgebot_common import objects

    fig = plt.figure(figsize=(12, 6.5))
    gs = fig.add_gridspec(2, 2, width_ratios=[1.15, 1])
    ax = fig.add_subplot(gs[:, 0])
    fx, fy = scenario.floor.size
    ax.add_patch(Rectangle((-fx / 2, -fy / 2), fx, fy, fc=(0.93, 0.93, 0.93), ec="k", lw=1.5))

    def draw(shape, size, x, y, yaw, color, label=None):
        if shape in ("sphere", "cylinder", "cone"):
            ax.add_patch(Circle((x, y), size[0], fc=color, ec="k", lw=0.8, label=label))
        else:
            c, s = math.cos(yaw), math.sin(yaw)
            hx, hy = size[0] / 2, size[1] / 2
            pts = [(x + c * px - s * py, y + s * px + c * py)
                   for px, py in ((-hx, -hy), (hx, -hy), (hx, hy), (-hx, hy))]
            ax.add_patch(Polygon(pts, closed=True, fc=color, ec="k", lw=0.8, label=label))

    for i, o in enumerate(scenario.obstacles):
        draw(o.shape, o.size, o.x, o.y, o.yaw, o.rgba[:3], "obstacle" if i == 0 else None)
    for d in scenario.distractors:
        oc = objects.by_name(d.cls)
        draw(oc.shape, oc.size, d.x, d.y, d.yaw, oc.rgba[:3])
        ax.annotate(d.cls, (d.x, d.y), textcoords="offset points", xytext=(6, 6), fontsize=8)
    t = scenario.target
    oc = objects.by_name(t.cls)
    draw(oc.shape, oc.size, t.x, t.y, t.yaw, oc.rgba[:3], f"target ({t.cls})")
    ax.add_patch(Circle((t.x, t.y), t.reach_distance + scenario_radius(t.cls), fill=False,
                        ls="--", ec=oc.rgba[:3], lw=1, label="reach distance"))
    with mon.lock:
        truth = list(mon.path)
        odom = list(mon.odom)
        states = list(mon.states)
        det_times = list(mon.det_times)
        tgt_times = list(mon.det_target_times)
    if truth:
        xs, ys = [p[1] for p in truth], [p[2] for p in truth]
        ax.plot(xs, ys, "-", color="tab:blue", lw=2, label="rover (ground truth)")
        ax.plot(xs[0], ys[0], "o", color="tab:green", ms=8, label="start")
        ax.plot(xs[-1], ys[-1], "s", color="tab:red", ms=7, label="end")
        if odom and len(truth) > 1:
            # odometry starts at the start pose in its own frame: show it in the map frame
            x0, y0, yaw0 = truth[0][1], truth[0][2], truth[0][3]
            c, s = math.cos(yaw0), math.sin(yaw0)
            ox = [x0 + c * p[1] - s * p[2] for p in odom]
            oy = [y0 + s * p[1] + c * p[2] for p in odom]
            ax.plot(ox, oy, ":", color="tab:purple", lw=1.5, label="odometry")
    ax.set_xlim(-fx / 2 - 0.2, fx / 2 + 0.2)
    ax.set_ylim(-fy / 2 - 0.2, fy / 2 + 0.2)
    ax.set_aspect("equal")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    res = "reached" if summary.get("reached") else "not reached"
    ax.set_title(f"{scenario.name} (seed {scenario.seed}): target {res}")
    ax.legend(loc="upper left", fontsize=8)

    t_end = max(summary.get("sim_time_s") or 0.0, 1.0)
    a2 = fig.add_subplot(gs[0, 1])
    tt, rate = time_series(det_times, t_end)
    _, trate = time_series(tgt_times, t_end)
    a2.step(tt, rate, where="post", label="detection messages/s")
    a2.step(tt, trate, where="post", label=f"with the target ({t.cls})/s")
    if summary.get("time_to_reach_s") is not None:
        a2.axvline(summary["time_to_reach_s"], color="tab:green", ls="--", label="reached")
    a2.set_ylabel("per second")
    a2.set_xlim(0, t_end)
    a2.legend(fontsize=8)
    a2.set_title("perception")
    a3 = fig.add_subplot(gs[1, 1], sharex=a2)
    if states:
        names = []
        for _, s in states:
            if s not in names:
                names.append(s)
        ts = [s[0] for s in states] + [t_end]
        ys = [names.index(s[1]) for s in states]
        a3.step(ts, ys + [ys[-1]], where="post", color="tab:orange")
        a3.set_yticks(range(len(names)))
        a3.set_yticklabels(names)
    else:
        a3.text(0.5, 0.5, "no follower state received", ha="center", transform=a3.transAxes)
    a3.set_xlabel("simulated time [s]")
    a3.set_title("follower state")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def scenario_radius(cls: str) -> float:
    from edgebot_sim.scenario import footprint_radius
    return footprint_radius(cls)


# ----------------------------------------------------------------------------------------------
class Demo:
    def __init__(self, ns):
        self.ns = ns
        self.out_dir = pathlib.Path(ns.output)
        self.launcher: Optional[subprocess.Popen] = None
        self.crashed: List[dict] = []
        self.launch_lines: List[str] = []
        self._shutting_down = False
        self._lock = threading.Lock()
        self.gate_wall: Optional[float] = None
        self.end_wall: Optional[float] = None

    def _pump(self, stream, log):
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            log.write(line + "\n")
            log.flush()
            m = EXIT_RE.search(line) if line.startswith("[edgebot launch]") else None
            if m:
                with self._lock:
                    if not self._shutting_down:
                        code = int(m.group(2)) if m.group(2) is not None else 127
                        self.crashed.append({"node": m.group(1), "exit_code": code})
            if self.ns.verbose:
                print(line, flush=True)

    def run(self) -> int:
        from edgebot_sim import scenario as S

        ns = self.ns
        scenario_name = ns.scenario or DEFAULT_SCENARIO
        try:
            scen = S.load(scenario_name).resolved(ns.seed)
        except S.ScenarioError as e:
            print(f"edgebot demo: {e}", file=sys.stderr)
            return 2
        if ns.duration is None and ns.until_time_limit:
            ns.duration = float(scen.time_limit) + 2.0      # the scenario's limit, then a summary
        self.out_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.out_dir / "demo", ignore_errors=True)   # the previous run's bag
        stack = available_stack()
        missing = [f for f, ok in stack.items() if not ok]
        for flag in STACK:
            if getattr(ns, f"no_{flag}", False):
                stack[flag] = False
        tmp = tempfile.mkdtemp(prefix="edgebot-demo-")
        ports = {"camera_port": free_port(), "imu_port": free_port(), "mqtt_port": free_port()}
        gate_pubs = [t for f, ok in stack.items() if ok for t in GATE_PUBLISHERS.get(f, [])]
        args = [f"scenario:={scenario_name}", f"seed:={scen.seed}", f"speed:={ns.speed}",
                f"mqtt_spool:={tmp}/mqtt_spool.db",
                f"target_class:={scen.target.cls}", f"arduino_link:={tmp}/arduino",
                f"start_publishers:={','.join(gate_pubs)}",
                f"record_dir:={self.out_dir.resolve()}"]
        args += [f"{k}:={v}" for k, v in ports.items()]
        args += [f"{flag}:={'true' if ok else 'false'}" for flag, ok in stack.items()]
        args += ns.launch_args
        cmd = [sys.executable, "-m", "edgebot_cli.main", "launch", ns.launch_pkg, ns.launch_file,
               *args]
        print(f"edgebot demo: scenario {scen.name} (seed {scen.seed}), target {scen.target.cls} "
              f"at ({scen.target.x:.2f}, {scen.target.y:.2f}); "
              f"duration {'%gs' % ns.duration if ns.duration else 'until Ctrl-C'}; "
              f"output {self.out_dir}/", flush=True)
        if missing:
            print(f"edgebot demo: not installed, left out: {', '.join(missing)}", flush=True)

        mon = Monitor(scen.target.cls)
        counter = MqttCounter(ports["mqtt_port"]) if stack["mqtt"] else None
        log = open(self.out_dir / "launch.log", "w")
        self.launcher = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        pump = threading.Thread(target=self._pump, args=(self.launcher.stdout, log), daemon=True)
        pump.start()

        interrupted = False
        end_reason = ""
        wall0 = time.monotonic()
        tty = sys.stdout.isatty()
        last_print = 0.0
        reached_at_wall = None
        old_int = signal.getsignal(signal.SIGINT)

        def on_sig(signum, frame):
            raise KeyboardInterrupt
        # explicit handlers: a shell may start us with SIGINT ignored (background jobs)
        signal.signal(signal.SIGTERM, on_sig)
        signal.signal(signal.SIGINT, on_sig)
        try:
            while True:
                time.sleep(0.25)
                line = status_line(mon, counter)
                now = time.monotonic()
                if tty:
                    sys.stdout.write("\r" + line[:160].ljust(160))
                    sys.stdout.flush()
                elif now - last_print >= ns.status_period:
                    print(line, flush=True)
                    last_print = now
                with mon.lock:
                    st = dict(mon.status)
                    sim_t = mon.sim_t
                if self.gate_wall is None and sim_t > 0:
                    self.gate_wall = now
                if self.crashed:
                    end_reason = f"node crashed: {self.crashed[0]['node']}"
                    break
                if self.launcher.poll() is not None:
                    end_reason = f"launcher exited with code {self.launcher.returncode}"
                    break
                if st.get("error"):
                    end_reason = f"simulator failed: {st['error']}"
                    break
                if ns.duration and sim_t >= ns.duration:
                    end_reason = f"duration {ns.duration:g} s reached"
                    break
                if ns.duration and now - wall0 > ns.duration * ns.wall_factor + ns.startup_s:
                    end_reason = (f"wall-clock guard: {now - wall0:.0f} s passed, simulated time "
                                  f"{sim_t:.1f} s")
                    break
                if ns.stop_when_reached and st.get("reached"):
                    reached_at_wall = reached_at_wall or now
                    if now - reached_at_wall > 1.0:
                        end_reason = "target reached"
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
            time.sleep(0.6)                     # the last status publication
            with mon.lock:
                final_status = dict(mon.status)
            code = self._stop_launcher()
            pump.join(timeout=5)
            log.close()
            summary = self._summary(scen, mon, counter, final_status, stack, end_reason,
                                    time.monotonic() - wall0, code)
            (self.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
            try:
                write_plot(self.out_dir / "run.png", scen, mon, summary)
            except Exception as e:  # noqa: BLE001 - the summary must still come out
                print(f"edgebot demo: plot failed: {e}", file=sys.stderr)
            mon.close()
            if counter:
                counter.close()
            signal.signal(signal.SIGINT, old_int if old_int is not None else signal.SIG_DFL)
            self._print_summary(summary)
        if self.crashed or final_status.get("error") or (
                self.launcher.returncode not in (0, None) and not interrupted and
                end_reason.startswith("launcher")):
            return 1
        return 0

    def _stop_launcher(self) -> Optional[int]:
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

    def _summary(self, scen, mon, counter, st, stack, end_reason, wall_s, launcher_code):
        with mon.lock:
            sim_t = max(mon.sim_t, float(st.get("sim_time", 0.0) or 0.0))
            det_msgs = mon.det_msgs
            det_objects = dict(mon.det_objects)
            n_target = len(mon.det_target_times)
            states = list(mon.states)
        durations = defaultdict(float)
        for (t0, s), nxt in zip(states, states[1:] + [(sim_t, None)]):
            durations[s] += max(0.0, nxt[0] - t0)
        reached_at = st.get("reached_at")
        return {
            "scenario": scen.name, "seed": scen.seed,
            "target": {"class": scen.target.cls, "x": round(scen.target.x, 3),
                       "y": round(scen.target.y, 3),
                       "reach_distance": scen.target.reach_distance},
            "time_limit_s": scen.time_limit,
            "reached": bool(st.get("reached")),
            "time_to_reach_s": reached_at,
            "within_time_limit": bool(reached_at is not None and reached_at <= scen.time_limit),
            "distance_left_m": st.get("target_distance"),
            "final_pose": st.get("pose"),
            "min_obstacle_clearance_m": st.get("min_obstacle_clearance"),
            "sim_time_s": round(sim_t, 3), "wall_time_s": round(wall_s, 2),
            "real_time_factor": round(sim_t / wall_s, 3) if wall_s > 0 else None,
            "real_time_factor_running": (round(sim_t / (self.end_wall - self.gate_wall), 3)
                                         if self.gate_wall and self.end_wall > self.gate_wall
                                         else None),
            "startup_wall_s": (round(self.gate_wall - (self.end_wall - wall_s), 2)
                               if self.gate_wall else None),
            "detections": {"messages": det_msgs,
                           "per_s": round(det_msgs / sim_t, 2) if sim_t > 0 else 0.0,
                           "objects_by_class": det_objects, "messages_with_target": n_target},
            "follower": {"final_state": states[-1][1] if states else None,
                         "seconds_by_state": {k: round(v, 2) for k, v in durations.items()},
                         "transitions": len(states)},
            "control_loop": control_figures(mon),
            "telemetry": telemetry_figures(mon, counter),
            "camera_frames": st.get("camera_frames"),
            "stack": stack,
            "crashed": self.crashed,
            "end_reason": end_reason,
            "launcher_exit_code": launcher_code,
            "outputs": {"summary": str(self.out_dir / "summary.json"),
                        "plot": str(self.out_dir / "run.png"),
                        "recording": str(self.out_dir / "demo"),
                        "launch_log": str(self.out_dir / "launch.log")},
        }

    @staticmethod
    def _print_summary(s: dict) -> None:
        print("=" * 72)
        print(f"scenario {s['scenario']} seed {s['seed']}: target {s['target']['class']} "
              + ("REACHED at t=%.1f s" % s["time_to_reach_s"] if s["reached"]
                 else "not reached") + f" (limit {s['time_limit_s']:g} s)")
        print(f"distance left {s['distance_left_m']} m; simulated {s['sim_time_s']} s in "
              f"{s['wall_time_s']} s wall (start-up {s['startup_wall_s']} s; real-time factor "
              f"{s['real_time_factor_running']} once running)")
        d = s["detections"]
        print(f"detections: {d['messages']} messages ({d['per_s']}/s), objects "
              f"{d['objects_by_class']}")
        print(f"follower: {s['follower']['seconds_by_state']}")
        t = s["telemetry"]
        print(f"telemetry: sent {t['sent']}, delivered {t['delivered']}, lost {t['lost']}")
        left = [k for k, v in s["stack"].items() if not v]
        if left:
            print(f"left out: {', '.join(left)}")
        if s["crashed"]:
            for c in s["crashed"]:
                print(f"CRASHED: node {c['node']} exited with code {c['exit_code']}")
        print(f"ended: {s['end_reason']}; summary {s['outputs']['summary']}, plot "
              f"{s['outputs']['plot']}, recording (rosbag2 MCAP) {s['outputs']['recording']}")
        print("=" * 72, flush=True)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="edgebot demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", default="", help="simulated seconds; empty = until Ctrl-C")
    ap.add_argument("--until-time-limit", action="store_true",
                    help="with no --duration: end at the scenario's time limit (make demo)")
    ap.add_argument("--scenario", default="", help=f"scenario name or path (default "
                                                   f"{DEFAULT_SCENARIO})")
    ap.add_argument("--seed", type=int, default=-1, help="-1 = the scenario's seed")
    ap.add_argument("--speed", type=float, default=1.0, help="simulator real-time factor target")
    ap.add_argument("--output", default="demo_output", help="folder for summary.json, run.png")
    ap.add_argument("--stop-when-reached", action="store_true",
                    help="end one second after the target is reached")
    ap.add_argument("--status-period", type=float, default=5.0,
                    help="seconds between status lines when stdout is not a terminal")
    ap.add_argument("--wall-factor", type=float, default=4.0,
                    help="wall-clock guard: end after duration*factor + startup seconds")
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


def main(argv=None) -> int:
    ns = parse_args(argv)
    return Demo(ns).run()


if __name__ == "__main__":
    sys.exit(main())
