"""Pure functions of what the demo recorded (no rclpy, no processes): when the run ends, the
live status line, and the summary written to summary.json and printed at the end.

``snap`` is :meth:`Monitor.snapshot`'s plain dict; ``counter`` is :meth:`MqttCounter.figures`
(``{"count": n, "topics": {...}}``) or None when MQTT is left out."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass


@dataclass
class RunState:
    """What the run loop knows at one tick."""

    sim_t: float
    status: dict
    crashed: list[dict]
    launcher_code: int | None  # None while the launcher runs
    wall_elapsed: float  # wall seconds since the demo started
    reached_for: float | None  # wall seconds since the target was first seen reached
    mission_done_for: float | None = None  # wall seconds since the mission reported done


def end_reason(
    s: RunState,
    duration: float | None,
    wall_factor: float,
    startup_s: float,
    stop_when_reached: bool,
) -> str:
    """Why the run ends now, or "" to carry on. Checked in this order: a crashed node, the
    launcher gone, the simulator's error, the duration, the wall-clock guard, target reached
    (one second after it was first seen), the mission done (one second after it said so)."""
    if s.crashed:
        return f"node crashed: {s.crashed[0]['node']}"
    if s.launcher_code is not None:
        return f"launcher exited with code {s.launcher_code}"
    if s.status.get("error"):
        return f"simulator failed: {s.status['error']}"
    if duration and s.sim_t >= duration:
        return f"duration {duration:g} s reached"
    if duration and s.wall_elapsed > duration * wall_factor + startup_s:
        return f"wall-clock guard: {s.wall_elapsed:.0f} s passed, simulated time {s.sim_t:.1f} s"
    if (
        stop_when_reached
        and s.status.get("reached")
        and s.reached_for is not None
        and s.reached_for > 1.0
    ):
        return "target reached"
    if stop_when_reached and s.mission_done_for is not None and s.mission_done_for > 1.0:
        return "mission done"
    return ""


def missions_done(snap: dict, robots: int = 1) -> bool:
    """The run's mission is done: rover1's (the one watched) and, in a fleet of ``robots``,
    every other rover's (``snap['others']``)."""
    others = snap.get("others") or {}
    return bool((snap.get("mission") or {}).get("done")) and all(
        ((others.get(f"rover{k}") or {}).get("mission") or {}).get("done")
        for k in range(2, robots + 1)
    )


def _truth_objects(scen) -> list[tuple[str, float, float]]:
    """The scenario's objects of the detector's classes (target and distractors), map frame."""
    return [(scen.target.cls, scen.target.x, scen.target.y)] + [
        (d.cls, d.x, d.y) for d in scen.distractors
    ]


def odom_to_map(scen, x: float, y: float) -> tuple[float, float]:
    """A point of the odometry frame in the map frame: odometry starts at the rover's start
    pose (the simulator's map -> odom, REP 105)."""
    st = scen.start
    c, s = math.cos(st.yaw), math.sin(st.yaw)
    return st.x + c * x - s * y, st.y + s * x + c * y


def mission_results(scen, mission: dict) -> dict | None:
    """What the mission found, where (map frame), and the error against the simulator's ground
    truth (the nearest object of the same class); None when no mission ran."""
    if not mission:
        return None
    truth = _truth_objects(scen)
    found = []
    for f in mission.get("found", []):
        mx, my = odom_to_map(scen, float(f["x"]), float(f["y"]))
        same = [(math.hypot(mx - x, my - y), x, y) for c, x, y in truth if c == f["class"]]
        err, tx, ty = min(same) if same else (None, None, None)
        found.append(
            {
                "class": f["class"],
                "index": f.get("index"),
                "t": f.get("t"),
                "x": round(mx, 3),
                "y": round(my, 3),
                "truth": [round(tx, 3), round(ty, 3)] if same else None,
                "error_m": round(err, 3) if err is not None else None,
            }
        )
    errs = [f["error_m"] for f in found if f["error_m"] is not None]
    return {
        "name": mission.get("mission"),
        "state": mission.get("state"),
        "done": bool(mission.get("done")),
        "outcome": mission.get("outcome") or "",
        "complete": mission.get("outcome") == "complete",
        "elapsed_s": mission.get("elapsed"),
        "time_limit_s": mission.get("time_limit"),
        "wanted": mission.get("wanted", {}),
        "found": found,
        "max_error_m": max(errs) if errs else None,
        "avoided": mission.get("avoided"),
        "given_up": mission.get("given_up"),
    }


