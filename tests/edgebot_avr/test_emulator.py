"""The emulated Arduino running the real StandardFirmata 2.4 (avrgirl-arduino builds) on
simavr: what a host sees on the pty, and what a logic analyser sees on the pins."""

import os
import signal
import subprocess
import sys

import pytest
import serial
from firmata_wire import (
    INPUT,
    OUTPUT,
    PWM,
    REPORT_ANALOG,
    REPORT_DIGITAL,
    SERVO,
    FirmataWire,
)

from edgebot_avr import EmulatedArduino, FirmwareError, firmware_path
from edgebot_testing import wait_for


def test_boots_and_answers_the_version_query(make_emu):
    emu = make_emu("uno")
    with FirmataWire(emu.port) as fw:
        assert fw.wait_boot() == ("version", 2, 4)
        wait_for(fw.firmware_replies, 10, what="the boot firmware report")
        n = fw.count()
        fw.query_firmware()
        reply = wait_for(lambda: fw.firmware_replies(n), 10, what="the firmware query reply")
        assert reply[0] == (2, 4, "StandardFirmata.ino")


def test_opening_the_port_resets_the_board_like_dtr(make_emu):
    emu = make_emu("uno")
    # the firmware booted at power-on and sent its version to nobody
    wait_for(lambda: emu.sim_time_s > 0.5, 10, what="emulated time to pass")
    assert emu.stats()["resets"] == 0
    for opening in (1, 2):
        with FirmataWire(emu.port) as fw:
            assert fw.wait_boot() == ("version", 2, 4)
        st = emu.stats()
        assert st["opens"] == opening and st["resets"] == opening


def test_digital_output_port_write_seen_on_the_pin(make_emu):
    emu = make_emu("uno")
    with FirmataWire(emu.port) as fw:
        fw.wait_boot()
        fw.pin_mode(13, OUTPUT)
        fw.pin_mode(8, OUTPUT)
        fw.port_write(1, 0b100001)  # port 1 = pins 8..15: D8 and D13 high
        wait_for(lambda: emu.pin(13).level and emu.pin(8).level, 10, what="D8, D13 high")
        assert emu.pin(13).mode == "output" and emu.pin(13).pwm_duty is None
        fw.port_write(1, 0b000001)
        wait_for(lambda: not emu.pin(13).level, 10, what="D13 low")
        assert emu.pin(8).level


def test_pin_listener_records_output_edges_in_emulated_time(make_emu):
    emu = make_emu("uno")
    edges = []
    emu.add_pin_listener(lambda pin, level, t: edges.append((pin, level, t)))
    with FirmataWire(emu.port) as fw:
        fw.wait_boot()
        fw.pin_mode(12, OUTPUT)
        fw.port_write(1, 1 << 4)
        wait_for(lambda: (12, True) in [e[:2] for e in edges], 10, what="rising edge on D12")
        fw.port_write(1, 0)
        wait_for(lambda: (12, False) in [e[:2] for e in edges], 10, what="falling edge on D12")
    d12 = [e for e in edges if e[0] == 12]
    assert [e[1] for e in d12] == [True, False]
    assert 0 < d12[0][2] < d12[1][2] <= emu.sim_time_s


@pytest.mark.parametrize("pin", [5, 10, 3])  # Timer0 fast PWM, Timer1 and Timer2 phase correct
def test_pwm_duty_from_the_timer_registers(make_emu, pin):
    emu = make_emu("uno")
    with FirmataWire(emu.port) as fw:
        fw.wait_boot()
        fw.pin_mode(pin, PWM)
        for value, duty in ((64, 0.25), (191, 0.75)):
            fw.analog_write(pin, value)
            st = wait_for(
                lambda: (
                    (s := emu.pin(pin)).pwm_duty is not None and abs(s.pwm_duty - duty) < 0.01 and s
                ),
                10,
                what=f"duty {duty}",
            )
            assert st.mode == "output"
        fw.analog_write(pin, 0)  # analogWrite(0) is a plain LOW
        wait_for(lambda: emu.pin(pin).pwm_duty is None, 10, what="PWM off at 0")


