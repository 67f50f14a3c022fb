"""Every edge (spreadsheet import, labels, live feed, notifications) gives a member of another
proposal nothing and lets them change nothing, exactly as the GraphQL access matrix does."""

from __future__ import annotations

import pytest

from logistics.adapters.label_printer import LabelPrinter
from logistics.domain.errors import AccessDenied, NotFound
from logistics.service_layer.access import Principal
from logistics.service_layer.importing import ImportRefused
from logistics.service_layer.labelling import gather
from logistics.service_layer.session import Session
from tests.helpers import ADMIN, STORES, USER, at_facility, packed_dewar, proposal_with_contact

TAKEN = ("barcode 'CPS-0001' is already registered to another proposal: use another barcode, "
         "or ask the facility if this container is yours")


def _member(system, proposal: str, account: str = "acct-dorothy") -> Session:
    return Session(system.app, system.views, Principal(account, account, frozenset({"member"}), frozenset({proposal})))


def _theirs_and_mine(system) -> tuple[str, str, str]:
    """mx31020 packed puck CPS-0001 with two samples; mx23694 has an empty dewar of its own."""
    their_shipment, their_dewar = packed_dewar(system, code="mx31020", puck="CPS-0001", samples=2, name="Theirs")
    proposal_with_contact(system, "mx23694")
    mine = system.app.create_shipment("mx23694", "Mine", USER)
    my_dewar = system.app.add_mail_in_dewar(mine, 1, "i03", USER)
    return str(their_shipment), their_dewar, my_dewar


def _puck_row(**extra: str) -> dict[str, str]:
    return {"container_barcode": "CPS-0001", "container_type": "unipuck", **extra}


@pytest.mark.parametrize("removed_first", [False, True], ids=["still-packed", "removed-from-its-dewar"])
def test_importing_a_spreadsheet_that_names_another_proposals_puck_is_refused_on_that_row(system, removed_first):
    _, their_dewar, my_dewar = _theirs_and_mine(system)
    if removed_first:  # the puck is between trips: still mx31020's
        system.app.remove_container("CPS-0001", USER)
    before = system.app.history(system.app.resolve("CPS-0001")[1])
    ada = _member(system, "mx23694", "acct-ada")
    with pytest.raises(ImportRefused) as refused:
        ada.import_contents(my_dewar, [_puck_row(sample_position="5", sample_name="mine_1", sample_kind="mx-crystal",
                                                 protein_acronym="lyso")])
    cells = [(c.row, c.column, c.message) for c in refused.value.errors]
    assert cells == [(2, "container_barcode", TAKEN)]
    assert "mx31020" not in refused.value.message and "packed" not in refused.value.message
    assert system.app.history(system.app.resolve("CPS-0001")[1]) == before
    assert system.views.where("CPS-0001")["proposal"] == "mx31020"
    assert system.views.where(my_dewar)["contents"] == []


def test_a_refused_foreign_puck_is_reported_like_any_bad_cell_with_the_rest_of_the_file(system):
    _, _, my_dewar = _theirs_and_mine(system)
    ada = _member(system, "mx23694", "acct-ada")
    with pytest.raises(ImportRefused) as refused:
        ada.import_contents(my_dewar, [{"container_barcode": "CPS-0777", "container_type": "unipuck"},
                                       _puck_row(), {"container_barcode": "CPS-0778", "container_type": "hatbox"}])
    assert [(c.row, c.column) for c in refused.value.errors] == [(3, "container_barcode"), (4, "container_type")]
    assert system.views.where(my_dewar)["contents"] == []


def test_a_member_reimports_their_own_puck_from_a_past_trip(system):
    _, their_dewar, _ = _theirs_and_mine(system)
    system.app.remove_container("CPS-0001", USER)
    dorothy = _member(system, "mx31020")
    assert dorothy.import_contents(their_dewar, [_puck_row(sample_position="9", sample_name="again",
                                                           sample_kind="mx-crystal", protein_acronym="lyso")]) == 1
    assert [b["barcode"] for b in system.views.where(their_dewar)["contents"]] == ["CPS-0001"]


