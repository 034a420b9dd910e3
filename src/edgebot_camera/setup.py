from setuptools import find_packages, setup

package_name = "edgebot_camera"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml", "README.md"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="edgebot developers",
    maintainer_email="dev@edgebot.invalid",
    description="camera_node: OpenCV capture (device, file, HTTP/RTSP, GStreamer) with recovery.",
    license="Apache-2.0",
    entry_points={"console_scripts": ["camera_node = edgebot_camera.camera_node:main"]},
)
