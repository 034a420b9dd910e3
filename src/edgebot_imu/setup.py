from setuptools import find_packages, setup

package_name = "edgebot_imu"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml", "README.md"]),
    ],
    install_requires=["setuptools", "smbus2"],
    zip_safe=True,
    maintainer="edgebot developers",
    maintainer_email="dev@edgebot.invalid",
    description="I2C IMU node (MPU-6050, BNO055), drivers, calibration and a virtual IMU.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "imu_node = edgebot_imu.imu_node:main",
            "virtual_imu = edgebot_imu.virtual_imu:console_main",
        ],
    },
)
