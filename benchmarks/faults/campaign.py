#!/usr/bin/env python3
"""The whole-robot fault campaign (``make faults``).

Runs the demo robot (launch/demo.launch.yaml through ``edgebot launch``, as ``make demo`` does:
simulator with the virtual Arduino, IMU and camera, and every driver, perception, control and
MQTT node) and, while the rover drives towards the ball, injects ONE fault at a time:

- ``kill:<node>``          SIGKILL, the node stays dead for ``--hold`` s, then is started again
                           (as an operator would);
- ``kill+respawn:<node>``  SIGKILL and an immediate restart (as ``respawn: true`` would);
- ``stop:<node>``          SIGSTOP for ``--hold`` s (longer than any heartbeat), then SIGCONT;
- ``estop``                the e-stop engaged for ``--hold`` s, then released;
- ``estop+restart:safety_monitor``  e-stop engaged, safety_monitor killed and restarted: the
                           e-stop must still hold, then it is released;
- ``sim:<fault>``          a simulator fault hook (edgebot_sim.faults) on for ``--hold`` s:
                           camera_down, arduino_unplugged, imu_errors, imu_gone, clock_stall;
- ``broker``               the MQTT broker (the campaign's own mosquitto; the bridge runs with
                           ``mqtt_embedded:=false``) stopped (SIGTERM) for ``--hold`` s and
                           started again: the bridge must report the outage and reconnect by
                           itself, and no QoS 1 telemetry may be lost.

For every trial it records, from the board's OWN pin record (the virtual Arduino's output log,
``EDGEBOT_BOARD_OUTPUT_LOG``) the wall time from the fault to the motor pins at zero, from the
simulator's ground truth the simulated time to a standstill, whether (and how fast) the rover
moves again once the fault is cleared, what QoS 1 telemetry an independent MQTT subscriber
missed (message by message: ledger.py), and any process left behind at the end. The invariants (analysis.violations) are
checked per trial; the exit status is 1 when any is broken.

    python benchmarks/faults/campaign.py [--faults all|quick|NAME,...] [--trials N]
                                         [--output fault_output] [--save]

writes ``faults.json``, ``faults.md`` (the table) and ``timeline_<fault>.png`` per trial to the
output folder; ``--save`` also writes benchmarks/results/faults.json and faults.md.
"""

from __future__ import annotations

import argparse
import json
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

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import analysis as A  # noqa: E402
from ledger import Ledger, spooled  # noqa: E402

ROOT = HERE.parents[1]
MOSQUITTO = "/usr/sbin/mosquitto"
STARTED_RE = re.compile(r"process started \[([^\]]+)\] pid (\d+)")

#: nodes the rover needs to move safely: losing one must bring it to a standstill in 1.0 s
NEEDED = [
    "camera_node",
    "yolo_node",
    "target_follower",
    "safety_monitor",
    "base_controller",
    "firmata_node",
]
#: sources of motion authority -> (the timeout that guards their loss, where it is set)
AUTHORITY = {
    "target_follower": ("safety_monitor sources.follower.timeout", 0.5),
    "safety_monitor": ("base_controller command_timeout", 0.25),
    "base_controller": ("firmata_node command_timeout", 0.25),
    "firmata_node": ("the board's FirmataExpress keep-alive, firmata_node keep_alive", 1.0),
}
OTHERS = ["imu_node", "mqtt_bridge"]
#: simulator fault hooks (edgebot_sim.faults) -> whether the rover must stop while it holds
SIM_FAULTS = {
    "camera_down": True,
    "arduino_unplugged": True,
    "imu_errors": False,
    "imu_gone": False,
    "clock_stall": True,
}
#: the node that talks to the device a simulator fault hits (restarted as a repair when the
#: rover did not resume by itself, so the campaign can go on)
SIM_FAULT_NODE = {
    "camera_down": "camera_node",
    "arduino_unplugged": "firmata_node",
    "imu_errors": "imu_node",
    "imu_gone": "imu_node",
    "clock_stall": None,
}
STANDSTILL_LIMIT = 1.0

