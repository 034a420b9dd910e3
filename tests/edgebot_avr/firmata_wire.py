"""A minimal Firmata speaker over pyserial for the emulator tests: raw bytes out, parsed
messages in (a reader thread), so each test states exactly what goes on the wire."""

from __future__ import annotations

import threading
import time

import serial

from edgebot_testing import wait_for

REPORT_VERSION, DIGITAL_MESSAGE, ANALOG_MESSAGE = 0xF9, 0x90, 0xE0
START_SYSEX, END_SYSEX, SET_PIN_MODE = 0xF0, 0xF7, 0xF4
REPORT_ANALOG, REPORT_DIGITAL = 0xC0, 0xD0
REPORT_FIRMWARE, SERVO_CONFIG = 0x79, 0x70
INPUT, OUTPUT, ANALOG, PWM, SERVO = 0, 1, 2, 3, 4


class FirmataWire:
    def __init__(self, port: str, baud: int = 57600):
        self.ser = serial.Serial(port, baud, timeout=0.05)
        self.msgs: list[tuple] = []
        self.raw = bytearray()
        self.error: Exception | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def close(self) -> None:
        self._stop.set()
        self._t.join(timeout=2)
        try:
            self.ser.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ wire out
    def send(self, *data: int) -> None:
        self.ser.write(bytes(data))

    def pin_mode(self, pin: int, mode: int) -> None:
        self.send(SET_PIN_MODE, pin, mode)

    def port_write(self, port: int, mask: int) -> None:
        self.send(DIGITAL_MESSAGE | port, mask & 0x7F, (mask >> 7) & 0x7F)

    def analog_write(self, pin: int, value: int) -> None:
        self.send(ANALOG_MESSAGE | pin, value & 0x7F, (value >> 7) & 0x7F)

    def query_firmware(self) -> None:
        self.send(START_SYSEX, REPORT_FIRMWARE, END_SYSEX)

    def servo_config(self, pin: int, min_us: int = 544, max_us: int = 2400) -> None:
        self.send(
            START_SYSEX,
            SERVO_CONFIG,
            pin,
            min_us & 0x7F,
            min_us >> 7,
            max_us & 0x7F,
            max_us >> 7,
            END_SYSEX,
        )

    # ------------------------------------------------------------------ wire in
    def _read(self) -> None:
        buf = bytearray()
        while not self._stop.is_set():
            try:
                data = self.ser.read(256)
            except Exception as e:  # the port vanished (unplug)
                self.error = e
                return
            if not data:
                continue
            with self._lock:
                self.raw.extend(data)
            buf.extend(data)
            while buf:
                b = buf[0]
                if b == START_SYSEX:
                    end = buf.find(END_SYSEX)
                    if end < 0:
                        break
                    self._add(("sysex", bytes(buf[1:end])))
                    del buf[: end + 1]
                elif b == REPORT_VERSION or (b & 0xF0) in (DIGITAL_MESSAGE, ANALOG_MESSAGE):
                    if len(buf) < 3:
                        break
                    if b == REPORT_VERSION:
                        self._add(("version", buf[1], buf[2]))
                    elif (b & 0xF0) == DIGITAL_MESSAGE:
                        self._add(("digital", b & 0x0F, buf[1] | (buf[2] << 7)))
                    else:
                        self._add(("analog", b & 0x0F, buf[1] | (buf[2] << 7)))
                    del buf[:3]
                else:
                    del buf[0]

    def _add(self, msg: tuple) -> None:
        with self._lock:
            self.msgs.append((time.monotonic(),) + msg)

    def messages(self, kind: str, since: int = 0) -> list[tuple]:
        with self._lock:
            return [m[1:] for m in self.msgs[since:] if m[1] == kind]

    def count(self) -> int:
        with self._lock:
            return len(self.msgs)

    def wait_boot(self, timeout: float = 10.0) -> tuple:
        return wait_for(lambda: self.messages("version"), timeout, what="the boot version")[0]

    def firmware_replies(self, since: int = 0) -> list[tuple[int, int, str]]:
        out = []
        for _, body in self.messages("sysex", since):
            if body and body[0] == REPORT_FIRMWARE and len(body) >= 3:
                name = bytes(body[3::2]).decode("ascii", "replace")
                out.append((body[1], body[2], name))
        return out

    def last(self, kind: str, key: int, since: int = 0):
        vals = [m[2] for m in self.messages(kind, since) if m[1] == key]
        return vals[-1] if vals else None