def test_servo_pulse_width_and_timer1_conflict(make_emu):
    emu = make_emu("uno")
    with FirmataWire(emu.port) as fw:
        fw.wait_boot()
        fw.pin_mode(10, PWM)
        fw.analog_write(10, 128)
        wait_for(lambda: emu.pin(10).pwm_duty, 10, what="PWM on D10")
        fw.servo_config(9, 544, 2400)
        fw.pin_mode(9, SERVO)
        for us in (1000, 1500, 2000):
            fw.analog_write(9, us)
            wait_for(
                lambda: (w := emu.pin(9).servo_us) and abs(w - us) < 15,
                10,
                what=f"a {us} us servo pulse",
            )
        # the Servo library took Timer1: D10's PWM is gone, as on a real Uno
        assert emu.pin(10).pwm_duty is None
        assert emu.pin(9).pwm_duty is None


def test_analog_input_voltage_reported(make_emu):
    emu = make_emu("uno")
    emu.set_analog(0, 2.5)
    with FirmataWire(emu.port) as fw:
        fw.wait_boot()
        n = fw.count()
        fw.send(REPORT_ANALOG | 0, 1)
        wait_for(
            lambda: (v := fw.last("analog", 0, n)) is not None and abs(v - 512) <= 2,
            10,
            what="A0 ~ 512 at 2.5 V",
        )
        emu.set_analog(0, 1.0)
        wait_for(lambda: abs(fw.last("analog", 0) - 205) <= 2, 10, what="A0 ~ 205 at 1.0 V")
        emu.set_analog(0, 5.0)
        wait_for(lambda: fw.last("analog", 0) == 1023, 10, what="A0 = 1023 at 5 V")


def test_digital_input_change_reported(make_emu):
    emu = make_emu("uno")
    with FirmataWire(emu.port) as fw:
        fw.wait_boot()
        fw.pin_mode(2, INPUT)
        fw.send(REPORT_DIGITAL | 0, 1)
        emu.set_digital(2, True)
        wait_for(
            lambda: (v := fw.last("digital", 0)) is not None and v & 0b100,
            10,
            what="D2 high reported",
        )
        assert emu.pin(2).mode == "input" and emu.pin(2).level
        emu.set_digital(2, False)
        wait_for(lambda: not fw.last("digital", 0) & 0b100, 10, what="D2 low reported")


