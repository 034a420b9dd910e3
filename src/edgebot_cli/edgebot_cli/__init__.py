"""The ``edgebot`` command line."""
