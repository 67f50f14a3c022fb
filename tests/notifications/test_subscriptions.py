"""Everyone sees and changes what they receive, per proposal and kind: at once, in a daily digest, or
not at all. Through the GraphQL operations in graphql/notifications.graphql."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from tests.helpers import STORES
from tests.notifications.conftest import EMAILS, Facility, ship

ADA, ROSALIND = EMAILS["ada"], EMAILS["rosalind"]


def settings_of(facility: Facility, username: str) -> dict[tuple[str, str | None], tuple[str, bool]]:
    data = facility.gql(username, "NotificationSettings")["notificationSettings"]
    return {(s["kind"], s["proposal"]): (s["delivery"], s["isDefault"]) for s in data}


def choose(facility: Facility, username: str, kind: str, delivery: str, proposal: str | None = None) -> dict:
    return facility.gql(username, "SetNotificationSetting", kind=kind, delivery=delivery,
                        proposal=proposal)["setNotificationSetting"]


def test_everyone_sees_their_settings_with_defaults_by_role(facility: Facility) -> None:
    ada = settings_of(facility, "ada")
    assert ada[("DEWAR_ARRIVED", None)] == ("IMMEDIATE", True)
    assert ada[("DEWAR_ARRIVED", "mx23694")] == ("IMMEDIATE", True)
    assert ada[("DEWAR_STALE", "mx23694")] == ("IMMEDIATE", True)
    assert not any(proposal == "mx31020" for _kind, proposal in ada)  # only her own proposals
    assert ("UNEXPECTED_ARRIVAL", None) not in ada

    sam = settings_of(facility, "sam")
    assert sam == {("UNEXPECTED_ARRIVAL", None): ("IMMEDIATE", True), ("DEWAR_STALE", None): ("DIGEST", True)}
    bea = settings_of(facility, "bea")
    assert bea == {("DAMAGE_REPORTED", None): ("IMMEDIATE", True), ("CONTENTS_CHECK_FAILED", None): ("IMMEDIATE", True)}


def test_unsubscribing_stops_the_messages(facility: Facility) -> None:
    result = choose(facility, "ada", "DEWAR_ARRIVED", "OFF", "mx23694")
    assert result == {"__typename": "NotificationSetting", "kind": "DEWAR_ARRIVED", "proposal": "mx23694",
                      "delivery": "OFF", "isDefault": False}
    assert settings_of(facility, "ada")[("DEWAR_ARRIVED", "mx23694")] == ("OFF", False)
    assert settings_of(facility, "ada")[("DEWAR_ARRIVED", None)] == ("IMMEDIATE", True)

    _shipment, barcode = ship(facility, "mx23694", contact_of="ada")
    facility.app.scan_dewar(barcode, "loc-goods-in", STORES)
    facility.app.report_damage(barcode, "lid cracked", STORES)
    facility.work()
    assert facility.inbox.pairs() == Counter({("dewar-arrived", ROSALIND): 1, ("damage-reported", ROSALIND): 1,
                                              ("damage-reported", ADA): 1, ("damage-reported", EMAILS["bea"]): 1})
    skipped = facility.notifications.store.rows(status="skipped")
    assert [(r["kind"], r["recipient"], r["note"]) for r in skipped] == [
        ("dewar-arrived", facility.persons["ada"], "unsubscribed")]

    # Off for every proposal, on again for one: the proposal's own choice wins.
    choose(facility, "ada", "DAMAGE_REPORTED", "OFF")
    facility.inbox.clear()
    facility.app.report_damage(barcode, "second crack", STORES)
    facility.work()
    assert ADA not in {r.to for r in facility.inbox.received}
    choose(facility, "ada", "DAMAGE_REPORTED", "IMMEDIATE", "mx23694")
    facility.app.report_damage(barcode, "third crack", STORES)
    facility.work()
    assert [r.kind for r in facility.inbox.to(ADA)] == ["damage-reported"]


def test_stores_can_turn_off_unexpected_arrivals(facility: Facility) -> None:
    choose(facility, "sam", "UNEXPECTED_ARRIVAL", "OFF")
    facility.app.record_unexpected_arrival("UNKNOWN-1", "loc-goods-in", "", STORES)
    facility.work()
    assert facility.inbox.received == []


def test_a_setting_for_another_proposal_is_refused_as_if_it_did_not_exist(facility: Facility) -> None:
    foreign = choose(facility, "ada", "DEWAR_ARRIVED", "OFF", "mx31020")
    unknown = choose(facility, "ada", "DEWAR_ARRIVED", "OFF", "mx99999")
    assert foreign["__typename"] == unknown["__typename"] == "NotFoundError"
    assert foreign["message"] == "proposal 'mx31020' is not registered"
    no_person = facility.gql("desk-1", "SetNotificationSetting", kind="DEWAR_ARRIVED", delivery="OFF")
    assert no_person["setNotificationSetting"]["__typename"] == "NotPermittedError"
    assert facility.gql("desk-1", "NotificationSettings")["notificationSettings"] == []


def test_a_daily_digest_gathers_a_days_messages_into_one(facility: Facility) -> None:
    for kind in ("DEWAR_ARRIVED", "DAMAGE_REPORTED", "CONTENTS_CHECK_FAILED"):
        choose(facility, "ada", kind, "DIGEST")
    _shipment, barcode = ship(facility, "mx23694", contact_of="ada")
    facility.app.scan_dewar(barcode, "loc-goods-in", STORES)
    facility.app.report_damage(barcode, "lid cracked", STORES)
    facility.app.check_contents(barcode, False, "puck missing", STORES)

    # Tomorrow (the dewar is not yet due a still-here reminder), the clock moved by hand.
    morning = (datetime.now(timezone.utc) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    day = morning.date().isoformat()
    facility.work(now=morning)
    assert facility.inbox.to(ADA) == []  # put aside for the digest
    assert len(facility.inbox.to(ROSALIND)) == 3  # Rosalind chose nothing: at once
    facility.work(now=morning.replace(hour=23, minute=59))
    assert facility.inbox.to(ADA) == []  # the day is not over

    facility.work(now=morning + timedelta(days=1) - timedelta(hours=8, minutes=55))  # 00:05 the next day
    digests = facility.inbox.to(ADA)
    assert len(digests) == 1
    digest = digests[0]
    assert digest.kind == "daily-digest"
    assert digest.message["Subject"] == f"Daily summary for {day}: 3 messages"
    text, page = digest.part("plain"), digest.part("html")
    for words in (f"Dewar {barcode} has arrived", "damage reported", "contents check failed", "lid cracked",
                  "puck missing"):
        assert words in text and words in page
    assert f"/dewars/{barcode}" in text
    next_day = (morning + timedelta(days=1)).date().isoformat()
    assert digest.message["Message-ID"] == f"<digest.{next_day}.{facility.persons['ada']}@facility.example>"
    rows = facility.notifications.store.rows(recipient=facility.persons["ada"])
    assert Counter(r["status"] for r in rows) == Counter({"digested": 3, "sent": 1})

    facility.work(now=morning + timedelta(days=1, hours=3))  # later that day: nothing more
    facility.work(now=morning + timedelta(days=2))  # and nothing the day after: the day is done
    assert len(facility.inbox.to(ADA)) == 1


def test_the_digest_day_follows_the_configured_time_zone(facility: Facility) -> None:
    facility.notifications.configure(timezone="Asia/Tokyo")
    choose(facility, "ada", "DEWAR_ARRIVED", "DIGEST")
    _shipment, barcode = ship(facility, "mx23694", contact_of="ada")
    facility.app.scan_dewar(barcode, "loc-goods-in", STORES)
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    late_evening_utc = tomorrow.replace(hour=14, minute=0, second=0, microsecond=0)  # 23:00 in Tokyo
    facility.work(now=late_evening_utc)
    facility.work(now=late_evening_utc + timedelta(hours=2))  # 01:00 the next day in Tokyo
    (digest,) = facility.inbox.to(ADA)
    assert digest.message["Subject"] == f"Daily summary for {tomorrow.date().isoformat()}: 1 message"
