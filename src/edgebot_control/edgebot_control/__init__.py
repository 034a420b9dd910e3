"""edgebot control: base controller, target follower, safety monitor."""
