import sys
from pathlib import Path

# Spawned workers import the fault-injecting group functions by module name.
sys.path.insert(0, str(Path(__file__).parent))
