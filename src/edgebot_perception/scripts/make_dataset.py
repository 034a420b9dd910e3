#!/usr/bin/env python3
"""Render the shipped detector's labelled dataset (see edgebot_perception.dataset).

    python src/edgebot_perception/scripts/make_dataset.py --out /tmp/edgebot_dataset \
        --train 1200 --val 150 --test 300 --seed 6
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from edgebot_perception.dataset import main

if __name__ == "__main__":
    sys.exit(main())
