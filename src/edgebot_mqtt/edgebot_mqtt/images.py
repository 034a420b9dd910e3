"""Images for telemetry (ROS-free): a downsampled JPEG instead of raw pixels.

A route with ``image: {max_width: 320, quality: 70}`` on ``sensor_msgs/msg/Image`` or
``sensor_msgs/msg/CompressedImage`` sends, as the ``data`` of its JSON envelope::

    {"header": {...}, "width": 320, "height": 240, "source_width": 640, "source_height": 480,
     "format": "jpeg", "jpeg_base64": "/9j/4AAQ..."}

Never the raw pixels. A frame that cannot be decoded raises :class:`ImageError` (counted by
the node as dropped).
"""

from __future__ import annotations

import base64

import numpy as np

from edgebot_common.image import ImageError, compressed_to_numpy, image_to_numpy, to_bgr

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")

__all__ = ["IMAGE_TYPES", "ImageError", "jpeg_summary"]


def jpeg_summary(msg, header: dict, max_width: int, quality: int) -> dict:
    import cv2

    if hasattr(msg, "format"):  # CompressedImage
        bgr = compressed_to_numpy(msg)
    else:
        bgr = to_bgr(image_to_numpy(msg), msg.encoding)
    h, w = bgr.shape[:2]
    if w > max_width:
        nh = max(1, int(round(h * max_width / w)))
        bgr = cv2.resize(bgr, (max_width, nh), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(bgr), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ImageError("JPEG encoding failed")
    return {
        "header": header,
        "width": int(bgr.shape[1]),
        "height": int(bgr.shape[0]),
        "source_width": int(w),
        "source_height": int(h),
        "format": "jpeg",
        "jpeg_base64": base64.b64encode(buf.tobytes()).decode("ascii"),
    }
