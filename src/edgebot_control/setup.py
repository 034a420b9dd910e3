from setuptools import find_packages, setup

package_name = "edgebot_control"

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
    description="Control nodes of edgebot: base controller (C++ loop), target follower, safety monitor.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "base_controller = edgebot_control.base_controller_node:main",
            "target_follower = edgebot_control.target_follower_node:main",
            "safety_monitor = edgebot_control.safety_monitor_node:main",
        ],
    },
)
