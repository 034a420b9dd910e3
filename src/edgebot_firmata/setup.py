from setuptools import find_packages, setup

package_name = "edgebot_firmata"

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
    description="Firmata bridge (firmata_node) and virtual Arduino.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "firmata_node = edgebot_firmata.firmata_node:main",
            "virtual_arduino = edgebot_firmata.virtual_arduino:cli",
        ],
    },
)