QUICK = [
    "kill:yolo_node",
    "stop:camera_node",
    "kill+respawn:safety_monitor",
    "estop+restart:safety_monitor",
    "kill+respawn:mqtt_bridge",  # zero QoS 1 telemetry lost across a bridge restart
    "broker",  # ... and across a broker outage
]


def all_faults() -> list[str]:
    out = []
    for n in NEEDED + OTHERS:
        out += [f"kill:{n}", f"kill+respawn:{n}"]
    out += [f"stop:{n}" for n in NEEDED]
    out += [f"sim:{n}" for n in SIM_FAULTS] + ["broker"]
    return out + ["estop", "estop+restart:safety_monitor"]


# ----------------------------------------------------------------------------------------------
class LedgerSubscriber:
    """The independent MQTT consumer of the QoS 1 ledger: a persistent session (clean_session
    false, fixed client id) subscribed at QoS 1 to everything, so messages queued for it while
    it is away -- the broker restarting, the bridge reconnecting first -- still reach it."""

    def __init__(self, port: int, ledger: Ledger):
        import paho.mqtt.client as mqtt

        self.ledger = ledger
        self.connected = False
        c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"edgebot-fault-ledger-{os.getpid()}",
            clean_session=False,
        )
        c.on_connect = self._on_connect
        c.on_message = lambda _c, _u, m: self.ledger.on_message(m.topic, m.payload)
        c.on_disconnect = lambda *a, **k: setattr(self, "connected", False)
        c.reconnect_delay_set(0.2, 1.0)
        self.client = c
        c.connect_async("127.0.0.1", port, keepalive=30)
        c.loop_start()

    def _on_connect(self, client, userdata, flags, reason, properties=None):
        if not getattr(reason, "is_failure", False):
            client.subscribe("#", qos=1)
            self.connected = True

    def close(self):
        self.client.loop_stop()
        try:
            self.client.disconnect()
        except Exception:
            pass


