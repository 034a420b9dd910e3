import os
from glob import glob

from setuptools import find_packages, setup

package_name = "edgebot_perception"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml", "README.md"]),
        (
            "share/" + package_name + "/models",
            sorted(
                glob("models/*.onnx")
                + glob("models/*.tflite")
                + glob("models/*.pt")
                + glob("models/*.json")
            ),
        ),
        # files only: a __pycache__ left by running a script is no data file
        (
            "share/" + package_name + "/scripts",
            sorted(f for f in glob("scripts/*") if os.path.isfile(f)),
        ),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="edgebot developers",
    maintainer_email="dev@edgebot.invalid",
    description="yolo_node (onnxruntime / ultralytics backends) and the shipped detector.",
    license="Apache-2.0 (code); the shipped model follows the ultralytics licence (AGPL-3.0)",
    entry_points={"console_scripts": ["yolo_node = edgebot_perception.yolo_node:main"]},
)