def test_the_manifest_lists_only_the_shipments_own_samples(system):
    """A puck that the facility repacked into another proposal's dewar still holds its owners'
    samples: the label manifest of the dewar's shipment must not name them."""
    _, _, my_dewar = _theirs_and_mine(system)
    system.app.remove_container("CPS-0001", USER)
    system.app.add_container("CPS-0001", "unipuck", my_dewar, ADMIN)  # an admin may repack it
    system.app.add_sample("CPS-0001", "7", "mx-crystal", "ada_own", {"protein_acronym": "lyso"}, USER)
    mine = system.app.find_shipment("mx23694", "Mine")
    labels = gather(_member(system, "mx23694", "acct-ada"), str(mine))
    names = [s[1] for d in labels.dewars for c in d.containers for s in c["samples"]]
    assert names == ["ada_own"]
    pdf = LabelPrinter().render(labels, "a4", "pdf")
    assert pdf.startswith(b"%PDF")


def test_a_member_of_another_proposal_cannot_gather_a_shipments_labels(system):
    their_shipment, _, _ = _theirs_and_mine(system)
    with pytest.raises(NotFound) as hidden:
        gather(_member(system, "mx23694", "acct-ada"), their_shipment)
    assert "mx31020" not in hidden.value.message and "Theirs" not in hidden.value.message


# --- notifications ----------------------------------------------------------------------------------

def _signed_in(system, username: str, person: str) -> Session:
    """A member's web session, as signing in builds it (the account linked to the person)."""
    from logistics.entrypoints.web import principal_of
    return system.session(principal_of(system, system.accounts.add(username, ["member"], person_id=person), "web"))


def _ada_and_dorothy(system) -> tuple[Session, Session, str]:
    """Ada, the PI of mx23694 (with its dewar at the facility), and Dorothy, the PI of mx31020."""
    at_facility(system)
    ada_person = next(iter(system.app.proposal("mx23694").members))
    system.app.register_proposal("mx31020", "Viral proteases", ADMIN)
    dorothy_person = str(system.app.register_person("Dorothy Hodgkin", "dorothy@other.example", ADMIN))
    system.app.add_member("mx31020", dorothy_person, "pi", ADMIN)
    return _signed_in(system, "ada", ada_person), _signed_in(system, "dorothy", dorothy_person), dorothy_person


def test_a_member_of_another_proposal_cannot_read_or_change_someones_subscriptions(system):
    ada, dorothy, _ = _ada_and_dorothy(system)
    ada.set_notification_setting("dewar-arrived", "off", "mx23694")
    before = ada.notification_settings()

    assert {s["proposal"] for s in dorothy.notification_settings()} == {None, "mx31020"}
    with pytest.raises(NotFound) as foreign:
        dorothy.set_notification_setting("dewar-arrived", "immediate", "mx23694")
    with pytest.raises(NotFound) as missing:
        dorothy.set_notification_setting("dewar-arrived", "immediate", "zz99999")
    assert foreign.value.message == missing.value.message.replace("zz99999", "mx23694")
    with pytest.raises(AccessDenied):
        dorothy.outbox()
    assert ada.notification_settings() == before
    assert {"kind": "dewar-arrived", "proposal": "mx23694", "delivery": "off", "is_default": False} in before


def test_a_member_of_another_proposal_is_told_nothing_of_its_dewars(system):
    ada, _, dorothy_person = _ada_and_dorothy(system)
    system.app.report_damage(system.views.dewars(proposal="mx23694")[0]["barcode"], "dented lid", STORES)
    system.notifications.projection.catch_up()
    told = system.notifications.store.rows(limit=1000)
    assert {r["kind"] for r in told if r["proposal"] == "mx23694"} >= {"dewar-arrived", "damage-reported"}
    assert [r for r in told if r["recipient"] == dorothy_person] == []


def test_the_live_feed_shows_a_member_of_another_proposal_nothing_of_its_events(system):
    ada, dorothy, _ = _ada_and_dorothy(system)
    theirs, _ = dorothy.feed(0, limit=1000)
    mine, _ = ada.feed(0, limit=1000)
    assert "Arrived" in {item.event["event"] for item in mine if item.proposal == "mx23694"}
    assert [item for item in theirs if item.proposal != "mx31020"] == []