class Robot:
    """The demo stack under test, the campaign's ROS node, and the board's pin record."""

    def __init__(self, out_dir: pathlib.Path, scenario: str, seed: int, log=print):
        from edgebot_cli.demo.stack import available_stack, free_port, launch_args
        from edgebot_sim import scenario as Scn

        self.log = log
        self.out_dir = out_dir
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="edgebot-faults-"))
        self.board_log = self.tmp / "board_output.log"
        self.scen = Scn.load(scenario).resolved(seed)
        self.seed = self.scen.seed
        stack = available_stack()
        missing = [k for k, ok in stack.items() if not ok]
        if missing:
            raise RuntimeError(f"the campaign needs the whole stack; not installed: {missing}")
        self.ports = {"camera_port": free_port(), "imu_port": free_port(), "mqtt_port": free_port()}
        # a broker of its own (mosquitto, as a deployed robot has), so that the broker can fail
        # apart from the bridge
        self.broker_conf = self.tmp / "mosquitto.conf"
        self.broker_conf.write_text(
            f"listener {self.ports['mqtt_port']} 127.0.0.1\n"
            f"allow_anonymous true\n"
            # the ledger subscriber's session (and what is queued for it) survives the broker
            # restart of the 'broker' fault, as a cloud consumer's would
            f"persistence true\npersistence_location {self.tmp}/\n"
            f"max_queued_messages 0\n"
        )
        self.broker: subprocess.Popen | None = None
        self.start_broker()
        args = launch_args(
            scenario,
            self.seed,
            1.0,
            self.scen.target.cls,
            str(self.tmp),
            str(self.tmp / "rec"),
            self.ports,
            stack,
            ["record:=false", "mqtt_embedded:=false"],
        )
        env = dict(os.environ, EDGEBOT_BOARD_OUTPUT_LOG=str(self.board_log), PYTHONUNBUFFERED="1")
        self.pids: dict[str, int] = {}
        self.cmds: dict[str, tuple] = {}
        self.restarted: list[subprocess.Popen] = []
        self._lock = threading.Lock()
        self.launch_log = open(out_dir / "launch.log", "w")
        self.launcher = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "edgebot_cli.main",
                "launch",
                "edgebot_bringup",
                "demo.launch.yaml",
                "composed:=false",  # kills and restarts single nodes: one process per node
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()

        from edgebot_common.background import BackgroundNode
        from edgebot_sim.episodes import EpisodeRunner

        self.ledger = Ledger()
        self.ledger_sub = LedgerSubscriber(self.ports["mqtt_port"], self.ledger)
        self.bg = BackgroundNode("fault_campaign")
        self._subscribe()
        self.episodes = EpisodeRunner(self.bg.node)
        from edgebot_firmata import pinmap

        pm = pinmap.load(str(ROOT / "config" / "firmata.yaml"))
        self.speed_fns = [
            pm.motor_for_joint(j).wheel_speed for j in ("left_wheel_joint", "right_wheel_joint")
        ]

    def start_broker(self) -> None:
        log = open(self.out_dir / "mosquitto.log", "a")
        self.broker = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.broker_conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        port = self.ports["mqtt_port"]
        t_end = time.monotonic() + 20
        while time.monotonic() < t_end:
            with socket.socket() as sk:
                if sk.connect_ex(("127.0.0.1", port)) == 0:
                    return
            if self.broker.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.broker.returncode}")
            time.sleep(0.05)
        raise TimeoutError(f"mosquitto not listening on {port}")

    def kill_broker(self) -> None:
        self.broker.terminate()  # mosquitto saves its persistence (sessions, queues) and exits
        self.broker.wait(timeout=10)

    def mqtt_connected(self) -> bool:
        return bool(self.mqtt_stats.get("connected"))

    # -- the launcher's output: which pid runs which node -----------------------------------
    def _pump(self):
        for raw in iter(self.launcher.stdout.readline, b""):
            line = raw.decode(errors="replace")
            self.launch_log.write(line)
            self.launch_log.flush()
            m = STARTED_RE.search(line)
            if m:
                with self._lock:
                    self.pids[m.group(1)] = int(m.group(2))

    def _subscribe(self):
        from nav_msgs.msg import Odometry
        from std_msgs.msg import Bool, String
        from std_srvs.srv import SetBool

        from edgebot_common import qos

        self.truth: list[A.Truth] = []
        self.follower_states: list[tuple] = []
        self.estop_msgs: list[tuple] = []
        self.mqtt_stats: dict = {}
        n = self.bg.node

        def on_truth(m):
            tw = m.twist.twist
            self.truth.append(
                A.Truth(
                    time.monotonic(),
                    m.header.stamp.sec + m.header.stamp.nanosec * 1e-9,
                    tw.linear.x,
                    tw.angular.z,
                )
            )

        def on_stats(m):
            # the independent count is read at the very moment the bridge's statistics arrive,
            # so the two describe the same instant (give or take the broker's latency)
            try:
                self.mqtt_stats = json.loads(m.data)
                self.ledger.on_stats(self.mqtt_stats)
            except (ValueError, AttributeError):
                pass

        n.create_subscription(Odometry, "sim/ground_truth", on_truth, qos.SENSOR_DATA)
        n.create_subscription(
            String,
            "follower/state",
            lambda m: self.follower_states.append((time.monotonic(), m.data)),
            qos.LATCHED,
        )
        n.create_subscription(
            Bool, "estop", lambda m: self.estop_msgs.append((time.monotonic(), m.data)), qos.LATCHED
        )
        n.create_subscription(String, "mqtt/stats", on_stats, qos.SENSOR_DATA)
        self.estop_client = n.create_client(SetBool, "estop")

    # -- state ----------------------------------------------------------------------------
    def alive(self) -> bool:
        if self.launcher.poll() is not None:
            raise RuntimeError(f"the launcher ended with code {self.launcher.returncode}")
        return True

    def wait(self, pred, timeout: float, what: str, interval: float = 0.05):
        t_end = time.monotonic() + timeout
        while True:
            self.alive()
            v = pred()
            if v:
                return v
            if time.monotonic() > t_end:
                raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
            time.sleep(interval)

    def wait_ready(self, timeout: float = 240.0):
        self.wait(
            lambda: self.episodes.status.get("holding", "x") is None and len(self.truth) > 10,
            timeout,
            "the demo stack to start",
            interval=0.2,
        )

    def timeline(self) -> list:
        try:
            text = self.board_log.read_text()
        except FileNotFoundError:
            return []
        return A.wheel_timeline(A.parse_board_log(text), self.speed_fns)

    def status(self) -> dict:
        return dict(self.episodes.status)

    # -- processes ------------------------------------------------------------------------
    def pid(self, node: str) -> int:
        with self._lock:
            return self.pids[node]

    def kill(self, node: str, sig=signal.SIGKILL) -> None:
        pid = self.pid(node)
        if node not in self.cmds:
            cmd = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
            env = dict(
                kv.split(b"=", 1)
                for kv in pathlib.Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                if b"=" in kv
            )
            cwd = os.readlink(f"/proc/{pid}/cwd")
            self.cmds[node] = (
                [c.decode() for c in cmd],
                {k.decode(): v.decode() for k, v in env.items()},
                cwd,
            )
        os.kill(pid, sig)

    def restart(self, node: str) -> None:
        """Start the node again with its very command line and environment."""
        cmd, env, cwd = self.cmds[node]
        log = open(self.out_dir / f"{node}.restarted.log", "a")
        p = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.restarted.append(p)
        with self._lock:
            self.pids[node] = p.pid

    def has_sim_fault_hooks(self, timeout: float = 30.0) -> bool:
        from rcl_interfaces.srv import ListParameters

        cli = self.bg.node.create_client(ListParameters, "/sim_node/list_parameters")
        res = self.episodes._call(cli, ListParameters.Request(prefixes=["fault"]), timeout)
        return any(n.startswith("fault.") for n in res.result.names)

    def set_sim_fault(self, name: str, on: bool, timeout: float = 30.0) -> None:
        """``fault.<name>`` on sim_node (edgebot_sim.faults)."""
        from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
        from rcl_interfaces.srv import SetParameters

        req = SetParameters.Request(
            parameters=[
                Parameter(
                    name=f"fault.{name}",
                    value=ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=bool(on)),
                )
            ]
        )
        res = self.episodes._call(self.episodes._set, req, timeout)
        if not res.results[0].successful:
            raise RuntimeError(f"fault.{name} = {on}: {res.results[0].reason}")

    def set_estop(self, engaged: bool, timeout: float = 60.0) -> float:
        """Call the estop service; a request to a just-restarted monitor can go unanswered
        (its reply writer has not matched our reader yet): SetBool is idempotent, so ask
        again every 2 s until answered. Returns when the answered request was sent (the
        monitor took it at or after that moment): the time the e-stop really engaged, not the
        time spent finding a service that was still starting."""
        from std_srvs.srv import SetBool

        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            if not self.estop_client.wait_for_service(timeout_sec=2.0):
                continue
            sent = time.monotonic()
            fut = self.estop_client.call_async(SetBool.Request(data=engaged))
            try:
                self.wait(fut.done, 2.0, "the estop service's answer", interval=0.01)
                return sent
            except TimeoutError:
                self.estop_client.remove_pending_request(fut)
        raise TimeoutError(f"no answer from the estop service in {timeout:g} s")

    def close(self) -> list[str]:
        """Stop everything; returns the processes left behind (``name pid``)."""
        pids = dict(self.pids)
        for p in self.restarted:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        if self.launcher.poll() is None:
            self.launcher.send_signal(signal.SIGINT)
            try:
                self.launcher.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.launcher.pid, signal.SIGKILL)
                self.launcher.wait(timeout=5)
        for p in self.restarted:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        time.sleep(0.5)  # let the kernel reap what the launcher killed last
        left = []
        for name, pid in pids.items():
            try:
                stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if stat.split(") ")[-1][:1] != "Z":
                left.append(f"{name} {pid}")
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        for p in self.restarted:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
        self.ledger_sub.close()
        self.bg.close()
        if self.broker is not None and self.broker.poll() is None:
            self.broker.terminate()
            self.broker.wait(timeout=10)
        shutil.rmtree(self.tmp, ignore_errors=True)  # pty link, pin record, spool, broker conf
        self.launch_log.close()
        return left


