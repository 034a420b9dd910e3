"""Camera calibration files in the format ROS camera_calibration writes (ROS-free).

image_width: 640
image_height: 480
camera_name: narrow_stereo
camera_matrix: {rows: 3, cols: 3, data: [fx, 0, cx, 0, fy, cy, 0, 0, 1]}
distortion_model: plumb_bob
distortion_coefficients: {rows: 1, cols: 5, data: [k1, k2, t1, t2, k3]}
rectification_matrix: {rows: 3, cols: 3, data: [1, 0, 0, 0, 1, 0, 0, 0, 1]}
projection_matrix: {rows: 3, cols: 4, data: [fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1, 0]}
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import yaml


class CalibrationError(ValueError):
    pass


@dataclass
class Calibration:
    width: int
    height: int
    K: list[float]
    D: list[float] = field(default_factory=list)
    R: list[float] = field(default_factory=lambda: [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0])
    P: list[float] = field(default_factory=list)
    distortion_model: str = "plumb_bob"
    camera_name: str = "camera"

    def __post_init__(self):
        if not self.P:
            k = self.K
            self.P = [k[0], k[1], k[2], 0.0, k[3], k[4], k[5], 0.0, 0.0, 0.0, 1.0, 0.0]

    def scaled(self, width: int, height: int) -> Calibration:
        """The same camera at another resolution (binning / a resized stream)."""
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = width / self.width, height / self.height
        K = list(self.K)
        K[0] *= sx
        K[2] *= sx
        K[4] *= sy
        K[5] *= sy
        P = list(self.P)
        P[0] *= sx
        P[2] *= sx
        P[3] *= sx
        P[5] *= sy
        P[6] *= sy
        return Calibration(
            width, height, K, list(self.D), list(self.R), P, self.distortion_model, self.camera_name
        )


def pinhole(width: int, height: int, hfov_deg: float, name: str = "camera") -> Calibration:
    """An ideal camera (no distortion) from its horizontal field of view."""
    f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    K = [f, 0.0, width / 2.0, 0.0, f, height / 2.0, 0.0, 0.0, 1.0]
    return Calibration(width, height, K, [0.0] * 5, camera_name=name)


def _matrix(doc: dict, key: str, rows: int, cols: int, path: str, required=True):
    m = doc.get(key)
    if m is None:
        if required:
            raise CalibrationError(f"{path}: missing {key}")
        return None
    try:
        data = [float(v) for v in m["data"]]
    except (TypeError, KeyError, ValueError):
        raise CalibrationError(f"{path}: {key} needs a numeric 'data' list") from None
    if rows and len(data) != rows * cols:
        raise CalibrationError(f"{path}: {key} has {len(data)} values, expected {rows * cols}")
    if not all(math.isfinite(v) for v in data):
        raise CalibrationError(f"{path}: {key} has non-finite values")
    return data


def load(path: str) -> Calibration:
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except FileNotFoundError:
        raise CalibrationError(f"calibration file not found: {path}") from None
    except yaml.YAMLError as e:
        raise CalibrationError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(doc, dict):
        raise CalibrationError(f"{path}: expected a mapping")
    try:
        w, h = int(doc["image_width"]), int(doc["image_height"])
    except (KeyError, TypeError, ValueError):
        raise CalibrationError(f"{path}: needs integer image_width and image_height") from None
    if w <= 0 or h <= 0:
        raise CalibrationError(f"{path}: image size {w}x{h} must be positive")
    K = _matrix(doc, "camera_matrix", 3, 3, path)
    D = _matrix(doc, "distortion_coefficients", 0, 0, path, required=False) or []
    R = _matrix(doc, "rectification_matrix", 3, 3, path, required=False) or [
        1.0,
        0,
        0,
        0,
        1.0,
        0,
        0,
        0,
        1.0,
    ]
    P = _matrix(doc, "projection_matrix", 3, 4, path, required=False) or []
    return Calibration(
        w,
        h,
        K,
        D,
        R,
        P,
        str(doc.get("distortion_model", "plumb_bob")),
        str(doc.get("camera_name", "camera")),
    )


def dump(cal: Calibration) -> str:
    def m(rows, cols, data):
        return {"rows": rows, "cols": cols, "data": [float(v) for v in data]}

    return yaml.safe_dump(
        {
            "image_width": cal.width,
            "image_height": cal.height,
            "camera_name": cal.camera_name,
            "camera_matrix": m(3, 3, cal.K),
            "distortion_model": cal.distortion_model,
            "distortion_coefficients": m(1, len(cal.D), cal.D),
            "rectification_matrix": m(3, 3, cal.R),
            "projection_matrix": m(3, 4, cal.P),
        },
        sort_keys=False,
    )


def to_camera_info(cal: Calibration, msg=None):
    from sensor_msgs.msg import CameraInfo

    m = msg if msg is not None else CameraInfo()
    m.width, m.height = cal.width, cal.height
    m.distortion_model = cal.distortion_model
    m.d = [float(v) for v in cal.D]
    m.k = [float(v) for v in cal.K]
    m.r = [float(v) for v in cal.R]
    m.p = [float(v) for v in cal.P]
    return m
