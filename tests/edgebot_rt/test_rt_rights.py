"""Real-time rights: SCHED_FIFO/mlockall are applied when the process may, and when it may not
the loop still runs and says so in one line on stderr."""

import json
import os
import shutil
import subprocess
import sys

PROBE_FIFO = "import os; os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))"
RUN_LOOP = (
    "import json, edgebot_rt as rt; s = rt.LoopRunner(200.0, 30).run_for(0.5); print(json.dumps(s))"
)


def _run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def test_priority_applied_exactly_when_permitted():
    permitted = (
        subprocess.run(
            [sys.executable, "-c", PROBE_FIFO], capture_output=True, timeout=60
        ).returncode
        == 0
    )
    stats, err = _run([sys.executable, "-c", RUN_LOOP])
    assert stats["cycles"] > 10
    assert stats["rt_priority_applied"] is permitted
    if not permitted:
        assert "SCHED_FIFO priority 30 refused" in err


def test_refused_rights_log_one_line_and_loop_still_runs():
    setpriv, prlimit = shutil.which("setpriv"), shutil.which("prlimit")
    assert setpriv and prlimit, "util-linux setpriv/prlimit needed"
    # no capabilities, no rtprio, 64 KiB memlock: both requests must be refused
    cmd = [
        prlimit,
        "--rtprio=0",
        "--memlock=65536",
        setpriv,
        "--bounding-set=-all",
        "--inh-caps=-all",
        sys.executable,
        "-c",
        RUN_LOOP,
    ]
    stats, err = _run(cmd)
    assert stats["cycles"] > 10 and not stats["running"]
    assert stats["rt_priority_applied"] is False and stats["mlock_applied"] is False
    lines = [ln for ln in err.splitlines() if ln.startswith("edgebot_rt:")]
    assert len(lines) == 1, err
    assert "SCHED_FIFO priority 30 refused" in lines[0] and "mlockall refused" in lines[0]
    assert "README" in lines[0]
