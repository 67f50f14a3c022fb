"""Run every benchmark in bench/ (python -m bench [name ...])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
wanted = set(sys.argv[1:])
failed = 0
for script in sorted(here.glob("bench_*.py")):
    if wanted and script.stem not in wanted and script.stem.removeprefix("bench_") not in wanted:
        continue
    print(f"== {script.stem}", flush=True)
    failed |= subprocess.call([sys.executable, str(script)], cwd=here.parent)
sys.exit(failed)
