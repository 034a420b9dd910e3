from setuptools import find_packages, setup

package_name = "edgebot_viz"

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
    description="Foxglove WebSocket bridge and rosbag2-compatible MCAP recorder for edgebot.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "foxglove_bridge = edgebot_viz.foxglove_bridge_node:main",
            "mcap_recorder = edgebot_viz.mcap_recorder_node:main",
            "state_publisher = edgebot_viz.state_publisher_node:main",
        ],
    },
)
