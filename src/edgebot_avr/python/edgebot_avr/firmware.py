"""Where the firmware images live: installed by ``make setup`` (scripts/setup.sh) from the npm
package avrgirl-arduino 5.0.1 (``junk/hex/<board>/StandardFirmata.cpp.hex``; Firmata 2.4,
LGPL-2.1) into ``<venv>/share/edgebot_avr/firmware/<board>/<name>.hex``, never into git.
``EDGEBOT_AVR_FIRMWARE_DIR`` points elsewhere.
"""

from __future__ import annotations

import os
import sys

from edgebot_avr.ihex import FirmwareError


def firmware_dirs() -> list[str]:
    dirs = []
    env = os.environ.get("EDGEBOT_AVR_FIRMWARE_DIR")
    if env:
        dirs.append(env)
    dirs.append(os.path.join(sys.prefix, "share", "edgebot_avr", "firmware"))
    return dirs


def firmware_path(board: str = "uno", name: str = "StandardFirmata") -> str:
    """Path of an installed firmware image; FirmwareError saying what is missing and how to
    get it."""
    from edgebot_avr import boards

    boards.get(board)
    tried = []
    for d in firmware_dirs():
        for fname in (f"{name}.hex", f"{name}.cpp.hex"):
            p = os.path.join(d, board, fname)
            if os.path.isfile(p):
                return p
            tried.append(p)
    raise FirmwareError(
        f"firmware {name} for the {board} is not installed (looked for "
        f"{', '.join(tried)}); run `make setup` (scripts/setup.sh fetches the "
        f"avrgirl-arduino 5.0.1 images) or set EDGEBOT_AVR_FIRMWARE_DIR"
    )