def fleet_results(fleet_scens: list, st: dict, snap: dict) -> list[dict]:
    """Each rover of a fleet (make demo ROBOTS=N): its start and target (``fleet_scens[k-1]``,
    its scenario after the spawn rule), whether and when it reached the target (the simulator's
    status of that rover), and its mission's results in the map frame (rover1's is the one the
    demo watches; the others' from ``snap['others']``)."""
    by_robot = {int(r.get("robot", 0)): r for r in st.get("fleet") or []}
    out = []
    for k, sc in enumerate(fleet_scens, start=1):
        ns = f"rover{k}"
        r = by_robot.get(k, {})
        other = (snap.get("others") or {}).get(ns) or {}
        mission = snap.get("mission") if k == 1 else other.get("mission")
        out.append(
            {
                "robot": k,
                "namespace": ns,
                "start": [round(sc.start.x, 3), round(sc.start.y, 3), round(sc.start.yaw, 3)],
                "target": {
                    "class": sc.target.cls,
                    "x": round(sc.target.x, 3),
                    "y": round(sc.target.y, 3),
                    "reach_distance": sc.target.reach_distance,
                },
                "reached": bool(r.get("reached")),
                "time_to_reach_s": r.get("reached_at"),
                "distance_left_m": r.get("target_distance"),
                "final_pose": r.get("pose"),
                "contact": r.get("contact"),
                "mission": mission_results(sc, mission or {}),
            }
        )
    return out


def telemetry_figures(mqtt_stats: dict, counter: dict | None) -> dict:
    """The bridge's own counts (sent, acknowledged by the broker, dropped) and what an
    independent subscriber on the broker received; lost = sent - received there.

    When the bridge reports per-topic counts (``by_topic``) and the subscriber counted distinct
    publishes, both sides count the same thing: QoS 1 telemetry publishes the broker
    acknowledged vs distinct ones (by ``seq``) the subscriber received on those topics
    (``qos1_*``). ``sent``/``delivered`` also count QoS 0, retransmissions, the status topic
    and error reports, and the bridge's figure is up to one stats period older than the
    subscriber's: they are not comparable (that gave "sent 584, delivered 598")."""
    st = mqtt_stats
    sent = st.get("sent")
    received = counter["count"] if counter else None
    out = {}
    by_topic = st.get("by_topic")
    if isinstance(by_topic, dict) and counter and "distinct" in counter:
        q1 = [t for t, c in by_topic.items() if c.get("qos") == 1]
        acked = sum(by_topic[t].get("acknowledged", 0) for t in q1)
        got = sum(counter["distinct"].get(t, 0) for t in q1)
        # acknowledged after the last stats message may be received already: never negative
        out = {"qos1_acknowledged": acked, "qos1_received": got, "qos1_lost": max(0, acked - got)}
    return {
        **out,
        "sent": sent,
        "delivered": received,
        "acknowledged": st.get("delivered"),
        "dropped_by_bridge": st.get("dropped"),
        "spooled": st.get("spooled"),
        "latency_p95_ms": st.get("latency_p95_ms"),
        "lost": out.get(
            "qos1_lost",
            max(0, int(sent) - received)
            if isinstance(sent, (int, float)) and received is not None
            else None,
        ),
        "by_topic": dict(counter["topics"]) if counter else {},
    }


def control_figures(diag: dict) -> dict:
    return {
        k: v
        for k, v in diag.items()
        if k.split(":")[0].strip() in ("base_controller", "safety_monitor", "target_follower")
    }


def detections_per_s(det_times: list[float], sim_t: float, window: float = 3.0) -> float:
    n = sum(1 for x in det_times[-200:] if x > sim_t - window)
    return n / window if sim_t > window else (n / sim_t if sim_t > 0 else 0.0)


