"""Wires the application to its database, read model and personal-data vault."""

from __future__ import annotations

from dataclasses import dataclass

from logistics.adapters.accounts import Accounts
from logistics.adapters.database import Database
from logistics.adapters.fixture_files import load_catalogue, load_locations
from logistics.adapters.personal_data import Vault
from logistics.adapters.read_model import Projection
from logistics.adapters.transcoder import FastJSONTranscoder
from logistics.domain.by import SYSTEM, By
from logistics.service_layer.application import Logistics
from logistics.service_layer.feed import Feed
from logistics.adapters.notifying import Notifications
from logistics.views import Views


@dataclass
class System:
    app: Logistics
    projection: Projection
    views: Views
    database: Database
    accounts: Accounts
    feed: Feed
    notifications: Notifications | None = None  # the e-mail outbox (adapters/notifying.py)

    def close(self) -> None:
        self.app.close()
        self.projection.engine.dispose()
        self.projection.writer.dispose()
        self.accounts.engine.dispose()


def bootstrap(url: str | None = None) -> System:
    database = Database.from_url(url)
    engine, writer = database.engine(), database.engine(writer=True)
    vault = Vault(writer)
    app = Logistics(env=database.eventsourcing_env(), catalogue=load_catalogue(), sealer=vault,
                    transcoder=FastJSONTranscoder)
    projection = Projection(app, engine, database.engine(writer=True, rebuildable=True),
                            write_lock=database.write_lock())
    app.on_recorded = projection.wait_for
    views = Views(app, engine)
    accounts = Accounts(writer)
    return System(app=app, projection=projection, views=views, database=database, accounts=accounts,
                  feed=Feed(app, views), notifications=Notifications(app, engine, writer, accounts))


def register_reference_data(app: Logistics, by: By = SYSTEM) -> None:
    """Storage locations and instruments from `fixtures/`; registering twice changes nothing."""
    for location in load_locations():
        app.register_location(location["code"], location["name"], location["kind"], by)
    for name in app.catalogue.instruments:
        app.register_instrument(name, by)
