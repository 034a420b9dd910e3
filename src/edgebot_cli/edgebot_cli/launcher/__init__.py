"""A launcher for ROS 2 YAML launch files (the format ``ros2 launch`` reads).

``launch``/``launch_ros`` are not available as wheels, so the pip-only path needs its own
launcher. It reads only the documented keys of the YAML frontend and fails at load time on
anything it does not support, so a file that runs here also runs under ``ros2 launch``.

- :mod:`.substitutions` — ``$(var)``, ``$(env)``, ``$(find-pkg-share)``, ``$(anon)``, ... (ROS-free)
- :mod:`.loader` — YAML → a flat, fully resolved list of processes (ROS-free); attribute types
  as launch_yaml checks them (a bare ``true`` where ros2 launch reads a string is an error)
- :mod:`.param_rules` — parameter values typed by launch_ros' rules (quoted literals stay
  strings, ``type:``, substituted values read as YAML, ``set_parameter``)
- :mod:`.runner` — starts, supervises and stops the processes
- :mod:`.cli` — ``edgebot launch <package> <file> [name:=value ...]``
"""
