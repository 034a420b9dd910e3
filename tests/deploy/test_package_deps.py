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
import yaml

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
    "py_trees": ("python3-py-trees", "py-trees"),  # edgebot_mission
    "pydantic": (None, "pydantic"),  # pip: Ubuntu 24.04/Debian 12 ship pydantic 1.x
    "pymodbus": (None, "pymodbus"),  # rosdep's python3-pymodbus is Debian's older 3.x API
    "setuptools": ("python3-setuptools", None),
    "pymata4": (None, "pymata4"),
    "pybullet": (None, "pybullet"),
    "pybullet_data": (None, "pybullet"),
    "onnxruntime": (None, "onnxruntime"),
    "ai_edge_litert": (None, "ai-edge-litert"),  # edgebot_perception litert backend
    "pycocotools": (None, "pycocotools"),  # edgebot_perception.evaluate
    "norfair": (None, "norfair-enough"),
    "onnx": (None, "onnx"),
    "foxglove": (None, "foxglove-sdk"),
    "mcap": (None, "mcap"),
    "mcap_ros2": (None, "mcap-ros2-support"),
    "rosbags": (None, "rosbags"),
    "amqtt": (None, "amqtt"),
    "yourdfpy": (None, "yourdfpy"),
    "trimesh": (None, "trimesh"),  # yourdfpy's own dependency; its transformations module
    "ultralytics": (None, "ultralytics-opencv-headless"),
    "torch": (None, "torch"),
    "torchvision": (None, "torchvision"),
    "cryptography": (None, "cryptography"),
    "sqlite3": (None, None),
}
# ROS packages that are Python modules; optional ones (tf2_ros) are full-install only
ROS_MODULES_EXTRA = {
    "rclpy",
    "ament_index_python",
    "tf2_ros",
    "rosidl_runtime_py",
    "xacro",
    "launch",
    "launch_ros",
}


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
    return {
        e.text.strip()
        for e in root
        if e.tag in ("depend", "exec_depend", "build_depend", "build_export_depend", "test_depend")
        and e.text
    }


def _imports(path):
    """(module, optional) for each absolute import in a file."""
    tree = ast.parse(path.read_text(), str(path))
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name)
            and h.type.id in ("ImportError", "ModuleNotFoundError", "Exception")
            or isinstance(h.type, ast.Tuple)
            and any(
                getattr(e, "id", "") in ("ImportError", "ModuleNotFoundError") for e in h.type.elts
            )
            for h in node.handlers
        ):
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
    files = [
        f
        for f in pkg_dir.rglob("*.py")
        if "test" not in f.relative_to(pkg_dir).parts[:1] and f.name != "setup.py"
    ]
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
                problems.append(
                    f"{where}: imports '{mod}', unknown to this test (add it to THIRD_PARTY)"
                )
                continue
            key, dist = THIRD_PARTY[mod]
            if key and key not in declared and not optional:
                problems.append(
                    f"{where}: imports '{mod}', package.xml lacks <exec_depend>{key}</exec_depend>"
                )
            if dist and dist.lower() not in reqs:
                problems.append(f"{where}: imports '{mod}', no '{dist}' in requirements/*.txt")
    assert not problems, "\n".join(sorted(set(problems)))


def test_full_ros_image_installs_the_pip_only_deps():
    text = (ROOT / "requirements" / "full-ros.txt").read_text().lower()
    needed = {d for k, d in THIRD_PARTY.values() if k is None and d} - {
        "ultralytics-opencv-headless",
        "torch",
        "torchvision",
        "onnx",
        "cryptography",
    }
    missing = [d for d in sorted(needed) if d not in text]
    assert not missing, f"requirements/full-ros.txt lacks {missing}"


# ----------------------------------------------------------------------------- rosdep completeness
#
# `rosdep install --from-paths src -y --ignore-src` fetches what the package.xml files declare,
# and `ros2 launch edgebot_bringup <file>` needs every package its launch files, URDF and config
# name. edgebot_bringup installs the top-level launch/, config/ and urdf/ (its CMakeLists.txt),
# so it declares them; our own packages' dependencies count transitively (rosdep resolves them
# from src/ too).

