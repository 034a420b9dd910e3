"""edgebot_sim: PyBullet world, virtual devices, sim_node."""
