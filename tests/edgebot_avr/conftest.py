import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # firmata_wire

from edgebot_avr import EmulatedArduino, firmware_path


@pytest.fixture
def make_emu():
    """make_emu(board="uno", **kw) -> a started EmulatedArduino running StandardFirmata
    (speed 3 unless given); every one is stopped at teardown."""
    made = []

    def make(board: str = "uno", start: bool = True, **kw):
        kw.setdefault("firmware", firmware_path(board))
        kw.setdefault("speed", 3.0)  # emulated time 3x faster: the 2 s boot blink takes less
        emu = EmulatedArduino(board=board, **kw)
        made.append(emu)
        if start:
            emu.start()
        return emu

    yield make
    for emu in made:
        emu.stop()
