"""Session-wide isolation for the edgebot test suites, and shared fixtures."""

import os
import pathlib
import random
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


# One DDS domain per test session, discovery limited to this host, so parallel runs and other
# robots on the network never see our traffic. Children inherit the environment. The domain is
# reserved with a lock file for the whole session, so concurrent sessions on one machine never
# share one.
def _reserve_domain() -> str:
    import fcntl
    import tempfile

    ids = list(range(1, 101))
    random.SystemRandom().shuffle(ids)
    for i in ids:
        fd = os.open(
            os.path.join(tempfile.gettempdir(), f"edgebot-ros-domain-{i}.lock"),
            os.O_CREAT | os.O_RDWR,
            0o666,
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _reserve_domain.fd = fd  # held (open) until the session's process exits
        return str(i)
    return str(random.SystemRandom().randint(1, 100))


# pytest-xdist workers (make test runs two) inherit the controller's environment: each worker
# reserves a domain of its own, so tests running side by side never hear each other.
if "ROS_DOMAIN_ID" not in os.environ or (
    os.environ.get("PYTEST_XDIST_WORKER")
    and os.environ.get("EDGEBOT_TEST_DOMAIN") == os.environ["ROS_DOMAIN_ID"]
):
    os.environ["ROS_DOMAIN_ID"] = os.environ["EDGEBOT_TEST_DOMAIN"] = _reserve_domain()
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
def virtual_boards(tmp_path):
    """``virtual_boards(**kw) -> (board, link)``: virtual Arduinos on ptys, stopped at teardown."""
    boards = edgebot_testing.VirtualBoards(tmp_path)
    yield boards
    boards.close()


@pytest.fixture
def tmp_dir(tmp_path):
    return tmp_path