def status_line(snap: dict, counter: dict | None) -> str:
    st, pose, state, t = snap["status"], snap["pose"], snap["state"], snap["sim_t"]
    if st.get("holding"):
        return f"waiting for the stack to connect: {', '.join(st['holding'])}"
    pose_s = (
        f"({pose[0]:+.2f}, {pose[1]:+.2f}, {math.degrees(pose[2]):+4.0f}deg)" if pose else "(?)"
    )
    tel = telemetry_figures(snap["mqtt_stats"], counter)
    dist = st.get("target_distance")
    mission = snap.get("mission") or {}
    if mission:
        n_want = sum(mission.get("wanted", {}).values())
        state = f"{mission.get('state', '?')} {len(mission.get('found', []))}/{n_want}"
    return (
        f"t={t:6.1f}s pose={pose_s} {'mission' if mission else 'follower'}={state:<10} "
        f"det/s={detections_per_s(snap['det_times'], t):4.1f} "
        f"mqtt sent={tel['sent'] if tel['sent'] is not None else '-'} "
        f"target={dist if dist is not None else '?'}m rtf={st.get('rtf', 0):.2f}"
        + (" REACHED" if st.get("reached") else "")
    )


def state_durations(states: list[tuple], sim_t: float) -> dict:
    durations = defaultdict(float)
    for (t0, s), nxt in zip(states, states[1:] + [(sim_t, None)]):
        durations[s] += max(0.0, nxt[0] - t0)
    return dict(durations)


def build_summary(
    scen,
    snap: dict,
    counter: dict | None,
    st: dict,
    stack: dict,
    crashed: list[dict],
    end_reason: str,
    wall_s: float,
    launcher_code: int | None,
    gate_wall: float | None,
    end_wall: float | None,
    out_dir,
    fleet_scens: list | None = None,
) -> dict:
    """summary.json. ``st`` is the simulator's final status; ``gate_wall``/``end_wall`` the
    monotonic times the simulation started running and the run loop ended; ``fleet_scens``
    (a fleet: each rover's scenario) adds ``fleet``, every rover's outcome."""
    sim_t = max(snap["sim_t"], float(st.get("sim_time", 0.0) or 0.0))
    states = snap["states"]
    det_msgs = snap["det_msgs"]
    reached_at = st.get("reached_at")
    out = {
        "scenario": scen.name,
        "seed": scen.seed,
        "target": {
            "class": scen.target.cls,
            "x": round(scen.target.x, 3),
            "y": round(scen.target.y, 3),
            "reach_distance": scen.target.reach_distance,
        },
        "time_limit_s": scen.time_limit,
        "reached": bool(st.get("reached")),
        "time_to_reach_s": reached_at,
        "within_time_limit": bool(reached_at is not None and reached_at <= scen.time_limit),
        "distance_left_m": st.get("target_distance"),
        "final_pose": st.get("pose"),
        "min_obstacle_clearance_m": st.get("min_obstacle_clearance"),
        "sim_time_s": round(sim_t, 3),
        "wall_time_s": round(wall_s, 2),
        "real_time_factor": round(sim_t / wall_s, 3) if wall_s > 0 else None,
        "real_time_factor_running": (
            round(sim_t / (end_wall - gate_wall), 3) if gate_wall and end_wall > gate_wall else None
        ),
        "startup_wall_s": (round(gate_wall - (end_wall - wall_s), 2) if gate_wall else None),
        "detections": {
            "messages": det_msgs,
            "per_s": round(det_msgs / sim_t, 2) if sim_t > 0 else 0.0,
            "objects_by_class": snap["det_objects"],
            "messages_with_target": len(snap["det_target_times"]),
        },
        "follower": {
            "final_state": states[-1][1] if states else None,
            "seconds_by_state": {k: round(v, 2) for k, v in state_durations(states, sim_t).items()},
            "transitions": len(states),
        },
        "mission": mission_results(scen, snap.get("mission") or {}),
        "control_loop": control_figures(snap["diag"]),
        "telemetry": telemetry_figures(snap["mqtt_stats"], counter),
        "camera_frames": st.get("camera_frames"),
        "stack": stack,
        "crashed": crashed,
        "end_reason": end_reason,
        "launcher_exit_code": launcher_code,
        "outputs": {
            "summary": str(out_dir / "summary.json"),
            "plot": str(out_dir / "run.png"),
            "recording": str(out_dir / "demo"),
            "launch_log": str(out_dir / "launch.log"),
        },
    }
    if fleet_scens and len(fleet_scens) > 1:
        out["fleet"] = fleet_results(fleet_scens, st, snap)
    return out


