from setuptools import find_packages, setup

package_name = "edgebot_mission"

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
    description="Mission engine: a behaviour tree (py_trees) that searches, approaches, "
    "avoids, marks and reports objects, and returns home; mission_node.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "mission_node = edgebot_mission.mission_node:main",
        ],
    },
)
