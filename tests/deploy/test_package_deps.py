"""Every package declares what its Python code imports.

For each package under src/, the top-level modules its code imports must be covered:
- ROS packages (rclpy, message packages, ament_index_python, our own packages) by a
  <depend>/<exec_depend> in its package.xml (so `rosdep install --from-paths src` works);
- third-party Python modules by the rosdep key in package.xml where one exists, and by a pip
  requirement in requirements/ (the pip-only path; requirements/full-ros.txt for the pip-only
  deps of the full-ROS Docker image);
- imports guarded by ``try: ... except ImportError`` (optional backends such as torch or tf2_ros)
  only need their pip requirement (or package.xml entry for ROS ones).
"""
import ast
import pathlib
import re
import sys
import xml.etree.ElementTree as ET

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SRC = ROOT / "src"

# import name -> (rosdep key or None, pip distribution or None)
THIRD_PARTY = {
    "numpy": ("python3-numpy", "numpy"),
    "yaml": ("python3-yaml", "pyyaml"),
    "cv2": ("python3-opencv", "opencv-python-headless"),
    "serial": ("python3-serial", "pyserial"),
    "paho": ("python3-paho-mqtt", "paho-mqtt"),
    "psutil": ("python3-psutil", "psutil"),
    "smbus2": ("python3-smbus2", "smbus2"),
    "websockets": ("python3-websockets", "websockets"),
    "matplotlib": ("python3-matplotlib", "matplotlib"),
    "scipy": ("python3-scipy", "scipy"),
    "PIL": ("python3-pil", "pillow"),
    "lxml": ("python3-lxml", "lxml"),
    "pytest": ("python3-pytest", "pytest"),
    "pydantic": (None, "pydantic"),  # pip: Ubuntu 24.04/Debian 12 ship pydantic 1.x
    "setuptools": ("python3-setuptools", None),
    "pymata4": (None, "pymata4"),
    "pybullet": (None, "pybullet"),
    "pybullet_data": (None, "pybullet"),
    "onnxruntime": (None, "onnxruntime"),
    "onnx": (None, "onnx"),
    "foxglove": (None, "foxglove-sdk"),
    "mcap": (None, "mcap"),
    "mcap_ros2": (None, "mcap-ros2-support"),
    "rosbags": (None, "rosbags"),
    "amqtt": (None, "amqtt"),
    "yourdfpy": (None, "yourdfpy"),
    "ultralytics": (None, "ultralytics-opencv-headless"),
    "torch": (None, "torch"),
    "torchvision": (None, "torchvision"),
    "cryptography": (None, "cryptography"),
    "sqlite3": (None, None),
}
# ROS packages that are Python modules; optional ones (tf2_ros) are full-install only
ROS_MODULES_EXTRA = {"rclpy", "ament_index_python", "tf2_ros", "rosidl_runtime_py", "xacro",
                     "launch", "launch_ros"}


def _requirements():
    names = set()
    for f in (ROOT / "requirements").glob("*.txt"):
        for line in f.read_text().splitlines():
            line = line.split("#")[0].strip()
            if line:
                names.add(re.split(r"[=<>\[; ]", line)[0].lower().replace("_", "-"))
    return names


def _is_ros_package(name):
    if name in ROS_MODULES_EXTRA or name.endswith(("_msgs", "_srvs", "_interfaces")):
        return True
    return (SRC / name / "package.xml").is_file()


def _declared(pkg_dir):
    root = ET.parse(pkg_dir / "package.xml").getroot()
    return {e.text.strip() for e in root if e.tag in
            ("depend", "exec_depend", "build_depend", "build_export_depend", "test_depend") and e.text}


def _imports(path):
    """(module, optional) for each absolute import in a file."""
    tree = ast.parse(path.read_text(), str(path))
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError", "Exception")
                or isinstance(h.type, ast.Tuple) and any(getattr(e, "id", "") in ("ImportError", "ModuleNotFoundError") for e in h.type.elts)
                for h in node.handlers):
            for sub in node.body:
                for n in ast.walk(sub):
                    guarded.add(id(n))
    out = []
    funcs_lazy = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for n in ast.walk(node):
                funcs_lazy.add(id(n))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out.append((a.name.split(".")[0], id(node) in guarded))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.module.split(".")[0], id(node) in guarded))
    return out


PACKAGES = sorted(p.parent for p in SRC.glob("*/package.xml"))


@pytest.mark.parametrize("pkg_dir", PACKAGES, ids=lambda p: p.name)
def test_imports_are_declared(pkg_dir):
    name = pkg_dir.name
    declared = _declared(pkg_dir)
    reqs = _requirements()
    problems = []
    # setup.py imports setuptools, the build tool of every ament_python package: not a dependency
    files = [f for f in pkg_dir.rglob("*.py") if "test" not in f.relative_to(pkg_dir).parts[:1]
             and f.name != "setup.py"]
    for f in files:
        for mod, optional in _imports(f):
            where = f.relative_to(ROOT)
            if mod in sys.stdlib_module_names or mod == name or mod == "__future__":
                continue
            if mod == name:
                continue
            if _is_ros_package(mod):
                if mod not in declared and not (optional and mod in ROS_MODULES_EXTRA):
                    problems.append(f"{where}: imports ROS package '{mod}', not in package.xml")
                continue
            if mod not in THIRD_PARTY:
                problems.append(f"{where}: imports '{mod}', unknown to this test (add it to THIRD_PARTY)")
                continue
            key, dist = THIRD_PARTY[mod]
            if key and key not in declared and not optional:
                problems.append(f"{where}: imports '{mod}', package.xml lacks <exec_depend>{key}</exec_depend>")
            if dist and dist.lower() not in reqs:
                problems.append(f"{where}: imports '{mod}', no '{dist}' in requirements/*.txt")
    assert not problems, "\n".join(sorted(set(problems)))


def test_full_ros_image_installs_the_pip_only_deps():
    text = (ROOT / "requirements" / "full-ros.txt").read_text().lower()
    needed = {d for k, d in THIRD_PARTY.values() if k is None and d} - {
        "ultralytics-opencv-headless", "torch", "torchvision", "onnx", "cryptography", "yourdfpy"}
    missing = [d for d in sorted(needed) if d not in text]
    assert not missing, f"requirements/full-ros.txt lacks {missing}"
