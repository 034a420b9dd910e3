"""numpy <-> sensor_msgs/Image and sensor_msgs/CompressedImage (cv_bridge is not a wheel).

No per-pixel Python and no needless copies:

- :func:`image_to_numpy` returns a *view* on the message's buffer (``np.frombuffer``), shaped
  ``(h, w)`` or ``(h, w, c)``; row padding (``step`` > ``width * channels * bytes``) is handled
  with strides, not a copy. Big-endian 16/32-bit data is byte-swapped (that copies).
- :func:`numpy_to_image` fills ``data`` from the array's buffer in one ``memcpy``
  (``array.array('B').frombytes``): the generated setter of ``uint8[]`` fields checks every
  element in Python unless it is given an ``array.array('B')``.
- :func:`compressed_to_numpy` / :func:`numpy_to_compressed` decode/encode JPEG or PNG with
  OpenCV (BGR order, as OpenCV and ``bgr8`` use).

Errors are :class:`ImageError` (a ``ValueError``) with a message saying what is wrong, so a
node can count and skip a bad frame.
"""

from __future__ import annotations

import array
import sys

import numpy as np

#: encoding -> (numpy dtype, channels)
ENCODINGS = {
    "rgb8": (np.uint8, 3),
    "bgr8": (np.uint8, 3),
    "rgba8": (np.uint8, 4),
    "bgra8": (np.uint8, 4),
    "mono8": (np.uint8, 1),
    "8UC1": (np.uint8, 1),
    "8UC3": (np.uint8, 3),
    "8UC4": (np.uint8, 4),
    "rgb16": (np.uint16, 3),
    "bgr16": (np.uint16, 3),
    "rgba16": (np.uint16, 4),
    "bgra16": (np.uint16, 4),
    "mono16": (np.uint16, 1),
    "16UC1": (np.uint16, 1),
    "16SC1": (np.int16, 1),
    "32SC1": (np.int32, 1),
    "32FC1": (np.float32, 1),
    "64FC1": (np.float64, 1),
    "bayer_rggb8": (np.uint8, 1),
    "bayer_bggr8": (np.uint8, 1),
    "bayer_gbrg8": (np.uint8, 1),
    "bayer_grbg8": (np.uint8, 1),
}


class ImageError(ValueError):
    """An image message that cannot be converted (encoding, size, corrupt data)."""


def encoding_info(encoding: str) -> tuple[np.dtype, int]:
    try:
        dt, ch = ENCODINGS[encoding]
    except KeyError:
        raise ImageError(
            f"unsupported image encoding {encoding!r}; supported: {sorted(ENCODINGS)}"
        ) from None
    return np.dtype(dt), ch


def image_to_numpy(msg, expect_encoding: str | None = None) -> np.ndarray:
    """View of an Image's pixels, shape (h, w) for one channel else (h, w, c).

    The view shares memory with ``msg.data`` (read-only when the buffer is bytes). Raises
    :class:`ImageError` for an unknown encoding, a size that does not match the data or,
    when ``expect_encoding`` is given, any other encoding.
    """
    if expect_encoding is not None and msg.encoding != expect_encoding:
        raise ImageError(f"encoding {msg.encoding!r}, expected {expect_encoding!r}")
    dt, ch = encoding_info(msg.encoding)
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    row = w * ch * dt.itemsize
    if h <= 0 or w <= 0:
        raise ImageError(f"empty image {w}x{h}")
    if step < row:
        raise ImageError(f"step {step} < width*channels*bytes {row}")
    buf = np.frombuffer(msg.data, dtype=np.uint8)
    if buf.size < step * (h - 1) + row:
        raise ImageError(
            f"data has {buf.size} bytes, {w}x{h} {msg.encoding} step {step} needs {step * h}"
        )
    if step % dt.itemsize:
        raise ImageError(f"step {step} is not a multiple of the pixel size {dt.itemsize}")
    shape = (h, w, ch) if ch > 1 else (h, w)
    if step == row:
        arr = buf[: h * row].view(dt).reshape(shape)
    else:  # padded rows: a strided view, no copy
        strides = (step, ch * dt.itemsize, dt.itemsize) if ch > 1 else (step, dt.itemsize)
        arr = np.ndarray(shape=shape, dtype=dt, buffer=buf, strides=strides)
    if dt.itemsize > 1 and bool(msg.is_bigendian) != (sys.byteorder == "big"):
        arr = arr.byteswap()
    return arr


