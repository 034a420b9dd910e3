"""Session-wide isolation for the edgebot test suites, and shared fixtures."""
import os
import pathlib
import random
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

# One random DDS domain per test session, discovery limited to this host, so parallel runs
# and other robots on the network never see our traffic. Children inherit the environment.
os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(1, 100)))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("RCUTILS_COLORIZED_OUTPUT", "0")
os.environ.setdefault("PYTHONUNBUFFERED", "1")

import edgebot_testing  # noqa: E402


@pytest.fixture
def procs():
    """Start processes with procs.start([...]) / procs.node(pkg, exe); all stopped at teardown."""
    p = edgebot_testing.Procs()
    yield p
    p.stop_all()


@pytest.fixture
def ros():
    """An rclpy node in the test process (its own context), spinning in a thread."""
    helper = edgebot_testing.RosHelper()
    yield helper
    helper.close()


@pytest.fixture
def tmp_dir(tmp_path):
    return tmp_path