def test_a_burst_of_host_bytes_is_not_lost(make_emu):
    # 120 port writes = 360 bytes in one write(): far more than simavr's receive FIFO, so the
    # feed must wait for XON. Every write changes D8..D13, so the logic analyser shows whether
    # the firmware applied each one, in order. (Commands that each make the firmware send a
    # long reply would overflow the sketch's own 64-byte ring buffer -- as on a real board.)
    emu = make_emu("uno")
    edges = []
    emu.add_pin_listener(lambda pin, level, t: edges.append((pin, level, t)))
    values = [(i * 37) % 63 + 1 for i in range(120)]
    values = [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
    with FirmataWire(emu.port) as fw:
        fw.wait_boot()
        for pin in range(8, 14):
            fw.pin_mode(pin, OUTPUT)
        fw.port_write(1, 0)
        n = fw.count()
        fw.query_firmware()
        wait_for(lambda: fw.firmware_replies(n), 10, what="pin modes applied")
        del edges[:]
        before = emu.stats()["bytes_from_host"]
        fw.ser.write(b"".join(bytes([0x91, v & 0x7F, v >> 7]) for v in values))
        wait_for(
            lambda: emu.stats()["bytes_from_host"] - before == 3 * len(values),
            30,
            what="every byte fed to the UART",
        )
        wait_for(
            lambda: sum(emu.pin(p).level << (p - 8) for p in range(8, 14)) == values[-1],
            10,
            what="the last port value on D8..D13",
        )
    # group the edges by emulated time: one PORTB write moves its pins in the same cycle
    state, seen, last_t = 0, [], None
    for pin, level, t in edges:
        if last_t is not None and t != last_t:
            seen.append(state)
        state = state | (1 << (pin - 8)) if level else state & ~(1 << (pin - 8))
        last_t = t
    seen.append(state)
    assert seen == values


def test_speed_paces_emulated_time(make_emu):
    import time

    emu = make_emu("uno", speed=1.0)
    wait_for(lambda: emu.realtime_factor > 0, 10, what="a real-time factor figure")
    t0, s0 = time.monotonic(), emu.sim_time_s
    wait_for(lambda: time.monotonic() - t0 > 1.0, 5)
    ratio = (emu.sim_time_s - s0) / (time.monotonic() - t0)
    print(f"speed 1: emulated/wall {ratio:.3f}, realtime_factor {emu.realtime_factor:.3f}")
    assert 0 < ratio < 1.2  # paced: never ahead of the wall clock (slower when starved)
    emu.speed = 0
    t0, s0 = time.monotonic(), emu.sim_time_s
    wait_for(lambda: time.monotonic() - t0 > 1.0, 5)
    free = (emu.sim_time_s - s0) / (time.monotonic() - t0)
    print(f"speed 0: emulated/wall {free:.3f}")
    assert free > 0


def test_unplug_and_replug(make_emu, tmp_path):
    link = str(tmp_path / "ttyEMU")
    emu = make_emu("uno", link=link)
    assert emu.port == link and os.path.realpath(link) == emu.pty
    fw = FirmataWire(link)
    try:
        fw.wait_boot()
        emu.unplug()
        assert not os.path.lexists(link)
        # the host's reads fail like a pulled USB cable
        wait_for(lambda: fw.error is not None, 10, what="a read error on the host side")
        with pytest.raises(serial.SerialException):
            for _ in range(20):
                fw.ser.write(b"\xf9")
                fw.ser.read(1)
    finally:
        fw.close()
    assert emu.replug() == link and os.path.exists(link)
    with FirmataWire(link) as fw2:
        assert fw2.wait_boot() == ("version", 2, 4)


def test_host_baud_mismatch_garbles_like_a_real_uart(make_emu):
    emu = make_emu("uno")
    fw = FirmataWire(emu.port, baud=115200)  # StandardFirmata runs at 57600
    try:
        wait_for(lambda: emu.stats()["garbled"] > 10, 10, what="garbled bytes")
        assert not fw.messages("version")
        assert b"S\x00t\x00a\x00n\x00d" not in bytes(fw.raw)
    finally:
        fw.close()
    with FirmataWire(emu.port, baud=57600) as ok:  # the right rate works
        assert ok.wait_boot() == ("version", 2, 4)


def test_pymata4_at_the_wrong_baud_fails_as_on_hardware(make_emu):
    """pymata4's default 115200 against StandardFirmata's 57600: its arduino-id query gets
    garbage back, as with a real Uno."""
    from pymata4.pymata4 import Pymata4

    emu = make_emu("uno")
    with pytest.raises(RuntimeError, match="Invalid Arduino ID reply length"):
        board = Pymata4(
            com_port=emu.port, baud_rate=115200, arduino_wait=1, shutdown_on_exception=False
        )
        board.shutdown()
    assert emu.stats()["garbled"] > 0


def test_quadrature_generator_edges_reach_the_firmware(make_emu):
    emu = make_emu("uno")
    q = emu.quadrature(2, 3)
    with FirmataWire(emu.port) as fw:
        fw.wait_boot()
        fw.pin_mode(2, INPUT)
        fw.pin_mode(3, INPUT)
        fw.send(REPORT_DIGITAL | 0, 1)
        wait_for(lambda: fw.last("digital", 0) is not None, 10, what="port 0 report")
        n = fw.count()
        q.set_rate(200.0)  # 200 edges per emulated second
        t0 = emu.sim_time_s
        wait_for(lambda: q.edges >= 100, 20, what="100 edges")
        q.set_rate(-200.0)
        wait_for(lambda: q.edges <= 40, 20, what="reverse to 40")
        q.set_rate(0)
        final = q.edges
        elapsed = emu.sim_time_s - t0
        wait_for(lambda: emu.sim_time_s > t0 + elapsed + 0.1, 10)
        assert q.edges == final  # stopped
        # decode what the firmware reported: every edge is one Gray-code step
        order = {(0, 0): 0, (1, 0): 1, (1, 1): 2, (0, 1): 3}

        def decoded():
            seq = [order[((v >> 2) & 1, (v >> 3) & 1)] for _, _, v in fw.messages("digital", n)]
            seq.insert(0, 0)  # both pins low before the first edge
            steps = [(b - a) % 4 for a, b in zip(seq, seq[1:])]
            assert 2 not in steps, "a report skipped a state"
            return sum({1: 1, 3: -1, 0: 0}[s] for s in steps)

        wait_for(lambda: decoded() == final, 10, what=f"{final} decoded edges")
        assert q.edges == final
    print(f"{final} net edges in {elapsed:.3f} s emulated")


def test_mega_pins_and_timers(make_emu):
    emu = make_emu("mega")
    with FirmataWire(emu.port) as fw:
        assert fw.wait_boot() == ("version", 2, 3)  # avrgirl's Mega build is Firmata 2.3
        fw.pin_mode(44, PWM)  # Timer5 C
        fw.analog_write(44, 191) if 44 < 16 else fw.send(0xF0, 0x6F, 44, 191 & 0x7F, 191 >> 7, 0xF7)
        wait_for(
            lambda: (d := emu.pin(44).pwm_duty) and abs(d - 0.75) < 0.01, 10, what="75 % on D44"
        )
        fw.pin_mode(22, OUTPUT)  # PA0, port 2 = pins 16..23
        fw.port_write(2, 1 << 6)
        wait_for(lambda: emu.pin(22).level, 10, what="D22 high")
        # A7 and A15 (MUX5: simavr 1.6 keeps only 8 ADC values, see the README)
        emu.set_analog(7, 5.0)
        emu.set_analog(15, 2.5)
        fw.send(REPORT_ANALOG | 7, 1)
        fw.send(REPORT_ANALOG | 15, 1)
        wait_for(lambda: fw.last("analog", 7) == 1023, 10, what="A7 = 1023")
        wait_for(lambda: abs((fw.last("analog", 15) or 0) - 512) <= 2, 10, what="A15 ~ 512")
        assert fw.last("analog", 7) == 1023  # A15 did not take A7's value


def test_bad_input_is_refused_with_clear_errors(tmp_path):
    with pytest.raises(
        ValueError, match="board 'leonardo' is not supported; allowed: mega, nano, uno"
    ):
        EmulatedArduino(board="leonardo", firmware=firmware_path("uno"))
    not_hex = tmp_path / "firmware.bin"
    not_hex.write_bytes(bytes(range(256)))
    with pytest.raises(FirmwareError, match=r"firmware\.bin: not Intel HEX"):
        EmulatedArduino(board="uno", firmware=str(not_hex))
    text = tmp_path / "notes.hex"
    text.write_text("hello world\n")
    with pytest.raises(FirmwareError, match=r"notes\.hex: line 1: not Intel HEX"):
        EmulatedArduino(board="uno", firmware=str(text))
    big = tmp_path / "big.hex"
    lines = []
    for addr in range(0, 40 * 1024, 16):  # 40 KiB: more than the Uno's 32 KiB
        if addr and addr % 0x10000 == 0:
            hi = addr >> 16
            rec = bytes([2, 0, 0, 4, hi >> 8, hi & 0xFF])
            lines.append(":" + (rec + bytes([-sum(rec) & 0xFF])).hex().upper())
        rec = bytes([16, (addr >> 8) & 0xFF, addr & 0xFF, 0]) + bytes(16)
        lines.append(":" + (rec + bytes([-sum(rec) & 0xFF])).hex().upper())
    lines.append(":00000001FF")
    big.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        FirmwareError,
        match=r"big\.hex: the image needs 40960 bytes of flash "
        r"but the uno \(atmega328p\) has 32256",
    ):
        EmulatedArduino(board="uno", firmware=str(big))
    EmulatedArduino(board="mega", firmware=str(big), speed=0)  # fits a Mega
    with pytest.raises(FirmwareError, match="no such file"):
        EmulatedArduino(board="uno", firmware=str(tmp_path / "missing.hex"))
    with pytest.raises(FirmwareError, match="make setup"):
        firmware_path("uno", "FirmataExpress")
    with pytest.raises(ValueError, match="speed -1"):
        EmulatedArduino(board="uno", firmware=firmware_path("uno"), speed=-1)
    emu = EmulatedArduino(board="uno", firmware=firmware_path("uno"))
    with pytest.raises(ValueError, match=r"outside 0..5 V"):
        emu.set_analog(0, 7.0)
    with pytest.raises(ValueError, match=r"analog channel 6 is not an input of the uno"):
        emu.set_analog(6, 1.0)
    with pytest.raises(ValueError, match=r"pin 20 is not a digital pin of the uno \(0..19\)"):
        emu.pin(20)


