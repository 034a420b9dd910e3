from setuptools import find_packages, setup

package_name = "edgebot_modbus"

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
    description="Modbus TCP/RTU bridge (modbus_bridge) and a simulated Modbus device.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "modbus_bridge = edgebot_modbus.modbus_node:main",
            "modbus_sim = edgebot_modbus.sim:cli",
        ],
    },
)
