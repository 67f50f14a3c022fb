"""SQLite writers queue for one lock, across threads and processes (group commits: test_group_commit.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from logistics.adapters.sqlite_writes import write_lock


HOLDER = """
import sys, time
from logistics.adapters.sqlite_writes import write_lock
with write_lock(sys.argv[1]):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
print("released", flush=True)
"""


def _holder(path, seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True,
                            cwd=os.getcwd())


def test_another_process_waits_for_the_writers_lock_until_it_is_released(tmp_path):
    path = tmp_path / "logistics.db"
    with write_lock(path):
        other = _holder(path, 0)
        time.sleep(0.5)
        assert other.poll() is None, "the other process must not have taken the lock while it is held here"
    assert other.stdout.readline().strip() == "holding"
    assert other.wait(timeout=30) == 0


def test_a_killed_process_holding_the_writers_lock_does_not_stop_the_others(tmp_path):
    path = tmp_path / "logistics.db"
    holder = _holder(path, 3600)
    assert holder.stdout.readline().strip() == "holding"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    taken = threading.Event()

    def take() -> None:
        with write_lock(path):
            taken.set()

    threading.Thread(target=take, daemon=True).start()
    assert taken.wait(timeout=30)