def numpy_to_image(
    arr: np.ndarray, encoding: str = "bgr8", stamp=None, frame_id: str = "", msg=None
):
    """An Image (or fills ``msg``) from an (h, w[, c]) array; one copy of the pixel buffer."""
    from sensor_msgs.msg import Image

    dt, ch = encoding_info(encoding)
    a = np.asarray(arr)
    if a.dtype != dt:
        raise ImageError(f"array dtype {a.dtype} does not match encoding {encoding} ({dt})")
    if a.ndim == 2:
        c = 1
    elif a.ndim == 3:
        c = a.shape[2]
    else:
        raise ImageError(f"array of shape {a.shape} is not an image")
    if c != ch:
        raise ImageError(f"array has {c} channels, encoding {encoding} has {ch}")
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    m = msg if msg is not None else Image()
    if stamp is not None:
        m.header.stamp = stamp
    m.header.frame_id = frame_id
    m.height, m.width = int(a.shape[0]), int(a.shape[1])
    m.encoding = encoding
    m.is_bigendian = 0 if dt.itemsize == 1 else int(sys.byteorder == "big")
    m.step = int(a.shape[1] * ch * dt.itemsize)
    data = array.array("B")
    data.frombytes(memoryview(a).cast("B"))
    m.data = data
    return m


def compressed_to_numpy(msg, flags: int | None = None) -> np.ndarray:
    """Decode a CompressedImage (jpeg/png) to a BGR (or grey) array with OpenCV."""
    import cv2

    buf = np.frombuffer(msg.data, dtype=np.uint8)
    if buf.size == 0:
        raise ImageError("empty compressed image")
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR if flags is None else flags)
    if img is None:
        raise ImageError(
            f"cannot decode compressed image ({buf.size} bytes, format {msg.format!r})"
        )
    return img


def numpy_to_compressed(
    arr: np.ndarray, fmt: str = "jpeg", quality: int = 90, stamp=None, frame_id: str = "", msg=None
):
    """A CompressedImage from a BGR (or grey) array; ``fmt`` jpeg or png."""
    import cv2

    if fmt in ("jpeg", "jpg"):
        ok, enc = cv2.imencode(".jpg", arr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        fmt = "jpeg"
    elif fmt == "png":
        ok, enc = cv2.imencode(".png", arr)
    else:
        raise ImageError(f"unsupported compressed format {fmt!r}; allowed: jpeg, png")
    if not ok:
        raise ImageError(f"cannot encode {arr.shape} array as {fmt}")
    return bytes_to_compressed(enc, fmt, stamp, frame_id, msg)


def bytes_to_compressed(data, fmt: str = "jpeg", stamp=None, frame_id: str = "", msg=None):
    """A CompressedImage from already-encoded bytes (e.g. a JPEG straight off an MJPEG stream)."""
    from sensor_msgs.msg import CompressedImage

    m = msg if msg is not None else CompressedImage()
    if stamp is not None:
        m.header.stamp = stamp
    m.header.frame_id = frame_id
    m.format = fmt
    buf = array.array("B")
    buf.frombytes(memoryview(data).cast("B") if not isinstance(data, (bytes, bytearray)) else data)
    m.data = buf
    return m


def to_bgr(arr: np.ndarray, encoding: str) -> np.ndarray:
    """A BGR uint8 view/array of an 8-bit colour or mono image (copies only when converting)."""
    import cv2

    if encoding in ("bgr8", "8UC3"):
        return arr
    if encoding == "rgb8":
        return cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    if encoding == "bgra8" or encoding == "8UC4":
        return cv2.cvtColor(arr, cv2.COLOR_BGRA2BGR)
    if encoding == "rgba8":
        return cv2.cvtColor(arr, cv2.COLOR_RGBA2BGR)
    if encoding in ("mono8", "8UC1"):
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    bayer = {
        "bayer_rggb8": cv2.COLOR_BayerRG2BGR,
        "bayer_bggr8": cv2.COLOR_BayerBG2BGR,
        "bayer_gbrg8": cv2.COLOR_BayerGB2BGR,
        "bayer_grbg8": cv2.COLOR_BayerGR2BGR,
    }
    if encoding in bayer:
        return cv2.cvtColor(arr, bayer[encoding])
    raise ImageError(f"cannot convert encoding {encoding!r} to bgr8")
