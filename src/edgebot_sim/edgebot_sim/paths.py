"""Where the top-level resources (urdf/, config/scenarios/) are found, ROS-free.

Order: an existing path as given; the share directory of ``edgebot_bringup`` (installed
workspace or a full ROS 2 install); the source checkout this module lives in.
"""

from __future__ import annotations

import os
import pathlib

#: the repository root when running from the source tree (symlink install / develop mode)
REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]


def _bringup_share() -> pathlib.Path | None:
    try:
        from ament_index_python.packages import get_package_share_directory

        return pathlib.Path(get_package_share_directory("edgebot_bringup"))
    except Exception:
        return None


def resource(kind: str, name: str, suffix: str = "") -> pathlib.Path:
    """Resolve ``name`` (a path, or a bare name under ``<root>/<kind>/``) to an existing file.

    Raises FileNotFoundError listing the places tried.
    """
    p = pathlib.Path(os.path.expanduser(name))
    if p.is_file():
        return p.resolve()
    tried = [str(p)]
    names = [name] if (not suffix or name.endswith(suffix)) else [name + suffix, name]
    roots = [REPO_ROOT]
    share = _bringup_share()
    if share is not None:
        roots.insert(0, share)
    for root in roots:
        for n in names:
            cand = root / kind / n
            tried.append(str(cand))
            if cand.is_file():
                return cand.resolve()
    raise FileNotFoundError(f"{kind} {name!r} not found (tried: {', '.join(tried)})")


def scenario_path(name: str) -> pathlib.Path:
    return resource("config/scenarios", name, ".yaml")


def urdf_path(name: str = "edgebot_rover.urdf") -> pathlib.Path:
    return resource("urdf", name, ".urdf")


def list_scenarios() -> list:
    out = set()
    for root in filter(None, [_bringup_share(), REPO_ROOT]):
        d = root / "config" / "scenarios"
        if d.is_dir():
            out.update(f.stem for f in d.glob("*.yaml"))
    return sorted(out)
