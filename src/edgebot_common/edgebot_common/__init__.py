"""Shared, mostly ROS-free building blocks of the edgebot packages.

ROS-free modules (import without rclpy): ``params``, ``throttle``, ``backoff``, ``objects``,
``reference``.
rclpy modules: ``qos``, ``ros_params``, ``diagnostics``, ``node_main``, ``msg_dict``.
"""
