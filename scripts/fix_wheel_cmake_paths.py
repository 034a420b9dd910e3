"""Make the ROS 2 wheels' CMake export files resolve inside this venv.

The Kilted wheels were built on a manylinux image and their generated CMake export files name
that image's Python include directory and numpy include directory. Interface packages built
against them fail with "Imported target ... includes non-existent path". We rewrite those two
paths to this interpreter's own, inside the venv only (no root, nothing outside the checkout).
Idempotent: a second run finds nothing to rewrite.
"""

import pathlib
import sys
import sysconfig

import numpy

BUILD_PREFIX = "/opt/python/cp311-cp311"
OLD_PY_INCLUDE = BUILD_PREFIX + "/include/python3.11"
OLD_NUMPY_INCLUDE = BUILD_PREFIX + "/lib/python3.11/site-packages/numpy/_core/include"


def main() -> int:
    venv = pathlib.Path(sys.prefix)
    new_py_include = sysconfig.get_paths()["include"]
    new_numpy_include = numpy.get_include()
    changed = 0
    for path in (venv / "share").glob("*/cmake/*.cmake"):
        text = path.read_text(errors="surrogateescape")
        if BUILD_PREFIX not in text:
            continue
        new = text.replace(OLD_NUMPY_INCLUDE, new_numpy_include).replace(
            OLD_PY_INCLUDE, new_py_include
        )
        if new != text:
            path.write_text(new, errors="surrogateescape")
            changed += 1
    print(f"fix_wheel_cmake_paths: {changed} file(s) rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
