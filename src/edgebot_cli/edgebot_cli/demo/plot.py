"""run.png: the rover's path over the world map (and what a mission found, against the ground
truth); detections and follower or mission state over time."""

from __future__ import annotations

import math
import pathlib


def time_series(times: list[float], t_end: float, bin_s: float = 1.0):
    n = max(1, int(math.ceil(t_end / bin_s)))
    counts = [0] * n
    for t in times:
        i = int(t / bin_s)
        if 0 <= i < n:
            counts[i] += 1
    return [i * bin_s for i in range(n)], [c / bin_s for c in counts]


def write_plot(path: pathlib.Path, scenario, snap: dict, summary: dict) -> None:
    """run.png: the rover's path over the world map; detections and follower state over time."""
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
            pts = [
                (x + c * px - s * py, y + s * px + c * py)
                for px, py in ((-hx, -hy), (hx, -hy), (hx, hy), (-hx, hy))
            ]
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
    ax.add_patch(
        Circle(
            (t.x, t.y),
            t.reach_distance + scenario_radius(t.cls),
            fill=False,
            ls="--",
            ec=oc.rgba[:3],
            lw=1,
            label="reach distance",
        )
    )
    truth = snap["path"]
    odom = snap["odom"]
    states = snap["states"]
    det_times = snap["det_times"]
    tgt_times = snap["det_target_times"]
    if truth:
        xs, ys = [p[1] for p in truth], [p[2] for p in truth]
        who = "rover1" if summary.get("fleet") else "rover"
        ax.plot(xs, ys, "-", color="tab:blue", lw=2, label=f"{who} (ground truth)")
        ax.plot(xs[0], ys[0], "o", color="tab:green", ms=8, label="start")
        ax.plot(xs[-1], ys[-1], "s", color="tab:red", ms=7, label="end")
        if odom and len(truth) > 1:
            # odometry starts at the start pose in its own frame: show it in the map frame
            x0, y0, yaw0 = truth[0][1], truth[0][2], truth[0][3]
            c, s = math.cos(yaw0), math.sin(yaw0)
            ox = [x0 + c * p[1] - s * p[2] for p in odom]
            oy = [y0 + s * p[1] + c * p[2] for p in odom]
            ax.plot(ox, oy, ":", color="tab:purple", lw=1.5, label="odometry")
    # a fleet (make demo ROBOTS=N): the other rovers' targets, tracks and finds as well
    colors = ("tab:cyan", "tab:olive")
    others = snap.get("others") or {}
    found = [(None, f) for f in (summary.get("mission") or {}).get("found", [])]
    for r, color in zip((summary.get("fleet") or [])[1:], colors):
        t2 = r["target"]
        oc2 = objects.by_name(t2["class"])
        draw(oc2.shape, oc2.size, t2["x"], t2["y"], 0.0, oc2.rgba[:3])
        ax.add_patch(
            Circle(
                (t2["x"], t2["y"]),
                t2["reach_distance"] + scenario_radius(t2["class"]),
                fill=False,
                ls="--",
                ec=oc2.rgba[:3],
                lw=1,
            )
        )
        trk = (others.get(r["namespace"]) or {}).get("path") or []
        if trk:
            xs, ys = [p[1] for p in trk], [p[2] for p in trk]
            ax.plot(xs, ys, "-", color=color, lw=2, label=f"{r['namespace']} (ground truth)")
            ax.plot(xs[0], ys[0], "o", color="tab:green", ms=8)
            ax.plot(xs[-1], ys[-1], "s", color="tab:red", ms=7)
        found += [(r["namespace"], f) for f in (r["mission"] or {}).get("found", [])]
    mission = summary.get("mission")
    for i, (who, f) in enumerate(found):
        label = "found (mission)" if i == 0 else None
        ax.plot(f["x"], f["y"], "x", color="k", ms=10, mew=2.5, label=label)
        if f.get("truth"):
            ax.plot([f["x"], f["truth"][0]], [f["y"], f["truth"][1]], "-", color="k", lw=0.8)
        err = f" {f['error_m']:.2f} m" if f.get("error_m") is not None else ""
        ax.annotate(
            (f"{who} " if who else "") + f"#{f['index']} {f['class']}{err}",
            (f["x"], f["y"]),
            textcoords="offset points",
            xytext=(6, -12),
            fontsize=8,
            fontweight="bold",
        )
    ax.set_xlim(-fx / 2 - 0.2, fx / 2 + 0.2)
    ax.set_ylim(-fy / 2 - 0.2, fy / 2 + 0.2)
    ax.set_aspect("equal")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    res = "reached" if summary.get("reached") else "not reached"
    title = f"{scenario.name} (seed {scenario.seed}): target {res}"
    if mission:
        title = f"{scenario.name} (seed {scenario.seed}): {mission['outcome'] or mission['state']}"
    ax.set_title(title, fontsize=10)
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
    which = "follower"
    if mission and snap.get("mission_states"):
        states, which = snap["mission_states"], "mission"
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
        a3.text(0.5, 0.5, f"no {which} state received", ha="center", transform=a3.transAxes)
    a3.set_xlabel("simulated time [s]")
    a3.set_title(f"{which} state")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def scenario_radius(cls: str) -> float:
    from edgebot_sim.scenario import footprint_radius

    return footprint_radius(cls)
