import pathlib
import sys

# kinematic.py (the scripted world of the logic tests) imports by name
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
