"""DeviceSupervisor: the device-connection state machine, with a fake clock (no processes)."""

import pytest

from edgebot_common.backoff import Backoff
from edgebot_common.supervisor import DeviceSupervisor, DeviceUnavailable


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, d):
        self.t += d


class WrongChip(Exception):
    pass


class Device:
    """Opens when ``ok``; else raises ``error``. Records opens and closes."""

    def __init__(self, ok=True, error=OSError(5, "EIO")):
        self.ok, self.error = ok, error
        self.opens = self.closes = 0

    def open(self):
        self.opens += 1
        if not self.ok:
            raise self.error

    def close(self):
        self.closes += 1


def make(dev, clock, **kw):
    events = []
    sup = DeviceSupervisor(
        dev.open,
        Backoff(1.0, 4.0, jitter=0.0, clock=clock),
        close=dev.close,
        describe=lambda e: f"{type(e).__name__}: {e}",
        retry_on=(OSError,),
        fatal=(WrongChip,),
        clock=clock,
        on_up=lambda r: events.append(("up", r)),
        on_down=lambda why, d: events.append(("down", why, d)),
        **kw,
    )
    return sup, events


def test_start_retries_until_the_device_answers():
    clock, dev = Clock(), Device(ok=False)
    sup, events = make(dev, clock)
    waits = []

    def wait(d):
        waits.append(d)
        clock.sleep(d)
        dev.ok = len(waits) >= 3  # answers on the fourth attempt

    sup.connect_at_start(10.0, backoff=Backoff(0.1, 1.0, jitter=0.0), wait=wait)
    assert waits == [0.1, 0.2, 0.4] and sup.connected
    assert dev.opens == 4 and dev.closes == 3  # every failed open closed
    assert sup.failures == 0 and sup.reconnects == 0  # start-up retries are not failures
    assert events == [("up", False)]


def test_start_gives_up_after_the_timeout_with_the_last_error():
    clock, dev = Clock(), Device(ok=False, error=OSError(121, "Remote I/O error"))
    sup, _ = make(dev, clock)
    with pytest.raises(DeviceUnavailable, match="Remote I/O error"):
        sup.connect_at_start(2.5, wait=clock.sleep)
    assert 2.4 <= clock.t <= 2.5 and not sup.connected


def test_fatal_error_at_start_is_raised_at_once():
    clock, dev = Clock(), Device(ok=False, error=WrongChip("WHO_AM_I 0x70, not an MPU-6050"))
    sup, _ = make(dev, clock)
    with pytest.raises(WrongChip):
        sup.connect_at_start(10.0, wait=clock.sleep)
    assert dev.opens == 1 and dev.closes == 1 and clock.t == 0.0


def test_lost_device_is_reopened_with_growing_backoff_and_counted():
    clock, dev = Clock(), Device()
    sup, events = make(dev, clock)
    assert sup.state == "connecting"
    sup.connect_at_start(1.0, wait=clock.sleep)
    dev.ok = False
    sup.lost("EREMOTEIO: read failed", close=False)
    assert sup.state == "down" and dev.closes == 0  # close=False keeps the handle
    assert events[-1] == ("down", "EREMOTEIO: read failed", 1.0)
    assert not sup.step() and dev.opens == 1  # backoff not due yet
    delays = []
    for _ in range(4):  # failed reopens: 2, 4, 4, 4 s
        clock.t = sup.backoff.next_at
        assert not sup.step()
        delays.append(sup.backoff.next_at - clock.t)
    assert delays == [2.0, 4.0, 4.0, 4.0] and dev.closes == 4
    assert sup.failures == 5 and sup.last_error == "OSError: [Errno 5] EIO"
    assert [e[0] for e in events].count("down") == 1  # announced once per outage
    dev.ok = True
    clock.t = sup.backoff.next_at
    assert sup.step() and sup.connected and sup.reconnects == 1
    assert events[-1] == ("up", True) and sup.backoff.attempts == 0  # backoff reset
    sup.lost("again")  # a new outage is announced
    assert dev.closes == 5 and events[-1][:2] == ("down", "again")


