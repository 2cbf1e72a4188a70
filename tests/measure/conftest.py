import sys
from pathlib import Path

import pytest
import torch

# Make the shared helpers importable as `measure_helpers` (tests/ is not a package).
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
