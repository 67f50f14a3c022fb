"""Checks on the reference data in fixtures/: container types, sample kinds, instruments, locations.

These files are data a facility edits without touching code, so the consistency rules between
them (every code a file refers to exists, every schema is valid and its examples behave) are
checked here rather than trusted.
"""

import json
import pathlib
import re

import jsonschema
import pytest

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"

# What a container type may go into besides another container type.
OUTER_PARENTS = {"dewar", "parcel", "sample-changer"}
# Kinds of location; a location is where a dewar or parcel can be scanned to.
LOCATION_KINDS = {"storage"}


def _load(path):
    with path.open(encoding="utf-8") as f:
        return json.load(f)


CONTAINER_TYPES = _load(FIXTURES / "container-types.json")
INSTRUMENTS = _load(FIXTURES / "instruments.json")
LOCATIONS = _load(FIXTURES / "locations.json")
KIND_FILES = sorted((FIXTURES / "sample-kinds").glob("*.json"))
SAMPLE_KINDS = [_load(p) for p in KIND_FILES]

TYPES_BY_CODE = {t["code"]: t for t in CONTAINER_TYPES}


def _ids(items, key):
    return [item[key] for item in items]


def _validator(kind):
    return jsonschema.Draft202012Validator(kind["schema"], format_checker=jsonschema.FormatChecker())


def _assert_unique(values):
    duplicates = sorted({v for v in values if values.count(v) > 1})
    assert not duplicates, f"duplicate codes: {duplicates}"


# --- container types ---------------------------------------------------------------------


def test_container_type_codes_are_unique():
    _assert_unique(_ids(CONTAINER_TYPES, "code"))


@pytest.mark.parametrize("ctype", CONTAINER_TYPES, ids=_ids(CONTAINER_TYPES, "code"))
def test_container_type_shape(ctype):
    assert set(ctype) == {"code", "name", "capacity", "holds_samples", "holds_containers", "goes_into", "description"}
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", ctype["code"])
    assert ctype["code"] not in OUTER_PARENTS
    assert isinstance(ctype["capacity"], int) and not isinstance(ctype["capacity"], bool)
    assert ctype["capacity"] > 0
    assert isinstance(ctype["holds_samples"], bool)
    assert isinstance(ctype["holds_containers"], bool)
    assert ctype["holds_samples"] or ctype["holds_containers"], "a container must hold something"
    assert ctype["name"].strip() and ctype["description"].strip()
    assert ctype["goes_into"], "a container type must go somewhere"
    _assert_unique(ctype["goes_into"])


@pytest.mark.parametrize("ctype", CONTAINER_TYPES, ids=_ids(CONTAINER_TYPES, "code"))
def test_container_type_goes_into_known_parents(ctype):
    for parent in ctype["goes_into"]:
        assert parent != ctype["code"], "a container type cannot go into itself"
        if parent in OUTER_PARENTS:
            continue
        assert parent in TYPES_BY_CODE, f"{ctype['code']} goes into unknown {parent!r}"
        assert TYPES_BY_CODE[parent]["holds_containers"], f"{parent} does not hold containers"


def test_cryogenic_and_parcel_containers_do_not_mix():
    # A container either travels in a dry-shipper dewar or in a parcel, never down both paths:
    # a parcel has no liquid nitrogen, and a dewar's contents are cryogenic.
    def outer(code, seen=()):
        found = set()
        for parent in TYPES_BY_CODE[code]["goes_into"]:
            if parent in {"dewar", "parcel"}:
                found.add(parent)
            elif parent in TYPES_BY_CODE and parent not in seen:
                found |= outer(parent, seen + (code,))
        return found

    for code in TYPES_BY_CODE:
        assert len(outer(code)) == 1, f"{code} must reach exactly one of dewar or parcel, got {outer(code)}"


# --- sample kinds -------------------------------------------------------------------------


def test_there_are_sample_kinds():
    assert {"mx-crystal", "cryoem-grid", "saxs-solution", "saxs-buffer", "powder-capillary", "chemical-crystal",
            "xpdf-sample", "xpdf-background", "xpdf-container", "xpdf-calibrant"} <= set(_ids(SAMPLE_KINDS, "code"))


def test_sample_kind_codes_are_unique():
    _assert_unique(_ids(SAMPLE_KINDS, "code"))


@pytest.mark.parametrize("path", KIND_FILES, ids=[p.stem for p in KIND_FILES])
def test_sample_kind_file_is_named_after_its_code(path):
    kind = _load(path)
    assert kind["code"] == path.stem
    assert set(kind) == {"code", "name", "technique", "goes_into", "schema", "examples", "invalid_examples"}
    assert kind["name"].strip() and kind["technique"].strip()


@pytest.mark.parametrize("kind", SAMPLE_KINDS, ids=_ids(SAMPLE_KINDS, "code"))
def test_sample_kind_schema_is_valid_draft_2020_12(kind):
    schema = kind["schema"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) <= set(schema["properties"])


def _walk_properties(schema, path=()):
    for name, prop in schema.get("properties", {}).items():
        yield path + (name,), prop
        yield from _walk_properties(prop, path + (name,))


