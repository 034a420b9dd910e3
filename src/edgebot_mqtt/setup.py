from setuptools import find_packages, setup

package_name = "edgebot_mqtt"

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
    description="MQTT telemetry bridge with TLS, disk spool and validated commands.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "mqtt_bridge = edgebot_mqtt.bridge_node:main",
            "embedded_broker = edgebot_mqtt.embedded_broker:main",
        ],
    },
)
