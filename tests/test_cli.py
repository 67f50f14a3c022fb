"""The `logistics` command as a person at a terminal runs it: a real subprocess on a fresh
SQLite file in an empty working directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT / "fixtures"


def logistics(cwd: Path, *args: str, database: str | None = "sqlite:///logistics.db") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LOGISTICS_DATABASE_URL"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "logistics"] + (["--database", database] if database else []) + list(args)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result


def as_json(result: subprocess.CompletedProcess) -> Any:
    return json.loads(ok(result).stdout)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory whose SQLite file holds the demo; tests here only read it."""
    cwd = tmp_path_factory.mktemp("demo")
    ok(logistics(cwd, "demo"))
    return cwd


@pytest.fixture(scope="module")
def demo_status(demo_dir: Path) -> dict[str, Any]:
    return as_json(logistics(demo_dir, "status", "--json"))


def _dewar_in(status: dict[str, Any], where_kind: str, where_code: str) -> str:
    found = [d["barcode"] for d in status["dewars"] if (d["where_kind"], d["where_code"]) == (where_kind, where_code)]
    assert found, f"the demo has no dewar at {where_kind} {where_code}"
    return found[0]


# --- setting up ---------------------------------------------------------------------------------


def test_help_lists_the_commands(tmp_path):
    result = ok(logistics(tmp_path, "--help", database=None))

    for command in ("init", "demo", "where", "history", "rebuild-read-model", "status"):
        assert command in result.stdout


def test_init_reports_the_locations_and_instruments_it_registered(tmp_path):
    locations = json.loads((FIXTURES / "locations.json").read_text())
    instruments = json.loads((FIXTURES / "instruments.json").read_text())

    report = as_json(logistics(tmp_path, "init", "--json"))

    assert report["locations"] == len(locations) > 0
    assert report["instruments"] == len(instruments) > 0
    assert (tmp_path / "logistics.db").exists()


def test_init_twice_registers_nothing_new(tmp_path):
    first = as_json(logistics(tmp_path, "init", "--json"))
    second = as_json(logistics(tmp_path, "init", "--json"))

    assert second == first


def test_demo_shows_progress_and_loads_twelve_shipments_once(tmp_path):
    first = ok(logistics(tmp_path, "demo"))

    assert "12 demo shipments" in first.stdout
    assert "demo shipments" in first.stderr and "12/12" in first.stderr  # the progress bar
    status = as_json(logistics(tmp_path, "status", "--json"))

    second = ok(logistics(tmp_path, "demo", "--json"))

    assert json.loads(second.stdout) == {"shipments_loaded": 0}
    assert as_json(logistics(tmp_path, "status", "--json")) == status


def test_demo_with_json_reports_how_many_shipments_it_loaded(tmp_path):
    assert as_json(logistics(tmp_path, "demo", "--json")) == {"shipments_loaded": 12}


# --- where things are --------------------------------------------------------------------------


def test_status_lists_demo_dewars_in_different_places_and_states(demo_status):
    dewars = demo_status["dewars"]
    assert len({d["barcode"] for d in dewars}) == len(dewars) >= 12
    assert {"storage", "instrument", "offsite", "in-transit-back"} <= {d["where_kind"] for d in dewars}
    assert {"registered", "received", "in-use", "dispatched"} <= {d["workflow"] for d in dewars}
    loaded = {(p["barcode"], p["position"]) for p in demo_status["changers"]["i03"]}
    assert ("CPS-1001", "5") in loaded
    assert len(demo_status["unexpected"]) == 1


def test_asking_where_a_dewar_is_gives_where_workflow_and_contents(demo_dir, demo_status):
    barcode = _dewar_in(demo_status, "instrument", "i03")

    info = as_json(logistics(demo_dir, "where", barcode, "--json"))

    assert info["type"] == "dewar"
    assert info["barcode"] == barcode
    assert (info["where"]["kind"], info["where"]["code"]) == ("instrument", "i03")
    assert info["workflow"] == "in-use"
    boxes = {box["barcode"]: box for box in info["contents"]}
    assert "CPS-1001" in boxes
    assert (boxes["CPS-1001"]["loaded_instrument"], boxes["CPS-1001"]["loaded_position"]) == ("i03", "5")
    assert boxes["CPS-1001"]["samples"], "the puck's samples are listed"


def test_asking_where_a_dewar_is_in_plain_text_names_its_place_and_pucks(demo_dir, demo_status):
    barcode = _dewar_in(demo_status, "instrument", "i03")

    text = ok(logistics(demo_dir, "where", barcode)).stdout

    assert barcode in text and "i03" in text and "CPS-1001" in text


def test_asking_where_a_loaded_puck_is_names_the_sample_changer(demo_dir):
    info = as_json(logistics(demo_dir, "where", "cps-1001", "--json"))

    assert info["type"] == "container"
    assert info["barcode"] == "CPS-1001"
    assert info["where"]["kind"] == "sample-changer"
    assert "i03" in json.dumps(info["where"]) and "5" in json.dumps(info["where"])


def test_an_unknown_barcode_exits_with_code_2_naming_it(demo_dir):
    result = logistics(demo_dir, "where", "NOSUCH-42")

    assert result.returncode == 2
    assert "NOSUCH-42" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_barcode_with_json_prints_an_unknown_barcode_error(demo_dir):
    result = logistics(demo_dir, "where", "NOSUCH-42", "--json")

    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "unknown_barcode"
    assert "NOSUCH-42" in error["message"]