# ROS packages that are rosdep keys, checked against ros/rosdistro jazzy/distribution.yaml; add
# one here only after checking it is released for Jazzy
ROS_KEYS = {
    "rclpy",
    "std_msgs",
    "sensor_msgs",
    "geometry_msgs",
    "nav_msgs",
    "diagnostic_msgs",
    "std_srvs",
    "rcl_interfaces",
    "builtin_interfaces",
    "rosgraph_msgs",
    "visualization_msgs",
    "tf2_msgs",
    "tf2_ros",
    "ament_index_python",
    "ament_cmake",
    "ament_cmake_python",
    "ament_cmake_gtest",
    "ament_cmake_pytest",
    "rosidl_default_generators",
    "rosidl_default_runtime",
    "pybind11_vendor",
    "robot_state_publisher",
    "xacro",
    "ros_gz_sim",
    "ros_gz_bridge",
    "rviz2",
    "rviz_common",
    "rviz_default_plugins",
    "rviz_imu_plugin",
    "foxglove_bridge",
    "rosbag2_storage_mcap",
    "launch",
    "launch_ros",
    "launch_yaml",
    "joint_state_publisher",
    "action_msgs",
}
# system keys of rosdep/base.yaml and rosdep/python.yaml (ros/rosdistro)
SYSTEM_KEYS = {k for k, _ in THIRD_PARTY.values() if k} | {"python3-dev", "python3-pydantic"}
# keys rosdep/edgebot.yaml defines (simavr has none in ros/rosdistro); README: rosdep sources
PROJECT_KEYS_FILE = ROOT / "rosdep" / "edgebot.yaml"
# executables a launch file's $(command ...) runs -> the package that provides them
COMMAND_PACKAGES = {"xacro": "xacro"}
RUN_TAGS = ("depend", "exec_depend")
ALL_TAGS = (
    "depend",
    "exec_depend",
    "build_depend",
    "build_export_depend",
    "buildtool_depend",
    "test_depend",
)


def _deps(pkg_dir, tags=RUN_TAGS):
    root = ET.parse(pkg_dir / "package.xml").getroot()
    return {e.text.strip() for e in root if e.tag in tags and e.text}


OURS = {p.name: p for p in PACKAGES}


def _run_closure(name):
    """Run dependencies of one of our packages, with those of our packages it depends on."""
    seen, todo, out = set(), [name], set()
    while todo:
        n = todo.pop()
        if n in seen or n not in OURS:
            continue
        seen.add(n)
        deps = _deps(OURS[n])
        out |= deps
        todo.extend(deps)
    return out


def _walk_entities(entities, out):
    for item in entities or []:
        if not isinstance(item, dict):
            continue
        for kind, body in item.items():
            if kind == "group":
                _walk_entities(
                    body if isinstance(body, list) else (body or {}).get("children"), out
                )
            elif kind in ("node", "executable") and isinstance(body, dict) and "pkg" in body:
                out.add(("pkg", str(body["pkg"])))


def _launch_needs(path):
    """(why, package) for every package a launch file names."""
    text = path.read_text()
    out = set()
    _walk_entities(yaml.safe_load(text)["launch"], out)
    for m in re.finditer(r"\$\((find-pkg-share|find-pkg-prefix) ([A-Za-z0-9_]+)\)", text):
        out.add((m.group(1), m.group(2)))
    for m in re.finditer(r"\$\(command ['\"]?([A-Za-z0-9_./-]+)", text):
        exe = m.group(1).rsplit("/", 1)[-1]
        assert exe in COMMAND_PACKAGES, f"{path.name}: $(command {exe}): add it to COMMAND_PACKAGES"
        out.add(("command", COMMAND_PACKAGES[exe]))
    return out


def _config_needs():
    """Packages the installed config/ and urdf/ name: RViz display plugins (and rviz2 to open
    the .rviz), message types of bridge/mapping files, $(find pkg) in xacro."""
    out = set()
    for f in sorted((ROOT / "config").rglob("*")):
        if not f.is_file():
            continue
        text = f.read_text(errors="replace")
        rel = f.relative_to(ROOT)
        if f.suffix == ".rviz":
            out.add((f"{rel}", "rviz2"))
            for m in re.finditer(r"Class: ([a-z0-9_]+)/", text):
                out.add((f"{rel} Class", m.group(1)))
        for m in re.finditer(r"\b([a-z][a-z0-9_]*(?:_msgs|_interfaces))/(?:msg/)?[A-Z]\w*", text):
            out.add((f"{rel} message type", m.group(1)))
    for f in sorted((ROOT / "urdf").rglob("*")):
        for m in re.finditer(r"\$\(find ([A-Za-z0-9_]+)\)", f.read_text()):
            out.add((f"{f.relative_to(ROOT)}", m.group(1)))
    return out


def test_bringup_declares_what_its_launch_files_and_config_use():
    bringup = "edgebot_bringup"
    have = _run_closure(bringup) | {bringup}
    direct = _deps(OURS[bringup])
    problems = []
    for f in sorted((ROOT / "launch").glob("*.launch.yaml")):
        for why, pkg in sorted(_launch_needs(f)):
            # a launch file's packages are bringup's own run dependencies, not borrowed ones
            if pkg != bringup and pkg not in direct:
                problems.append(
                    f"launch/{f.name}: {why} {pkg}: no <exec_depend>{pkg}</exec_depend> "
                    f"in src/{bringup}/package.xml"
                )
    for why, pkg in sorted(_config_needs()):
        if pkg not in have:
            problems.append(
                f"{why}: {pkg} is not a run dependency of {bringup} (nor of our "
                "packages it depends on)"
            )
    assert not problems, "\n".join(problems)


