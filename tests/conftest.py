import sys
from pathlib import Path

# Test helper modules (helpers.py, k8s_validation.py, ...) are imported by name.
sys.path.insert(0, str(Path(__file__).parent))
