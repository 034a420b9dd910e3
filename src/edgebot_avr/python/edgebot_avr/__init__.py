"""An emulated Arduino (simavr) running real firmware, USART0 on a pseudo-terminal.

from edgebot_avr import EmulatedArduino, firmware_path
with EmulatedArduino(board="uno", firmware=firmware_path("uno")) as emu:
    serial.Serial(emu.port, 57600)   # opening the port resets the board, like a Uno's DTR
"""

from edgebot_avr.emulator import EmulatedArduino, PinState, Quadrature
from edgebot_avr.firmware import firmware_path
from edgebot_avr.ihex import FirmwareError

__all__ = ["EmulatedArduino", "FirmwareError", "PinState", "Quadrature", "firmware_path"]
