"""imu_node's read thread (ROS-free): read at the target rate with absolute deadlines, feed the
processing chain, hand every accepted sample to ``emit``; on a lost device hand over to the
supervisor, which reopens it with backoff.

Timestamps are taken at read time through the node's callbacks (``stamp()`` for a direct read,
``stamp_ns(ns)`` for a FIFO sample dated back from the read by the chip's sample clock), so this
module needs no rclpy. The clock and the wait are injected.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Deadlines:
    """Absolute deadlines every ``period``; a loop that fell behind (a loaded machine) starts
    again from now instead of bursting to catch up."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.next_t = clock()

    def restart(self) -> None:
        self.next_t = self.clock()

    def wait_next(self, period: float, wait: Callable[[float], object]) -> None:
        self.next_t += period
        now = self.clock()
        if self.next_t < now - period:
            self.next_t = now
        else:
            wait(max(0.0, self.next_t - now))


class ImuReadLoop:
    """``run()`` until ``stop`` is set. ``emit(stamp, processed, raw)`` publishes a sample."""

    FIFO_MIN_PERIOD = 0.01  # FIFO: poll at <= 100 Hz, several samples a read

    def __init__(
        self,
        device,
        supervisor,
        proc,
        reader,
        rate_hz: float,
        status_rate_hz: float,
        emit: Callable,
        stamp: Callable[[], object],
        now_ns: Callable[[], int],
        stamp_ns: Callable[[int], object],
        stop: threading.Event,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.dev, self.sup, self.proc, self.reader = device, supervisor, proc, reader
        self.period = 1.0 / rate_hz
        self.status_period = 1.0 / status_rate_hz
        self.emit, self.stamp, self.now_ns, self.stamp_ns = emit, stamp, now_ns, stamp_ns
        self.stop = stop
        self.clock = clock
        self.temperature = None
        self.calib_status = None
        self.fifo_overflows = 0
        self.fifo_first = True
        self._deadlines = Deadlines(clock)
        self._last_mono = None
        self._last_status = 0.0

    def after_reconnect(self) -> None:
        """The chip was reconfigured: no dt across the gap, a fresh FIFO."""
        self._deadlines.restart()
        self._last_mono = None
        self.fifo_first = True

    def run(self) -> None:
        fifo_period = max(self.period, self.FIFO_MIN_PERIOD)
        while not self.stop.is_set():
            if not self.sup.step():
                self.stop.wait(0.05)
                continue
            if not self.sup.check():  # lost, or its reset could not be undone
                continue
            if self.dev.use_fifo:
                if self._fifo_step():
                    self._deadlines.wait_next(fifo_period, self.stop.wait)
                continue
            if self._direct_step():
                self._deadlines.wait_next(self.period, self.stop.wait)

    def _lost(self, e: OSError) -> None:
        # the bus stays open (close_on_lost=False): the reopen reconfigures the chip on it
        self.sup.lost(self.sup.describe(e))

    def _direct_step(self) -> bool:
        stamp = self.stamp()
        mono = self.clock()
        try:
            with self.dev.lock:
                raw = self.reader.call(self.dev.driver.read)
                if self.dev.chip == "bno055" and mono - self._last_status >= self.status_period:
                    self._last_status = mono
                    self.temperature, self.calib_status = self.reader.call(
                        self.dev.driver.read_status
                    )
        except OSError as e:
            self._lost(e)
            return False
        if raw.temperature is not None:
            self.temperature = raw.temperature
        dt = (mono - self._last_mono) if self._last_mono is not None else 0.0
        self._last_mono = mono
        out = self.proc.process(raw, dt)
        if out is not None:
            self.emit(stamp, out, raw)
        return True

    def _fifo_step(self) -> bool:
        """One FIFO poll: every sample since the last one, stamped by the chip's sample clock
        back from the read time. False when the device is lost."""
        stamp_ns = self.now_ns()
        try:
            with self.dev.lock:
                samples, overflow = self.reader.call(self.dev.read_fifo)
        except OSError as e:
            self._lost(e)
            return False
        if overflow:
            self.fifo_overflows += 1
            self.fifo_first = True
        ts = 1.0 / self.dev.driver.output_rate_hz
        k = len(samples)
        for i, raw in enumerate(samples):
            if raw.temperature is not None:
                self.temperature = raw.temperature
            dt = 0.0 if self.fifo_first else ts
            self.fifo_first = False
            out = self.proc.process(raw, dt)
            if out is not None:
                self.emit(self.stamp_ns(stamp_ns - int((k - 1 - i) * ts * 1e9)), out, raw)
        return True
