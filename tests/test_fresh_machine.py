"""A new user's first minutes: `./dev serve` from the README, started a second time."""

from __future__ import annotations

import os
import re
import sys
import subprocess
import time
from pathlib import Path

import httpx

from tests.api.conftest import free_port
from tests.conftest import stop

ROOT = Path(__file__).resolve().parents[1]


def _banner(process: subprocess.Popen) -> str:
    """What a starting server printed, up to its banner's last line."""
    banner = ""
    for line in process.stderr:
        banner += line
        if "GraphQL:" in line:
            break
    return banner


def test_a_second_dev_serve_installs_nothing_and_its_banner_names_every_demo_account_of_the_readme(tmp_path):
    port = free_port()
    env = {**os.environ, "LOGISTICS_DATABASE_URL": f"sqlite:///{tmp_path / 'logistics.db'}"}
    # The suite itself runs in the .venv that `./dev test` installed from the lock: this is the second start.
    process = subprocess.Popen([str(ROOT / "dev"), "serve", "--port", str(port)], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        banner = _banner(process)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert "installing" not in banner, banner  # nothing to install: the lock did not change
        readme = (ROOT / "README.md").read_text()
        listed = re.search(r"The demo accounts are (.*?); the start-up banner", readme, re.S).group(1)
        accounts = re.findall(r"`([a-z-]+)`", listed)
        assert {"ada", "rosalind", "stores", "beamline", "admin"} <= set(accounts)
        for account in accounts:
            assert re.search(rf"\b{account}\b", banner), f"the banner does not name {account}:\n{banner}"
        example = re.search(r"e\.g\. (\S+)", banner).group(1)
        assert example == "ada-at-the-facility"
        signed_in = httpx.post(f"http://127.0.0.1:{port}/login", json={"username": "ada", "password": example})
        assert signed_in.json() == {"ok": True, "name": "ada", "roles": ["member"]}
    finally:
        stop(process)


def test_serving_the_demo_again_says_it_is_already_loaded_rather_than_showing_a_bar_stuck_at_nothing(tmp_path):
    database = f"sqlite:///{tmp_path / 'logistics.db'}"
    python = [sys.executable, "-m", "logistics", "--database", database]
    subprocess.run([*python, "demo"], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    port = free_port()
    process = subprocess.Popen([*python, "serve", "--demo", "--port", str(port)], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        banner = _banner(process)
        assert "the demo data is already loaded" in banner, banner
        assert "demo shipments" not in banner, banner  # no progress bar standing at 0 of 12
        assert "ada, rosalind (mx23694)" in banner, banner
    finally:
        stop(process)