# ----------------------------------------------------------------------------------------------
class Campaign:
    def __init__(self, robot: Robot, hold: float = 3.0, recover_timeout: float = 40.0, log=print):
        self.r = robot
        self.hold = hold
        self.recover_timeout = recover_timeout
        self.log = log
        self.episode_seed = robot.seed
        self.sim_hooks: bool | None = None

    def read_spool(self, node: str, rec: dict) -> None:
        """A SIGKILLed bridge: what it had made durable joins the ledger (before the restart)."""
        if node == "mqtt_bridge":
            path = self.r.tmp / "mqtt_spool.db"
            rec["spooled_at_kill"] = self.r.ledger.on_spooled(spooled(str(path)))

    def account_telemetry(self, rec: dict, led0: dict, boot0) -> dict:
        """The QoS 1 telemetry the bridge reported sent since the trial began, message by
        message against what the independent subscriber received (ledger.py). A checked trial
        waits until the bridge (a restarted one: its new process) reports entries sent after
        the fault cleared, and gives the backlog up to 60 s to arrive."""
        r = self.r
        led = r.ledger
        now = led.snapshot()
        restarted = rec["node"] == "mqtt_bridge" and rec["kind"] != "stop"

        def flowing():
            """The bridge (a new process after a restart) reported at least 5 QoS 1 entries
            sent after this moment: telemetry flows through it again."""
            boot = led.current_boot()
            if boot is None or (restarted and boot == boot0):
                return False
            fresh = sum(
                max(0, v - now.get(k, 0)) for k, v in led.snapshot().items() if k[0] == boot
            )
            return fresh >= 5

        try:
            r.wait(flowing, 60 if rec["check_telemetry"] else 10, "QoS 1 telemetry to flow")
            r.wait(
                lambda: (a := led.account(led0))["lost"] == 0 and a,
                60 if rec["check_telemetry"] else 5,
                "the QoS 1 telemetry backlog",
            )
        except TimeoutError as e:
            rec["telemetry_wait"] = str(e)
        acc = led.account(led0)
        acc["boots"] = len({k[0] for k, v in led.snapshot().items() if v > led0.get(k, 0)})
        acc["new_boot"] = led.current_boot() != boot0  # the bridge is another process now
        return acc

    def ensure_driving(self, timeout: float = 60.0) -> None:
        """Until the rover drives forward towards the target (a fresh episode when needed)."""
        r = self.r
        for attempt in range(3):
            st = r.status()
            if (
                st.get("reached")
                or (st.get("target_distance") or 9) < 1.25
                or st.get("episode_time", 0) > 0.6 * st.get("time_limit", 40)
            ):
                r.episodes.reset(self.episode_seed)
                t0 = time.monotonic()
                r.wait(lambda: r.truth and r.truth[-1].mono > t0 + 0.5, 30, "the reset episode")
            try:
                r.wait(
                    lambda: r.truth and r.truth[-1].v > 0.12, timeout, "the rover driving forward"
                )
                return
            except TimeoutError:
                if attempt == 2:
                    raise
                r.episodes.reset(self.episode_seed)

    def trial(self, fault: str) -> dict:
        r = self.r
        t_start = time.monotonic()
        kind, _, node = fault.partition(":")
        if kind == "sim" and self.sim_hooks is None:
            self.sim_hooks = r.has_sim_fault_hooks()
        if kind == "sim" and not self.sim_hooks:
            self.log(f"{fault:<34} skipped: this sim_node has no fault.* parameters")
            return {
                "fault": fault,
                "kind": kind,
                "node": node,
                "skipped": "sim_node has no fault.* parameters (edgebot_sim.faults not wired)",
                "violations": [],
            }
        self.ensure_driving()
        led0, boot0 = r.ledger.snapshot(), r.ledger.current_boot()
        rec = {
            "fault": fault,
            "kind": kind,
            "node": node or None,
            "needed_to_move": node in NEEDED
            or kind.startswith("estop")
            or (kind == "sim" and SIM_FAULTS[node]),
            "expect_recovery": True,
            # zero QoS 1 telemetry lost across a broker outage and a bridge restart
            "check_telemetry": kind == "broker" or node == "mqtt_bridge",
        }
        limits = {
            "standstill_sim_s": STANDSTILL_LIMIT if rec["needed_to_move"] else None,
            "wheels_zero_s": None,
        }
        if node in AUTHORITY and kind in ("kill", "kill+respawn", "stop"):
            name, t = AUTHORITY[node]
            limits.update(wheels_zero_s=round(1.5 * t, 3), timeout_name=name)
        rec["limits"] = limits
        held_from = held_to = None
        t_fault = time.monotonic()
        if kind == "kill":
            r.kill(node)
            self.read_spool(node, rec)
            time.sleep(self.hold)
            t_clear = time.monotonic()
            r.restart(node)
        elif kind == "kill+respawn":
            r.kill(node)
            self.read_spool(node, rec)
            t_clear = time.monotonic()
            r.restart(node)
        elif kind == "stop":
            r.kill(node, signal.SIGSTOP)
            time.sleep(self.hold)
            t_clear = time.monotonic()
            os.kill(r.pid(node), signal.SIGCONT)
        elif kind == "broker":
            r.kill_broker()
            try:
                r.wait(lambda: not r.mqtt_connected(), 20, "the bridge to report the outage")
            except TimeoutError as e:
                rec["bridge_error"] = str(e)
            time.sleep(max(0.0, t_fault + self.hold - time.monotonic()))
            t_clear = time.monotonic()
            r.start_broker()
            try:  # the bridge reconnects by itself
                r.wait(r.mqtt_connected, 60, "the bridge to reconnect")
                rec["bridge_reconnect_s"] = round(time.monotonic() - t_clear, 2)
            except TimeoutError as e:
                rec["bridge_reconnect_s"] = None
                rec["bridge_error"] = str(e)
        elif kind == "sim":
            r.set_sim_fault(node, True)
            time.sleep(self.hold)
            t_clear = time.monotonic()
            r.set_sim_fault(node, False)
        elif kind == "estop":
            t_fault = r.set_estop(True)  # the fault is the engaged e-stop
            held_from = time.monotonic()
            time.sleep(self.hold)
            held_to = t_clear = time.monotonic()
            r.set_estop(False)
        elif kind == "estop+restart":
            t_fault = r.set_estop(True)
            held_from = time.monotonic()
            time.sleep(1.0)
            r.kill(node)
            r.restart(node)
            n0 = len(r.estop_msgs)
            try:  # the restarted monitor announces its e-stop state (latched)
                r.wait(lambda: len(r.estop_msgs) > n0, 60, "the restarted monitor's estop")
                rec["estop_after_restart"] = r.estop_msgs[-1][1]
            except TimeoutError:
                rec["estop_after_restart"] = None
            time.sleep(self.hold)
            held_to = t_clear = time.monotonic()
            r.set_estop(False)
        else:
            raise ValueError(f"unknown fault {fault!r}")
        sim_fault = A.to_sim(r.truth, t_fault)
        # a standstill (for what the rover needs to move), then moving again once cleared
        still = None
        if rec["needed_to_move"]:
            try:
                still = r.wait(lambda: A.standstill_after(r.truth, sim_fault), 5.0, "a standstill")
            except TimeoutError:
                still = None
        sim_clear = A.to_sim(r.truth, t_clear)
        since = max(sim_clear, still + A.STILL_HOLD if still is not None else sim_clear)

        def resumed():
            """(mono) when the rover moved again -- or held at the target: a rover that
            reached the ball during the fault has resumed its task by holding there"""
            sim_move = A.moving_after(r.truth, since)
            if sim_move is not None:
                return next(s.mono for s in r.truth if s.sim >= sim_move)
            held = [t for t, st in list(r.follower_states) if t >= t_clear and st == "hold"]
            return held[0] if held else None

        try:
            mono_move = r.wait(resumed, self.recover_timeout, "the rover to move again")
            rec["recovered"] = True
            rec["recovery_s"] = round(max(0.0, mono_move - t_clear), 3)
        except TimeoutError:
            rec["recovered"] = False
            rec["recovery_s"] = None
        if not rec["recovered"]:
            # repair (recorded), so that the next fault starts from a working robot
            who = SIM_FAULT_NODE.get(node) if kind == "sim" else node
            if who:
                r.kill(who)
                r.restart(who)
                rec["repaired_by"] = f"restarting {who}"
        tl = r.timeline()
        z = A.first_zero_after(tl, t_fault)
        rec["wheels_zero_s"] = round(z - t_fault, 3) if z is not None and z < t_clear + 5 else None
        rec["standstill_sim_s"] = round(still - sim_fault, 3) if still is not None else None
        # where the time goes: the follower's reaction (its latched follower/state)
        blind = [t for t, st in list(r.follower_states) if t > t_fault and st == "blind"]
        rec["follower_blind_s"] = round(blind[0] - t_fault, 3) if blind else None
        rec["residual_rad_s"] = (
            round(A.max_speed_between(tl, z, t_clear), 3) if z is not None and z < t_clear else None
        )
        if held_from is not None:
            # wheels must be zero from shortly after the e-stop until its release
            z_hold = A.first_zero_after(tl, held_from)
            if (
                z_hold is None
                or z_hold > held_from + 0.5
                or A.moved_between(tl, z_hold, held_to - 0.05)
            ):
                rec["moved_while_held"] = "e-stopped (the board drove the wheels)"
            if kind == "estop+restart" and rec.get("estop_after_restart") is not True:
                rec["moved_while_held"] = (
                    rec.get("moved_while_held") or ""
                ) + f" e-stop after the safety_monitor restart: {rec.get('estop_after_restart')}"
        rec["telemetry"] = self.account_telemetry(rec, led0, boot0)
        rec["t_fault_mono"], rec["t_clear_mono"] = t_fault, t_clear
        rec["sim_fault"] = sim_fault
        rec["timeline"] = {
            "board": [
                (round(t - t_fault, 4), sp) for t, sp in tl if t_fault - 2 <= t <= t_clear + 8
            ],
            "truth": [
                (round(s.mono - t_fault, 4), round(s.v, 4), round(s.w, 4))
                for s in r.truth
                if t_fault - 2 <= s.mono <= t_clear + 8
            ],
        }
        rec["violations"] = A.violations(rec)
        rec["trial_wall_s"] = round(time.monotonic() - t_start, 1)
        self.log(
            f"{fault:<34} ({rec['trial_wall_s']:4.1f} s) standstill {_fmt(rec['standstill_sim_s'])} s  wheels zero "
            f"{_fmt(rec['wheels_zero_s'], 3)} s  recovery {_fmt(rec['recovery_s'], 1)} s  "
            + ("OK" if not rec["violations"] else "VIOLATION: " + "; ".join(rec["violations"]))
        )
        return rec


