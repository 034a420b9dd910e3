#!/usr/bin/env python3
"""Render a labelled YOLO dataset of the demo-world objects (edgebot_common.objects) with
pybullet's TinyRenderer, as the rover camera sees them (~0.15 m above the floor, looking
forward, 320x240, 60 deg HFOV). Labels come from the segmentation mask.

Reproducible: everything derives from --seed. The images are not committed; this script is.

    python src/edgebot_perception/scripts/make_dataset.py --out /tmp/edgebot_dataset \
        --train 1200 --val 150 --test 300 --seed 6
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys
import time

import cv2
import numpy as np
import pybullet as p
import pybullet_data

from edgebot_common import objects

W, H = objects.CAMERA_WIDTH, objects.CAMERA_HEIGHT
HFOV = math.radians(objects.CAMERA_HFOV_DEG)
VFOV_DEG = math.degrees(2 * math.atan(math.tan(HFOV / 2) * H / W))
MIN_PIXELS = 12  # visible pixels for a label
MIN_SIDE = 3  # px, bbox side


def make_textures(rng: np.random.Generator, out: pathlib.Path, n: int) -> list:
    """Floor/wall textures: noise, checkers, tiles, stripes, in random colours."""
    paths = []
    out.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        size = 256
        base = rng.uniform(30, 230, 3)
        alt = np.clip(base + rng.uniform(-90, 90, 3), 0, 255)
        kind = i % 5
        yy, xx = np.mgrid[0:size, 0:size]
        if kind == 0:  # checker
            k = int(rng.integers(8, 64))
            m = ((xx // k + yy // k) % 2).astype(np.float32)
        elif kind == 1:  # stripes (wood/planks)
            k = int(rng.integers(6, 40))
            m = ((yy // k) % 2).astype(np.float32) * rng.uniform(0.3, 1.0)
        elif kind == 2:  # tiles with grout
            k = int(rng.integers(16, 64))
            m = (((xx % k) < 2) | ((yy % k) < 2)).astype(np.float32)
        else:  # smooth noise (carpet, concrete)
            small = rng.uniform(0, 1, (int(rng.integers(4, 32)),) * 2).astype(np.float32)
            m = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
        m = np.clip(m, 0, 1)[..., None]
        img = base * (1 - m) + alt * m
        img += rng.normal(0, rng.uniform(2, 18), img.shape)
        img = np.clip(img, 0, 255).astype(np.uint8)
        path = out / f"tex_{i:02d}.png"
        cv2.imwrite(str(path), img)
        paths.append(str(path))
    return paths


def jitter_rgba(rng, rgba, amount):
    rgb = np.array(rgba[:3]) * rng.uniform(1 - amount, 1 + amount * 0.5)
    rgb = np.clip(rgb + rng.normal(0, amount * 0.15, 3), 0, 1)
    return [float(rgb[0]), float(rgb[1]), float(rgb[2]), 1.0]


DISTRACTOR_COLOURS = [
    (0.1, 0.7, 0.2),
    (0.9, 0.9, 0.9),
    (0.2, 0.2, 0.2),
    (0.6, 0.4, 0.2),
    (0.7, 0.2, 0.8),
    (0.9, 0.9, 0.2),
    (0.3, 0.8, 0.9),
    (0.5, 0.5, 0.55),
]


class Scene:
    def __init__(self, rng: np.random.Generator, tex_dir: pathlib.Path):
        self.rng = rng
        self.cid = p.connect(p.DIRECT)
        p.setAdditionalSearchPath(pybullet_data.getDataPath())
        self.plane = p.loadURDF("plane.urdf")
        self.textures = [p.loadTexture(t) for t in make_textures(rng, tex_dir, 24)]
        self.bodies = []

    def clear(self):
        for b in self.bodies:
            p.removeBody(b)
        self.bodies = []

    def _visual(self, shape, size, rgba):
        if shape == "sphere":
            return p.createVisualShape(p.GEOM_SPHERE, radius=size[0], rgbaColor=rgba), size[0]
        if shape == "box":
            he = [s / 2 for s in size]
            return p.createVisualShape(p.GEOM_BOX, halfExtents=he, rgbaColor=rgba), he[2]
        if shape == "cylinder":
            return p.createVisualShape(
                p.GEOM_CYLINDER, radius=size[0], length=size[1], rgbaColor=rgba
            ), size[1] / 2
        if shape == "cone":
            v, i = objects.cone_mesh(size[0], size[1])
            return p.createVisualShape(p.GEOM_MESH, vertices=v, indices=i, rgbaColor=rgba), 0.0
        raise ValueError(shape)

    def add(self, shape, size, rgba, x, y, yaw):
        vs, z = self._visual(shape, size, rgba)
        b = p.createMultiBody(
            baseMass=0,
            baseVisualShapeIndex=vs,
            basePosition=[x, y, z],
            baseOrientation=p.getQuaternionFromEuler([0, 0, yaw]),
        )
        self.bodies.append(b)
        return b

    def sample(self):
        """Build a random scene; return (bgr image, [(class, x1, y1, x2, y2)])."""
        rng = self.rng
        self.clear()
        # floor
        if rng.uniform() < 0.85:
            p.changeVisualShape(
                self.plane,
                -1,
                textureUniqueId=int(rng.choice(self.textures)),
                rgbaColor=[1, 1, 1, 1],
            )
        else:
            p.changeVisualShape(
                self.plane, -1, textureUniqueId=-1, rgbaColor=list(rng.uniform(0.15, 0.9, 3)) + [1]
            )
        # camera (at the origin, looking along +x with yaw)
        cam_h = rng.uniform(0.10, 0.30)
        yaw = rng.uniform(-math.pi, math.pi)
        pitch = math.radians(rng.uniform(-12, 6))
        roll = math.radians(rng.normal(0, 2))
        fwd = np.array(
            [math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), math.sin(pitch)]
        )
        left = np.array([-math.sin(yaw), math.cos(yaw), 0.0])
        up = np.cross(fwd, left)
        up = up * math.cos(roll) + np.cross(fwd, up) * math.sin(roll)
        eye = np.array([0.0, 0.0, cam_h])

        def place(dist, az):
            a = yaw + az
            return dist * math.cos(a), dist * math.sin(a)

        # walls behind the scene, sometimes
        for _ in range(int(rng.integers(0, 3))):
            d = rng.uniform(3, 8)
            x, y = place(d, rng.uniform(-0.8, 0.8))
            rgba = list(rng.uniform(0.2, 0.95, 3)) + [1]
            b = self.add(
                "box",
                (0.2, rng.uniform(2, 6), rng.uniform(0.5, 2.5)),
                rgba,
                x,
                y,
                yaw + rng.uniform(-0.5, 0.5),
            )
            if rng.uniform() < 0.5:
                p.changeVisualShape(b, -1, textureUniqueId=int(rng.choice(self.textures)))
        # distractors
        for _ in range(int(rng.integers(0, 4))):
            x, y = place(rng.uniform(0.5, 5), rng.uniform(-0.6, 0.6))
            shape = str(rng.choice(["cylinder", "box", "sphere"]))
            c = DISTRACTOR_COLOURS[int(rng.integers(len(DISTRACTOR_COLOURS)))]
            rgba = jitter_rgba(rng, c + (1.0,), 0.3)
            if shape == "cylinder":
                size = (rng.uniform(0.03, 0.2), rng.uniform(0.1, 0.8))
            elif shape == "box":
                size = tuple(rng.uniform(0.05, 0.5, 3))
            else:
                size = (rng.uniform(0.04, 0.2),)
            self.add(shape, size, rgba, x, y, rng.uniform(0, math.pi))
        # the labelled objects
        labelled = {}
        n = int(rng.choice([0, 1, 1, 2, 2, 3, 3, 4, 5, 6])) if rng.uniform() > 0.04 else 0
        for _ in range(n):
            cls = int(rng.integers(len(objects.CLASSES)))
            oc = objects.CLASSES[cls]
            dist = math.exp(rng.uniform(math.log(0.35), math.log(5.0)))
            az = rng.uniform(-0.62, 0.62)
            x, y = place(dist, az)
            scale = rng.uniform(0.85, 1.15)
            size = tuple(s * scale for s in oc.size)
            rgba = jitter_rgba(rng, oc.rgba, 0.25)
            labelled[self.add(oc.shape, size, rgba, x, y, rng.uniform(0, math.pi))] = cls
        view = p.computeViewMatrix(eye.tolist(), (eye + fwd).tolist(), up.tolist())
        proj = p.computeProjectionMatrixFOV(VFOV_DEG, W / H, 0.02, 30.0)
        ld = [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0.3, 1.5)]
        _, _, rgba_img, _, seg = p.getCameraImage(
            W,
            H,
            view,
            proj,
            renderer=p.ER_TINY_RENDERER,
            shadow=int(rng.uniform() < 0.5),
            lightDirection=ld,
            lightColor=list(rng.uniform(0.75, 1.0, 3)),
            lightAmbientCoeff=rng.uniform(0.3, 0.8),
            lightDiffuseCoeff=rng.uniform(0.3, 0.8),
            lightSpecularCoeff=rng.uniform(0.0, 0.3),
        )
        img = np.asarray(rgba_img, np.uint8).reshape(H, W, 4)[..., 2::-1]  # RGBA -> BGR
        seg = np.asarray(seg).reshape(H, W)
        labels = []
        for body, cls in labelled.items():
            ys, xs = np.nonzero(seg == body)
            if xs.size < MIN_PIXELS:
                continue
            x1, x2, y1, y2 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
            if x2 - x1 < MIN_SIDE or y2 - y1 < MIN_SIDE:
                continue
            labels.append((cls, int(x1), int(y1), int(x2), int(y2)))
        return self.degrade(np.ascontiguousarray(img)), labels

    def degrade(self, img):
        """Camera-ish effects: exposure, blur, noise, JPEG (the sim streams MJPEG)."""
        rng = self.rng
        f = img.astype(np.float32) * rng.uniform(0.7, 1.25) + rng.uniform(-20, 20)
        f += rng.normal(0, rng.uniform(0, 6), f.shape)
        img = np.clip(f, 0, 255).astype(np.uint8)
        if rng.uniform() < 0.3:
            img = cv2.GaussianBlur(img, (3, 3), rng.uniform(0.3, 1.0))
        q = int(rng.integers(55, 96))
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
        return buf


def write_split(scene, root: pathlib.Path, split: str, n: int):
    (root / "images" / split).mkdir(parents=True, exist_ok=True)
    (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    counts = np.zeros(len(objects.CLASSES), int)
    for i in range(n):
        buf, labels = scene.sample()
        name = f"{split}_{i:05d}"
        (root / "images" / split / f"{name}.jpg").write_bytes(buf.tobytes())
        lines = []
        for cls, x1, y1, x2, y2 in labels:
            counts[cls] += 1
            lines.append(
                f"{cls} {(x1 + x2) / 2 / W:.6f} {(y1 + y2) / 2 / H:.6f} "
                f"{(x2 - x1) / W:.6f} {(y2 - y1) / H:.6f}"
            )
        (root / "labels" / split / f"{name}.txt").write_text(
            "\n".join(lines) + ("\n" if lines else "")
        )
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="/tmp/edgebot_dataset")
    ap.add_argument("--train", type=int, default=1200)
    ap.add_argument("--val", type=int, default=150)
    ap.add_argument("--test", type=int, default=300, help="held-out set (own seed)")
    ap.add_argument("--seed", type=int, default=6)
    a = ap.parse_args(argv)
    root = pathlib.Path(a.out)
    t0 = time.time()
    stats = {}
    # Each split gets its own generator (and textures), so the held-out set is independent.
    for k, (split, n) in enumerate((("train", a.train), ("val", a.val), ("test", a.test))):
        rng = np.random.default_rng([a.seed, k])
        scene = Scene(rng, root / "textures" / split)
        stats[split] = write_split(scene, root, split, n).tolist()
        p.disconnect(scene.cid)
        print(f"{split}: {n} images, objects per class {stats[split]}", flush=True)
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(objects.CLASS_NAMES))
    (root / "data.yaml").write_text(
        f"path: {root.resolve()}\ntrain: images/train\nval: images/val\ntest: images/test\n"
        f"names:\n{names}\n"
    )
    print(f"dataset in {root} ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
