from setuptools import find_packages, setup

package_name = "edgebot_sim"

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
    description="PyBullet simulator of the edgebot rover with virtual devices.",
    license="Apache-2.0",
    entry_points={"console_scripts": ["sim_node = edgebot_sim.sim_node:main"]},
)
