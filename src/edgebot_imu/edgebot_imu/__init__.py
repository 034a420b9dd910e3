"""edgebot_imu: I²C IMU drivers (MPU-6050, BNO055), calibration, fusion glue, a virtual IMU
and the ``imu_node``. Everything but ``imu_node`` is ROS-free."""
