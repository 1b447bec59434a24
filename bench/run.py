"""`make bench`: run the benchmarks (today: the core collector one); see bench/core_collector.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from core_collector import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