def test_cli_runs_the_firmware_on_a_link(tmp_path):
    link = str(tmp_path / "ttyARD")
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edgebot_cli.main",
            "emulated-arduino",
            "--board",
            "uno",
            "--link",
            link,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: os.path.exists(link) or p.poll() is not None, 30, what="the link")
        assert p.poll() is None, p.stderr.read()
        with FirmataWire(link) as fw:
            assert fw.wait_boot() == ("version", 2, 4)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        assert "emulated uno (atmega328p @ 16 MHz)" in out and link in out
        assert not os.path.lexists(link)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    bad = subprocess.run(
        [sys.executable, "-m", "edgebot_cli.main", "emulated-arduino", "--board", "leonardo"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "board 'leonardo' is not supported; allowed: mega, nano, uno" in bad.stderr
    # the same through the executable `ros2 run edgebot_avr emulated_arduino` starts
    from ament_index_python.packages import get_package_prefix

    exe = os.path.join(get_package_prefix("edgebot_avr"), "lib", "edgebot_avr", "emulated_arduino")
    bad = subprocess.run(
        [sys.executable, exe, "--board", "leonardo"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "allowed: mega, nano, uno" in bad.stderr, bad.stderr


def test_pymata4_talks_to_the_real_firmware(make_emu):
    """The unchanged pymata4 1.15 against StandardFirmata at 57600 (it skips its arduino-id
    query at that rate): firmware and protocol version, an analog input, a digital output."""
    from pymata4.pymata4 import Pymata4

    emu = make_emu("uno")
    emu.set_analog(1, 3.0)
    board = Pymata4(com_port=emu.port, baud_rate=57600, arduino_wait=2, shutdown_on_exception=False)
    try:
        assert board.get_protocol_version() == "2.4"
        assert "StandardFirmata" in board.get_firmware_version()
        board.set_pin_mode_analog_input(1)
        wait_for(lambda: abs(board.analog_read(1)[0] - 614) <= 2, 10, what="A1 ~ 614 at 3 V")
        board.set_pin_mode_digital_output(13)
        board.digital_write(13, 1)  # pymata4 sends a port message for this
        wait_for(lambda: emu.pin(13).level, 10, what="D13 high")
    finally:
        board.shutdown()


def test_an_input_driven_before_boot_reads_its_level_after_an_output_phase(make_emu):
    # StandardFirmata makes every pin an output at boot; when the host sets D4 back to INPUT,
    # the firmware must read what drives the pin (a held-low bumper, a high line), as on a board
    emu = make_emu("uno", start=False)
    emu.set_digital(4, True)
    emu.start()
    with FirmataWire(emu.port) as fw:
        fw.wait_boot()
        wait_for(lambda: emu.pin(4).mode == "output", 10, what="D4 an output after boot")
        fw.pin_mode(4, INPUT)
        fw.send(REPORT_DIGITAL | 0, 1)
        wait_for(
            lambda: (v := fw.last("digital", 0)) is not None and v & (1 << 4),
            10,
            what="D4 reported high",
        )
        assert emu.pin(4).level


def test_a_firmware_that_never_answers_firmata_is_named(make_emu, tmp_path):
    """The real StandardFirmata reports its protocol version at boot (seen on the UART even with
    no host on the port); a valid image that is not Firmata (here: one instruction, `rjmp .`,
    spinning for ever) is a FirmwareError naming the file and what was expected -- from the API
    and from `edgebot emulated-arduino`."""
    emu = make_emu("uno")
    assert emu.wait_firmata(timeout=5.0) == "2.4"
    spin = tmp_path / "spin.hex"
    spin.write_text(":02000000FFCF30\n:00000001FF\n")  # 0xCFFF = rjmp -1 at address 0
    silent = make_emu("uno", firmware=str(spin))
    with pytest.raises(FirmwareError, match=r"spin\.hex: no Firmata version report") as err:
        silent.wait_firmata(timeout=1.0)
    assert "StandardFirmata or FirmataExpress" in str(err.value)
    assert silent.firmata_version is None
    cli = subprocess.Popen(
        [sys.executable, "-m", "edgebot_avr.cli", "--firmware", str(spin), "--speed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        err_line = cli.stderr.readline()
    finally:
        cli.send_signal(signal.SIGINT)
        cli.wait(timeout=20)
    assert "spin.hex: no Firmata version report" in err_line, err_line
