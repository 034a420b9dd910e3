"""Runs the C++ gtests of edgebot_rt (built by colcon with BUILD_TESTING on) from pytest, so
`make test` fails when one of them fails, or when none was built."""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXPECTED = ("gtest_edgebot_rt", "gtest_edgebot_rt_alloc")


def _build_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("EDGEBOT_RT_BUILD_DIR", ROOT / "build" / "edgebot_rt"))


def _binaries():
    d = _build_dir()
    return sorted(p for p in d.glob("gtest_*") if p.is_file() and os.access(p, os.X_OK))


def test_every_expected_gtest_binary_was_built():
    names = {p.name for p in _binaries()}
    missing = [n for n in EXPECTED if n not in names]
    assert not missing, (
        f"gtest binaries {missing} not found in {_build_dir()}: build edgebot_rt with "
        "BUILD_TESTING on (scripts/build.sh edgebot_rt)"
    )


@pytest.mark.parametrize("name", EXPECTED)
def test_gtest_binary_passes(name):
    exe = _build_dir() / name
    assert exe.is_file(), f"{exe} not built"
    proc = subprocess.run(
        [str(exe), "--gtest_color=no"], capture_output=True, text=True, timeout=280
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{name} failed (exit {proc.returncode}):\n{out[-6000:]}"
    assert "[  PASSED  ]" in out and "FAILED" not in out, out[-6000:]
