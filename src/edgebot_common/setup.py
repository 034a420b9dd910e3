from setuptools import find_packages, setup

package_name = "edgebot_common"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="edgebot developers",
    maintainer_email="dev@edgebot.invalid",
    description="Shared pieces of edgebot (QoS, parameters, diagnostics, conversions).",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "talker = edgebot_common.demo_nodes:talker",
            "listener = edgebot_common.demo_nodes:listener",
            "container = edgebot_common.container:main",
        ]
    },
)