def format_summary(s: dict) -> str:
    lines = ["=" * 72]
    lines.append(
        f"scenario {s['scenario']} seed {s['seed']}: target {s['target']['class']} "
        + (f"REACHED at t={s['time_to_reach_s']:.1f} s" if s["reached"] else "not reached")
        + f" (limit {s['time_limit_s']:g} s)"
    )
    lines.append(
        f"distance left {s['distance_left_m']} m; simulated {s['sim_time_s']} s in "
        f"{s['wall_time_s']} s wall (start-up {s['startup_wall_s']} s; real-time factor "
        f"{s['real_time_factor_running']} once running)"
    )
    d = s["detections"]
    lines.append(
        f"detections: {d['messages']} messages ({d['per_s']}/s), objects {d['objects_by_class']}"
    )
    m = s.get("mission")
    if m:
        lines.append(
            f"mission {m['name']}: {m['outcome'] or m['state']} after {m['elapsed_s']} s "
            f"(limit {m['time_limit_s']} s); avoided {m['avoided']} obstacle(s)"
        )
        for f in m["found"]:
            err = f"{f['error_m']:.2f} m from" if f["error_m"] is not None else "no"
            lines.append(
                f"  found {f['class']} #{f['index']} at t={f['t']} s: ({f['x']:+.2f}, "
                f"{f['y']:+.2f}) map, {err} the true {f['class']} {f['truth']}"
            )
    else:
        lines.append(f"follower: {s['follower']['seconds_by_state']}")
    for r in s.get("fleet") or []:
        t = r["target"]
        lines.append(
            f"  {r['namespace']}: target {t['class']} at ({t['x']:+.2f}, {t['y']:+.2f}) "
            + (
                f"REACHED at t={r['time_to_reach_s']:.1f} s"
                if r["reached"] and r["time_to_reach_s"] is not None
                else f"not reached (distance left {r['distance_left_m']} m)"
            )
            + (
                f"; mission {r['mission']['outcome'] or r['mission']['state']}"
                if r["mission"]
                else ""
            )
        )
        for f in (r["mission"] or {}).get("found", []):
            err = f"{f['error_m']:.2f} m from" if f["error_m"] is not None else "no"
            lines.append(
                f"    found {f['class']} #{f['index']} at t={f['t']} s: ({f['x']:+.2f}, "
                f"{f['y']:+.2f}) map, {err} the true {f['class']} {f['truth']}"
            )
    t = s["telemetry"]
    if "qos1_acknowledged" in t:
        later = t["qos1_received"] - t["qos1_acknowledged"]
        lines.append(
            f"telemetry QoS 1: acknowledged by the broker {t['qos1_acknowledged']}, "
            f"received by an independent subscriber {t['qos1_received']}"
            + (
                f" ({later} acknowledged after the bridge's last stats message)"
                if later > 0
                else ""
            )
            + f", lost {t['qos1_lost']} (all publishes: sent {t['sent']}, delivered "
            f"{t['delivered']}, incl. QoS 0, resends, status, errors)"
        )
    else:
        lines.append(f"telemetry: sent {t['sent']}, delivered {t['delivered']}, lost {t['lost']}")
    left = [k for k, v in s["stack"].items() if not v]
    if left:
        lines.append(f"left out: {', '.join(left)}")
    for c in s["crashed"]:
        hosted = f" ({', '.join(c['hosted'])} in it)" if c.get("hosted") else ""
        lines.append(f"CRASHED: node {c['node']} exited with code {c['exit_code']}{hosted}")
    lines.append(
        f"ended: {s['end_reason']}; summary {s['outputs']['summary']}, plot "
        f"{s['outputs']['plot']}, recording (rosbag2 MCAP) {s['outputs']['recording']}"
    )
    lines.append("=" * 72)
    return "\n".join(lines)
