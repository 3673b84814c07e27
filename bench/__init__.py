"""wcsync's benchmark: see bench/__main__.py (python -m bench, or make bench)."""
