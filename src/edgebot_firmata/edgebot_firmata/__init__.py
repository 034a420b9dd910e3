"""edgebot_firmata: Firmata bridge (firmata_node) and a virtual Arduino on a pseudo-terminal."""
