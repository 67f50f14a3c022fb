"""GraphiQL on a closed facility network: the browser may reach nothing but the tracker itself."""

from __future__ import annotations

import json
import re
from typing import Callable
from urllib.parse import quote, urlsplit

from playwright.sync_api import Page, Route, expect

from logistics.entrypoints.graphiql import MANIFEST, VENDORED, cdn_files, offline_html
from strawberry.http.ides import get_graphql_ide_html


def test_graphiql_runs_a_query_when_the_browser_can_reach_only_the_tracker(
        sign_in: Callable[..., Page], screenshot: Callable[[Page], object]) -> None:
    stores = sign_in("stores")
    blocked: list[str] = []

    def only_loopback(route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host in ("127.0.0.1", "localhost", "::1") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    stores.context.route("**/*", only_loopback)
    stores.goto("/graphql?q=" + quote("{ me { name roles } }"))
    run = stores.locator(".graphiql-execute-button")
    expect(run).to_be_visible(timeout=20_000)  # "Loading…" for ever when a script did not arrive
    run.click()
    result = stores.locator(".result-window")
    expect(result).to_contain_text('"name": "stores"', timeout=10_000)
    expect(result).to_contain_text('"stores"')
    screenshot(stores)
    assert blocked == [], f"GraphiQL asked for files outside the tracker: {blocked}"


def test_every_file_strawberrys_graphiql_asks_for_is_kept_with_its_version_and_licence() -> None:
    """Fails after an upgrade of strawberry-graphql that pins other versions, until
    `python -m logistics.entrypoints.graphiql refresh` has fetched them."""
    wanted = cdn_files(get_graphql_ide_html("graphiql"))
    assert len(wanted) >= 5  # React, ReactDOM, GraphiQL (script and style), the explorer plugin
    kept = json.loads(MANIFEST.read_text())["packages"]
    for package, version, path in wanted:
        entry = kept[f"{package}@{version}"]
        assert entry["licence"], f"{package}@{version} has no licence recorded"
        assert path in entry["files"] and (VENDORED / f"{package}@{version}" / path).is_file()
    assert not re.search(r"https?://(?!127\.0\.0\.1)", re.sub(r"<!--.*?-->|https?://www\.w3\.org/[^\"' ]*", "",
                                                             offline_html(), flags=re.S)), \
        "the page still names an address outside the tracker"
