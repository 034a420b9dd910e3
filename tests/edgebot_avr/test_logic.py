"""Pure parts of edgebot_avr (no simavr): PWM duty from timer registers, board pin maps,
the Intel HEX reader."""

import pytest

from edgebot_avr import boards
from edgebot_avr.ihex import FirmwareError, load

T0, T1, T2 = boards.TIMERS["T0"], boards.TIMERS["T1"], boards.TIMERS["T2"]


def regs(timer, tccra, tccrb, **ocr):
    r = {a: 0 for a in boards.timer_registers(timer)}
    r[timer.tccra], r[timer.tccrb] = tccra, tccrb
    for name, v in ocr.items():
        if name == "ICR":
            addr = timer.icr
        else:
            addr = timer.ocr[name]
        r[addr] = v & 0xFF
        if timer.bits == 16:
            r[addr + 1] = v >> 8
    return r


def test_arduino_timer_setups():
    # Timer0 as the Arduino core sets it: fast PWM (WGM 3), /64; OC0B non-inverting
    assert boards.pwm_duty(T0, "B", regs(T0, 0b00100011, 0b011, B=63)) == pytest.approx(0.25)
    assert boards.pwm_duty(T0, "B", regs(T0, 0b00100011, 0b011, B=255)) == 1.0
    # Timer1: phase-correct 8-bit (WGM 1), /64; OC1B
    assert boards.pwm_duty(T1, "B", regs(T1, 0b00100001, 0b011, B=191)) == pytest.approx(191 / 255)
    # Timer2 phase correct, inverting output (COM 3)
    assert boards.pwm_duty(T2, "A", regs(T2, 0b11000001, 0b100, A=64)) == pytest.approx(
        1 - 64 / 255
    )


def test_no_duty_when_not_a_pwm_output():
    assert boards.pwm_duty(T0, "B", regs(T0, 0b00000011, 0b011, B=63)) is None  # COM off
    assert boards.pwm_duty(T0, "B", regs(T0, 0b00100011, 0b000, B=63)) is None  # stopped
    assert boards.pwm_duty(T1, "A", regs(T1, 0b10000000, 0b01010, A=100)) is None  # CTC
    # Servo library: Timer1 normal mode with COM cleared
    assert boards.pwm_duty(T1, "B", regs(T1, 0, 0b010, B=3000)) is None


def test_icr_and_ocra_top_modes():
    # 16-bit fast PWM, TOP = ICR1 = 39999 (50 Hz at /8), OCR1A = 2999 -> 1.5 ms of 20 ms
    r = regs(T1, 0b10000010, 0b11010, A=2999, ICR=39999)
    assert boards.pwm_duty(T1, "A", r) == pytest.approx(3000 / 40000)
    # 8-bit fast PWM with TOP = OCR0A: channel B only
    r = regs(T0, 0b00100011, 0b01011, A=99, B=49)
    assert boards.pwm_duty(T0, "B", r) == pytest.approx(50 / 100)
    assert boards.pwm_duty(T0, "A", r) is None


def test_pin_maps():
    uno, mega = boards.get("uno"), boards.get("mega")
    assert uno.port_bit(13) == ("BCD".index("B"), 5)
    assert uno.port_bit(14) == ("BCD".index("C"), 0)  # A0
    assert mega.port_bit(44) == (mega.ports.index("L"), 5)
    assert mega.port_bit(54) == (mega.ports.index("F"), 0)  # A0
    assert len(mega.digital) == 70 and len(set(mega.digital)) == 70
    for spec in boards.BOARDS.values():
        for _pin, (timer, channel) in spec.pwm.items():
            assert channel in boards.TIMERS[timer].ocr
    with pytest.raises(ValueError, match="pin 70 is not a digital pin of the mega"):
        mega.port_bit(70)
    with pytest.raises(ValueError, match="allowed: mega, nano, uno"):
        boards.get("due")


def _rec(addr, rtype, data):
    body = bytes([len(data), addr >> 8, addr & 0xFF, rtype]) + bytes(data)
    return ":" + (body + bytes([-sum(body) & 0xFF])).hex().upper()


def test_ihex_reader(tmp_path):
    f = tmp_path / "ok.hex"
    f.write_text("\n".join([_rec(0, 0, [1, 2, 3]), _rec(8, 0, [9]), _rec(0, 1, [])]) + "\n")
    assert load(str(f), 32) == bytes([1, 2, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 9])
    bad = tmp_path / "bad.hex"
    good = _rec(0, 0, [1, 2, 3])
    bad.write_text(good[:-2] + "00\n")
    with pytest.raises(FirmwareError, match="bad.hex: line 1: checksum mismatch"):
        load(str(bad), 32)
    bad.write_text(good + "\n" + _rec(0, 7, []) + "\n")
    with pytest.raises(FirmwareError, match="line 2: unknown record type 07"):
        load(str(bad), 32)
    bad.write_text(":0300000001ZZ03F9\n")
    with pytest.raises(FirmwareError, match="line 1: not Intel HEX \\(non-hex"):
        load(str(bad), 32)
    with pytest.raises(FirmwareError, match="needs 9 bytes of flash but the chip has 8"):
        load(str(f), 8)
    bad.write_text(_rec(0, 1, []) + "\n")
    with pytest.raises(FirmwareError, match="no data records"):
        load(str(bad), 32)