@pytest.mark.parametrize("kind", SAMPLE_KINDS, ids=_ids(SAMPLE_KINDS, "code"))
def test_sample_kind_schema_can_drive_a_form(kind):
    schema = kind["schema"]
    assert schema.get("title", "").strip(), "the schema needs a title"
    for path, prop in _walk_properties(schema):
        where = ".".join(path)
        assert prop.get("title", "").strip(), f"{where} needs a title"
        assert prop.get("description", "").strip(), f"{where} needs a description"
        assert "type" in prop, f"{where} needs a type"
        if prop["type"] == "object":
            assert prop.get("additionalProperties") is False, f"{where} must refuse unknown keys"


@pytest.mark.parametrize("kind", SAMPLE_KINDS, ids=_ids(SAMPLE_KINDS, "code"))
def test_sample_kind_examples_validate(kind):
    assert len(kind["examples"]) >= 2
    validator = _validator(kind)
    for example in kind["examples"]:
        errors = [e.message for e in validator.iter_errors(example)]
        assert not errors, f"{kind['code']} example {example} refused: {errors}"


@pytest.mark.parametrize("kind", SAMPLE_KINDS, ids=_ids(SAMPLE_KINDS, "code"))
def test_sample_kind_invalid_examples_are_refused(kind):
    assert kind["invalid_examples"]
    validator = _validator(kind)
    for bad in kind["invalid_examples"]:
        assert set(bad) == {"attributes", "because"}
        assert bad["because"].strip()
        assert not validator.is_valid(bad["attributes"]), (
            f"{kind['code']} accepted {bad['attributes']} although {bad['because']}"
        )


@pytest.mark.parametrize("kind", SAMPLE_KINDS, ids=_ids(SAMPLE_KINDS, "code"))
def test_sample_kind_goes_into_containers_that_hold_samples(kind):
    assert kind["goes_into"]
    _assert_unique(kind["goes_into"])
    for parent in kind["goes_into"]:
        assert parent in TYPES_BY_CODE, f"{kind['code']} goes into unknown container type {parent!r}"
        assert TYPES_BY_CODE[parent]["holds_samples"], f"{parent} does not hold samples"


@pytest.mark.parametrize("kind", SAMPLE_KINDS, ids=_ids(SAMPLE_KINDS, "code"))
def test_sample_kind_technique_has_an_instrument(kind):
    assert kind["technique"] in {i["technique"] for i in INSTRUMENTS}


def test_every_sample_holding_container_type_has_a_sample_kind():
    used = {parent for kind in SAMPLE_KINDS for parent in kind["goes_into"]}
    unused = {code for code, t in TYPES_BY_CODE.items() if t["holds_samples"]} - used
    assert not unused, f"container types that hold samples but no kind goes into: {unused}"


# --- instruments --------------------------------------------------------------------------


def test_instrument_names_are_unique():
    _assert_unique(_ids(INSTRUMENTS, "name"))


@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=_ids(INSTRUMENTS, "name"))
def test_instrument_shape(instrument):
    assert set(instrument) == {"name", "title", "technique", "changer"}
    assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", instrument["name"])
    assert instrument["title"].strip() and instrument["technique"].strip()


@pytest.mark.parametrize(
    "instrument", [i for i in INSTRUMENTS if i["changer"] is not None],
    ids=[i["name"] for i in INSTRUMENTS if i["changer"] is not None],
)
def test_instrument_changer_accepts_changer_containers(instrument):
    changer = instrument["changer"]
    assert set(changer) == {"model", "positions", "accepts"}
    assert changer["model"].strip()
    assert isinstance(changer["positions"], int) and not isinstance(changer["positions"], bool)
    assert changer["positions"] > 0
    assert changer["accepts"]
    for code in changer["accepts"]:
        assert code in TYPES_BY_CODE, f"{instrument['name']} accepts unknown container type {code!r}"
        assert "sample-changer" in TYPES_BY_CODE[code]["goes_into"], f"{code} cannot go into a sample changer"


def test_every_changer_container_type_has_an_instrument():
    accepted = {code for i in INSTRUMENTS if i["changer"] for code in i["changer"]["accepts"]}
    loadable = {code for code, t in TYPES_BY_CODE.items() if "sample-changer" in t["goes_into"]}
    assert loadable <= accepted, f"no instrument accepts {loadable - accepted}"


# --- locations ----------------------------------------------------------------------------


def test_location_codes_are_unique():
    _assert_unique(_ids(LOCATIONS, "code"))


@pytest.mark.parametrize("location", LOCATIONS, ids=_ids(LOCATIONS, "code"))
def test_location_shape(location):
    assert set(location) == {"code", "name", "kind"}
    assert re.fullmatch(r"^loc-[a-z0-9-]+$", location["code"])
    assert location["name"].strip()
    assert location["kind"] in LOCATION_KINDS


def test_stores_locations_are_present():
    assert {"loc-goods-in", "loc-dispatch", "loc-ln2-fill"} <= set(_ids(LOCATIONS, "code"))