def _fmt(x, nd=2):
    return "-" if x is None else f"{x:.{nd}f}"


def write_timeline(path: pathlib.Path, rec: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    b = rec["timeline"]["board"]
    if b:
        ts = [x[0] for x in b]
        a1.step(ts, [x[1][0] for x in b], where="post", label="left wheel (pins)")
        a1.step(ts, [x[1][1] for x in b], where="post", label="right wheel (pins)")
    a1.set_ylabel("board output [rad/s]")
    t = rec["timeline"]["truth"]
    if t:
        a2.plot([x[0] for x in t], [x[1] for x in t], label="v [m/s] (ground truth)")
        a2.plot([x[0] for x in t], [x[2] for x in t], label="w [rad/s] (ground truth)")
    a2.set_ylabel("rover")
    a2.set_xlabel("wall seconds from the fault")
    clear = rec["t_clear_mono"] - rec["t_fault_mono"]
    for ax in (a1, a2):
        ax.axvline(0, color="red", ls="--", label="fault")
        ax.axvline(clear, color="green", ls="--", label="cleared")
        if rec.get("wheels_zero_s") is not None:
            ax.axvline(rec["wheels_zero_s"], color="k", ls=":", label="wheels zero")
        ax.legend(fontsize=7, loc="upper right")
    v = "; ".join(rec["violations"]) or "ok"
    a1.set_title(
        f"{rec['fault']}: standstill {_fmt(rec['standstill_sim_s'])} s (sim), wheels "
        f"zero {_fmt(rec['wheels_zero_s'], 3)} s, recovery {_fmt(rec['recovery_s'], 1)} s"
        f" -- {v}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run(
    faults: list[str],
    trials: int,
    out_dir: pathlib.Path,
    scenario: str,
    seed: int,
    hold: float,
    log=print,
) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    robot = Robot(out_dir, scenario, seed, log=log)
    records: list[dict] = []
    error = None
    try:
        robot.wait_ready()
        log(f"stack up after {time.monotonic() - t0:.0f} s; {len(faults)} faults x {trials}")
        camp = Campaign(robot, hold=hold, log=log)
        for _trial in range(trials):
            for f in faults:
                records.append(camp.trial(f))
    except Exception as e:
        error = f"{type(e).__name__}: {e}"
        log(f"campaign aborted: {error}")
    finally:
        left = robot.close()
    for i, rec in enumerate(records):
        if rec.get("skipped"):
            continue
        try:
            write_timeline(
                out_dir / f"timeline_{i:02d}_{re.sub(r'[^a-z0-9_]+', '_', rec['fault'])}.png", rec
            )
        except Exception as e:
            log(f"plot failed: {e}")
    rows = A.table(records)
    if left:
        rows.append(
            {
                "fault": "(end of campaign)",
                "trials": 1,
                "lost": 0,
                "violations": [f"processes left behind: {left}"],
                **{
                    k: None
                    for k in (
                        "standstill_p50_s",
                        "standstill_max_s",
                        "wheels_zero_p50_s",
                        "wheels_zero_max_s",
                        "recovery_p50_s",
                        "recovery_max_s",
                    )
                },
            }
        )
    result = {
        "scenario": scenario,
        "seed": robot.seed,
        "hold_s": hold,
        "trials": trials,
        "faults": faults,
        "error": error,
        "leftover_processes": left,
        "skipped": {r["fault"]: r["skipped"] for r in records if r.get("skipped")},
        "wall_s": round(time.monotonic() - t0, 1),
        "table": rows,
        "records": [{k: v for k, v in r.items() if k != "timeline"} for r in records],
        "violations": sorted({f"{r['fault']}: {v}" for r in rows for v in r["violations"]})
        + ([f"campaign error: {error}"] if error else []),
    }
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--faults", default="all", help="all, quick, or a comma-separated list")
    ap.add_argument("--trials", type=int, default=1)
    ap.add_argument("--hold", type=float, default=3.0, help="seconds a fault is held")
    ap.add_argument("--scenario", default="fault_run")
    ap.add_argument("--seed", type=int, default=-1)
    ap.add_argument("--output", default="fault_output")
    ap.add_argument("--save", action="store_true", help="also write benchmarks/results/")
    ns = ap.parse_args(argv)
    import benchlib

    benchlib.isolate()
    faults = (
        all_faults()
        if ns.faults == "all"
        else QUICK
        if ns.faults == "quick"
        else [f.strip() for f in ns.faults.split(",") if f.strip()]
    )
    out = pathlib.Path(ns.output)
    res = run(faults, ns.trials, out, ns.scenario, ns.seed, ns.hold)
    res["machine"] = benchlib.machine()
    cmd = (
        "make faults" + (f" TRIALS={ns.trials}" if ns.trials != 1 else "")
        if ns.faults == "all"
        else f"python benchmarks/faults/campaign.py --faults {ns.faults} --trials {ns.trials}"
    )
    md = A.markdown(res["table"], cmd)
    if res["skipped"]:
        md += "\nSkipped: " + "; ".join(f"{k} ({v})" for k, v in res["skipped"].items()) + "\n"
    (out / "faults.json").write_text(json.dumps(res, indent=2) + "\n")
    (out / "faults.md").write_text(md)
    if ns.save:
        benchlib.save("faults", res)
        (ROOT / "benchmarks" / "results" / "faults.md").write_text(md)
    print(md)
    if res["violations"]:
        print("VIOLATIONS:\n  " + "\n  ".join(res["violations"]))
    print(
        f"campaign: {len(res['records'])} trials in {res['wall_s']} s; {out}/faults.json, "
        f"faults.md, timeline_*.png"
    )
    return 1 if res["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
