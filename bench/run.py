"""`make bench`: run the benchmarks, each printing its figures.

python bench/run.py                 # all of them, one after the other
python bench/run.py html [...]      # the audit's HTML report at fleet size (bench/html_report.py)
python bench/run.py core-collector [...]  # makedumpfile compression on a lab VM (bench/core_collector.py)
python bench/run.py fleet [...]     # the audit against ping and a plain playbook, simulated hosts (fleet_audit.py)
python bench/run.py crash-batches [...]  # crash-test batches against ceil(N/B) x single x 1.2 (crash_batches.py)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import core_collector  # noqa: E402
import crash_batches  # noqa: E402
import fleet_audit  # noqa: E402
import html_report  # noqa: E402

BENCHES = {
    "fleet": fleet_audit.main,
    "html": html_report.main,
    "crash-batches": crash_batches.main,
    "core-collector": core_collector.main,
}


def main(argv):
    if argv and argv[0] in BENCHES:
        return BENCHES[argv[0]](argv[1:])
    if argv and not argv[0].startswith("-"):
        print(f"unknown benchmark {argv[0]!r}: one of {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    # No name: every benchmark; options (the old interface) go to the core collector one.
    status = fleet_audit.main([]) or 0
    status = html_report.main([]) or status
    status = crash_batches.main([]) or status
    return core_collector.main(argv) or status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