def test_every_dependency_is_a_rosdep_key():
    """Keys rosdep cannot resolve make `rosdep install --from-paths src` fail as a whole."""
    project = set(
        (yaml.safe_load(PROJECT_KEYS_FILE.read_text()) or {}) if PROJECT_KEYS_FILE.is_file() else {}
    )
    known = set(OURS) | ROS_KEYS | SYSTEM_KEYS | project
    problems = [
        f"src/{p.name}/package.xml: <{tag}>{key}</{tag}> is not a known rosdep key"
        for p in PACKAGES
        for tag in ALL_TAGS
        for key in sorted(_deps(p, (tag,)))
        if key not in known
    ]
    assert not problems, "\n".join(problems)
    for key, rules in (
        (yaml.safe_load(PROJECT_KEYS_FILE.read_text()) or {}).items()
        if PROJECT_KEYS_FILE.is_file()
        else []
    ):
        assert {"debian", "ubuntu"} <= set(rules), f"rosdep/edgebot.yaml: {key} lacks debian/ubuntu"


@pytest.mark.parametrize("pkg_dir", PACKAGES, ids=lambda p: p.name)
def test_runtime_imports_are_run_dependencies(pkg_dir):
    """What a package's code imports at run time is a <depend>/<exec_depend>: a build- or
    test-only declaration does not reach a robot installed with rosdep."""
    name = pkg_dir.name
    run = _deps(pkg_dir)
    problems = []
    files = [
        f
        for f in pkg_dir.rglob("*.py")
        if "test" not in f.relative_to(pkg_dir).parts[:1] and f.name != "setup.py"
    ]
    for f in files:
        for mod, optional in _imports(f):
            if optional or mod in sys.stdlib_module_names or mod in (name, "__future__"):
                continue
            key = mod if _is_ros_package(mod) else (THIRD_PARTY.get(mod) or (None, None))[0]
            if key and key not in run and mod not in ("launch", "launch_ros"):
                problems.append(
                    f"{f.relative_to(ROOT)}: imports '{mod}': <{key}> is declared "
                    "only for build/test, not <exec_depend>"
                )
    assert not problems, "\n".join(sorted(set(problems)))


def test_colcon_can_order_our_packages():
    """colcon orders packages by their build and run dependencies and refuses a cycle
    ("Unable to order packages topologically"): edgebot_bringup runs every node package, so
    none of them may depend on edgebot_bringup."""
    deps = {n: _deps(p, ALL_TAGS) & set(OURS) for n, p in OURS.items()}
    done, visiting = set(), []

    def visit(n):
        if n in done:
            return
        assert n not in visiting, (
            f"dependency cycle: {' -> '.join(visiting[visiting.index(n) :] + [n])}"
        )
        visiting.append(n)
        for d in sorted(deps[n]):
            visit(d)
        visiting.pop()
        done.add(n)

    for n in sorted(deps):
        visit(n)


def test_rviz_config_shows_the_robot_model_and_tf():
    """README, 'Using edgebot from a full ROS 2 install', step 6: config/edgebot.rviz shows the
    robot model (from robot_state_publisher's latched /robot_description) and TF, fixed in
    odom; the URDF's root link is the frame base_controller puts under odom (base_frame_id)."""
    rviz = yaml.safe_load((ROOT / "config" / "edgebot.rviz").read_text())["Visualization Manager"]
    displays = {d["Class"]: d for d in rviz["Displays"]}
    model = displays["rviz_default_plugins/RobotModel"]
    assert model["Enabled"] and model["Description Source"] == "Topic"
    assert model["Description Topic"]["Value"] == "/robot_description"
    assert model["Description Topic"]["Durability Policy"] == "Transient Local"
    assert displays["rviz_default_plugins/TF"]["Enabled"]
    assert rviz["Global Options"]["Fixed Frame"] == "odom"
    urdf = ET.parse(ROOT / "urdf" / "edgebot_rover.urdf").getroot()
    children = {j.find("child").get("link") for j in urdf.findall("joint")}
    roots = [link.get("name") for link in urdf.findall("link") if link.get("name") not in children]
    control = yaml.safe_load((ROOT / "config" / "control.yaml").read_text())
    base_frame = next(
        v["ros__parameters"]["base_frame_id"]
        for v in control.values()
        if "base_frame_id" in v.get("ros__parameters", {})
    )
    assert roots == [base_frame]
