"""Every page at a phone's 390 px and a laptop's 1366 px, without sideways scrolling."""

from __future__ import annotations

from typing import Callable

import pytest
from playwright.sync_api import Page

from tests.e2e.support import pack_shipment


@pytest.mark.parametrize("who, path", [("ada", "/shipments"), ("ada", "shipment"), ("beamline", "/beamline"),
                                       ("beamline", "/beamline/i03")])
def test_a_person_uses_the_page_on_a_phone_and_a_laptop(server, sign_in: Callable[..., Page], at_both_widths,
                                                        who: str, path: str):
    if path == "shipment":
        path = f"/shipments/{pack_shipment(server, samples=2).id}"
    page = sign_in(who)
    page.goto(path)
    at_both_widths(page)