def test_a_mistyped_dewar_barcode_is_refused_not_matched(demo_dir, demo_status):
    barcode = _dewar_in(demo_status, "instrument", "i03")
    typo = barcode[:-1] + ("a" if barcode[-1] != "a" else "b")

    result = logistics(demo_dir, "where", typo, "--json")

    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["code"] == "invalid_barcode"


# --- the past ----------------------------------------------------------------------------------


def test_history_lists_every_event_in_order_with_actor_and_station(demo_dir, demo_status):
    barcode = _dewar_in(demo_status, "instrument", "i03")

    events = as_json(logistics(demo_dir, "history", barcode, "--json"))

    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    times = [_when(e["time"]) for e in events]
    assert times == sorted(times)
    assert events[0]["event"] == "Registered"
    names = [e["event"] for e in events]
    assert names.index("Sent") < names.index("Arrived") < names.index("TakenToInstrument")
    for e in events:
        assert e["actor"]
    arrived = events[names.index("Arrived")]
    assert (arrived["actor"], arrived["station"]) == ("demo-stores", "stores-desk-1")
    assert events[names.index("Sent")]["station"] == "web"


def test_history_in_plain_text_tells_each_step_as_a_sentence_with_who_did_it(demo_dir, demo_status):
    barcode = _dewar_in(demo_status, "instrument", "i03")

    lines = ok(logistics(demo_dir, "history", barcode)).stdout.splitlines()

    arrived = [line for line in lines if f"Received dewar {barcode} at Stores goods-in bay" in line]
    assert arrived and arrived[0].endswith("by demo-stores at stores-desk-1")
    assert not [line for line in lines if "{" in line], "no raw event data in the plain-text history"


def test_where_as_of_a_time_between_two_events_gives_the_state_then(demo_dir, demo_status):
    barcode = _dewar_in(demo_status, "instrument", "i03")
    events = as_json(logistics(demo_dir, "history", barcode, "--json"))
    names = [e["event"] for e in events]
    arrived, following = events[names.index("Arrived")], events[names.index("Arrived") + 1]
    start, end = _when(arrived["time"]), _when(following["time"])
    assert start < end
    between = start + (end - start) / 2

    then = as_json(logistics(demo_dir, "where", barcode, "--as-of", between.isoformat(), "--json"))

    assert then["where"] == {"kind": "storage", "code": arrived["data"]["location"]}
    assert then["workflow"] == "received"
    now = as_json(logistics(demo_dir, "where", barcode, "--json"))
    assert (now["where"]["kind"], now["workflow"]) == ("instrument", "in-use")


def test_where_as_of_a_time_before_the_dewar_existed_fails_clearly(demo_dir, demo_status):
    barcode = _dewar_in(demo_status, "instrument", "i03")

    result = logistics(demo_dir, "where", barcode, "--as-of", "2001-01-01T00:00:00Z")

    assert result.returncode == 2
    assert "did not exist" in result.stderr
    assert "2001-01-01" in result.stderr
    assert "Traceback" not in result.stderr


def test_where_as_of_before_the_dewar_existed_names_the_barcode_typed(demo_dir, demo_status):
    barcode = _dewar_in(demo_status, "instrument", "i03")

    result = logistics(demo_dir, "where", barcode, "--as-of", "2001-01-01T00:00:00Z")

    assert barcode in result.stderr


def test_where_as_of_a_time_that_is_not_a_time_is_refused(demo_dir, demo_status):
    barcode = _dewar_in(demo_status, "instrument", "i03")

    result = logistics(demo_dir, "where", barcode, "--as-of", "last tuesday")

    assert result.returncode == 2
    assert "last tuesday" in result.stderr
    assert "Traceback" not in result.stderr


# --- the read model ----------------------------------------------------------------------------


def test_rebuilding_the_read_model_shows_progress_and_changes_no_answer(tmp_path):
    ok(logistics(tmp_path, "demo"))
    before = as_json(logistics(tmp_path, "status", "--json"))
    puck_before = as_json(logistics(tmp_path, "where", "CPS-1001", "--json"))

    result = ok(logistics(tmp_path, "rebuild-read-model"))

    applied = int(result.stdout.split("rebuilt from ")[1].split()[0])
    assert applied > 100
    assert "rebuilding read model" in result.stderr and f"{applied}/{applied}" in result.stderr
    assert as_json(logistics(tmp_path, "status", "--json")) == before
    assert as_json(logistics(tmp_path, "where", "CPS-1001", "--json")) == puck_before


# --- configuration -----------------------------------------------------------------------------


def test_a_bad_database_url_gives_a_clear_error_not_a_traceback(tmp_path):
    result = logistics(tmp_path, "status", database="nosuch://x")

    assert result.returncode != 0
    assert "nosuch://x" in result.stderr
    assert "sqlite" in result.stderr and "postgresql" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_database_url_can_come_from_the_environment(tmp_path):
    env_db = tmp_path / "from-env.db"
    env = {k: v for k, v in os.environ.items()}
    env["LOGISTICS_DATABASE_URL"] = f"sqlite:///{env_db}"
    env["PYTHONPATH"] = str(PROJECT)

    result = subprocess.run([sys.executable, "-m", "logistics", "init", "--json"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr
    assert env_db.exists()
    assert not (tmp_path / "logistics.db").exists()
