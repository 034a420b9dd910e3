"""edgebot_mission: a mission engine (behaviour tree on py_trees) and its node."""
