"""`./dev upgrade [bench ...]`: is an upgrade to the newest releases worth taking? Answered with figures.

1. The lock is resolved again with every package at its newest release (`./dev lock --upgrade`),
   in the work tree's uv.lock and requirements/*.txt; the releases that change are listed.
2. The new lock is installed into `.venv-upgrade` and the whole suite runs there, in a shuffled
   order (its seed is printed): new releases must not make any test depend on another.
3. The benchmarks (default: core, labels, http; name others, or `all`) run in the old `.venv`
   and in `.venv-upgrade`, one after the other for each benchmark so that both meet the same
   machine, and every ratio and per-scan CPU figure is printed old beside new.
Nothing is committed: keep it with `git commit uv.lock requirements/`, drop it with
`git checkout uv.lock requirements/`.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLD, NEW = ROOT / ".venv", ROOT / ".venv-upgrade"
DEFAULT = ["core", "labels", "http"]
EVERY = ["core", "labels", "http", "scale"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)
# A figure worth comparing: a ratio ("0.74x") or a CPU time per scan ("server 2.36 ms").
FIGURE = re.compile(r"(\d+(?:\.\d+)?)x\b|server (\d+(?:\.\d+)?) ms")


def pins(path: Path) -> dict[str, str]:
    return {name.lower(): version for name, version in PIN.findall(path.read_text())}


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def run_bench(venv: Path, name: str) -> str:
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "bench", name], cwd=ROOT, capture_output=True,
                          text=True)
    return done.stdout + (f"\n(exit {done.returncode}: {done.stderr[-500:]})" if done.returncode else "")


def figures(output: str) -> dict[str, str]:
    """Each line with a figure, keyed by its words up to the first colon (where a figure stands
    in those words, it is blanked: "worst ratio #x"), valued by its figures."""
    found = {}
    for line in output.splitlines():
        values = [f"{ratio}x" if ratio else f"{cpu} ms" for ratio, cpu in FIGURE.findall(line)]
        if values:
            key = re.sub(r"\s+", " ", FIGURE.sub("#", line.split(":")[0])).strip()
            found[key] = "  ".join(values)
    return found


def main(argv: list[str]) -> int:
    benches = EVERY if argv == ["all"] else (argv or DEFAULT)
    before = pins(ROOT / "requirements" / "test.txt")
    step("resolving the newest releases (./dev lock --upgrade)")
    subprocess.run([str(ROOT / "dev"), "lock", "--upgrade"], cwd=ROOT, check=True)
    after = pins(ROOT / "requirements" / "test.txt")
    changed = {n: (before.get(n, "-"), after.get(n, "-")) for n in sorted(set(before) | set(after))
               if before.get(n) != after.get(n)}
    if not changed:
        print("every locked release is already the newest: nothing to upgrade")
        return 0
    for name, (old, new) in changed.items():
        print(f"  {name:<28} {old:>14} -> {new}")

    seed = random.randrange(1, 1_000_000)  # chosen here and printed: -q hides pytest-randomly's own line
    step(f"the whole suite on the new releases, in {NEW.name}, in a shuffled order (./dev test --shuffle {seed})")
    started = time.monotonic()
    env = {**os.environ, "LOGISTICS_VENV": str(NEW)}
    suite = subprocess.run([str(ROOT / "dev"), "test", "--shuffle", str(seed), "-q", "-p", "no:cacheprovider"],
                           cwd=ROOT, env=env)
    print(f"suite (shuffled, seed {seed}): {'passed' if suite.returncode == 0 else 'FAILED (exit %d)' % suite.returncode} "
          f"in {time.monotonic() - started:.0f} s")

    step(f"benchmarks, old ({OLD.name}) beside new ({NEW.name}): " + ", ".join(benches))
    rows = []
    for name in benches:
        print(f"  {name}: old ...", end="", flush=True)
        old_out = run_bench(OLD, name)
        print(" new ...", end="", flush=True)
        new_out = run_bench(NEW, name)
        print(" done", flush=True)
        old_fig, new_fig = figures(old_out), figures(new_out)
        for key in dict.fromkeys([*old_fig, *new_fig]):
            rows.append((name, key, old_fig.get(key, "-"), new_fig.get(key, "-")))
    width = max((len(k) for _, k, _, _ in rows), default=20)
    print(f"\n{'':<8}{'figure':<{width}}  {'old':>18}  {'new':>18}")
    for name, key, old, new in rows:
        print(f"{name:<8}{key:<{width}}  {old:>18}  {new:>18}")
    print("\nThe lock files in the work tree now hold the new releases. Keep them:\n"
          "  git commit -m 'Upgrade: ...figures...' uv.lock requirements/\n"
          "or go back:\n  git checkout uv.lock requirements/ && ./dev test")
    return suite.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