def test_wrong_chip_after_start_is_a_failure_to_retry():
    clock, dev = Clock(), Device()
    sup, _ = make(dev, clock)
    sup.connect_at_start(1.0, wait=clock.sleep)
    sup.lost("gone")
    dev.ok, dev.error = False, WrongChip("WHO_AM_I 0x00")
    clock.t += 10
    assert not sup.step() and sup.last_error == "WrongChip: WHO_AM_I 0x00"


def test_confirm_resets_backoff_only_when_the_device_really_works():
    """A camera that opens but delivers no frame keeps backing off and is announced once."""
    clock, dev = Clock(), Device(ok=False)
    sup, events = make(dev, clock, confirm_on_connect=False)
    assert not sup.step() and sup.state == "down" and sup.failures == 1
    dev.ok = True
    clock.t = sup.backoff.next_at
    assert sup.step() and sup.reconnects == 1 and sup.backoff.attempts == 1
    sup.lost("no frame")  # opened, but nothing came
    assert sup.backoff.attempts == 2 and sup.state == "down"
    assert [e[0] for e in events].count("down") == 1
    clock.t = sup.backoff.next_at
    assert sup.step()
    sup.confirm()  # the first frame arrived
    assert sup.backoff.attempts == 0
    sup.lost("unplugged")
    assert [e[0] for e in events].count("down") == 2


def test_probe_reapplies_the_configuration_after_a_reset_and_loses_on_errors():
    clock, dev = Clock(), Device()
    holds = {"v": True}
    resets = []

    def probe():
        if isinstance(holds["v"], Exception):
            raise holds["v"]
        return holds["v"]

    sup, events = make(
        dev,
        clock,
        probe=probe,
        probe_period=1.0,
        on_reset=lambda: resets.append(clock.t),
        close_on_lost=False,
    )
    sup.connect_at_start(1.0, wait=clock.sleep)
    assert sup.check() and dev.opens == 1  # not due before 1 s
    holds["v"] = False  # the device reset itself
    assert sup.check() and dev.opens == 1
    clock.t = 1.0
    assert sup.check() and dev.opens == 2 and sup.resets == 1 and resets == [1.0]
    holds["v"] = True
    clock.t = 2.0
    assert sup.check() and sup.resets == 1
    holds["v"] = OSError(121, "NACK")  # probe fails: a loss
    clock.t = 3.0
    assert not sup.check() and sup.state == "down" and dev.closes == 0  # close_on_lost=False
    assert "NACK" in sup.last_error and events[-1][0] == "down"
    holds["v"], dev.ok = False, True
    clock.t = sup.backoff.next_at
    assert sup.step()  # reopened
    clock.t += 1.0
    dev.ok = False  # re-applying fails: a loss
    assert not sup.check() and sup.resets == 2 and dev.closes == 1
    assert sup.last_error.startswith("re-applying the configuration after a reset")


def test_reapply_restores_the_configuration_on_the_same_handle():
    clock, dev = Clock(), Device()
    holds, reapplied = [True], []
    sup, _ = make(dev, clock, probe=lambda: holds[0], reapply=lambda: reapplied.append(clock.t))
    sup.connect_at_start(timeout=1.0, wait=clock.sleep)
    holds[0] = False
    clock.t += 1.0
    assert sup.check() and sup.resets == 1 and reapplied == [1.0]
    assert dev.opens == 1 and dev.closes == 0  # not reopened


def test_retry_now_opens_before_the_backoff_is_due():
    clock, dev = Clock(), Device()
    now = [False]
    sup, _ = make(dev, clock, retry_now=lambda: now[0])
    sup.connect_at_start(timeout=1.0, wait=clock.sleep)
    dev.ok = False
    sup.lost("unplugged")  # the next attempt in 1 s
    assert not sup.step() and dev.opens == 1
    dev.ok, now[0] = True, True  # plugged back in
    clock.t += 0.1
    assert sup.step() and dev.opens == 2 and sup.reconnects == 1
