import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import mqtt_testing


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    return mqtt_testing.make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def mosquitto(procs, tmp_path):
    """Factory: mosquitto(users=..., acl=..., tls=certs, ws=True) -> a started Mosquitto."""
    n = [0]

    def start(**kw):
        n[0] += 1
        return mqtt_testing.Mosquitto(procs, tmp_path / f"broker{n[0]}", **kw).start()

    return start
