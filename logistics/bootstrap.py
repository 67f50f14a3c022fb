"""Wires the application to its database, read model and personal-data vault."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from typing import Callable

from logistics.adapters.accounts import Accounts
from logistics.adapters.database import Database
from logistics.adapters.erasure_purge import LOG_FILE_VAR, log_purger, outbox_purger
from logistics.adapters.fixture_files import load_catalogue, load_locations
from logistics.adapters.parallel_rebuild import Workers
from logistics.adapters.personal_data import Vault
from logistics.adapters.read_model import Projection
from logistics.adapters.transcoder import FastJSONTranscoder
from logistics.domain.by import SYSTEM, By
from logistics.service_layer.application import Logistics
from logistics.service_layer.feed import Feed
from logistics.adapters.notifying import Notifications
from logistics.adapters.outbox import OutboxStore
from logistics.service_layer.access import Principal
from logistics.service_layer.session import Session
from logistics.service_layer.subscriptions import Subscriptions
from logistics.views import Views

PROJECT_EVERY = 0.02  # seconds between a server's background projection batches


@dataclass
class System:
    app: Logistics
    projection: Projection
    views: Views
    database: Database
    accounts: Accounts
    feed: Feed
    notifications: Notifications | None = None  # the e-mail outbox's background work (adapters/notifying.py)
    subscriptions: Subscriptions | None = None  # who receives what, over the outbox store (service_layer)

    def session(self, principal: Principal) -> Session:
        """The one door for this principal, wired to this system's read model and notifications."""
        return Session(self.app, self.views, principal, notifications=self.subscriptions)

    def project_in_background(self, every: float = PROJECT_EVERY) -> None:
        """For a server: commands return once their events are durable, and a thread of this
        process applies what every process recorded, every `every` seconds. Reads already wait
        until the read model holds every event recorded so far (so a client reads its own
        changes back from whichever process answers)."""
        self.app.on_recorded = lambda _notification_id: None
        self.projection.follow(every)

    def project_elsewhere(self) -> None:
        """For one of several API processes whose parent projects in the background (`serve
        --workers`): commands return once their events are durable; reads wait as always."""
        self.app.on_recorded = lambda _notification_id: None

    def close(self) -> None:
        self.projection.stop_following()
        self.app.close()
        self.projection.engine.dispose()
        self.projection.writer.dispose()
        self.accounts.engine.dispose()


def bootstrap(url: str | None = None) -> System:
    database = Database.from_url(url)
    engine, writer = database.engine(), database.engine(writer=True)
    with database.schema_lock():  # the constructors create their tables if missing
        vault = Vault(writer)
        app = Logistics(env=database.eventsourcing_env(), catalogue=load_catalogue(), sealer=vault,
                        transcoder=FastJSONTranscoder)
        projection = Projection(app, engine, database.engine(writer=True, rebuildable=True),
                                write_lock=database.write_lock())
        app.on_recorded = projection.wait_for
        views = Views(app, engine, before_read=projection.wait_for_head)  # read-your-writes, whoever wrote
        accounts = Accounts(writer)
        outbox = OutboxStore(engine, writer)
        subscriptions = Subscriptions(app, outbox, person_of_account=lambda account_id: accounts.get(account_id).person_id)
        notifications = Notifications(app, engine, writer, outbox, subscriptions)
        app.proposals_of_person = views.proposals_of_person
        app.erasers = {"accounts disabled": lambda person_id, _found: accounts.disable_person(person_id),
                       "outbox messages purged": outbox_purger(writer),
                       "log lines purged": log_purger(os.environ.get(LOG_FILE_VAR))}
    return System(app=app, projection=projection, views=views, database=database, accounts=accounts,
                  feed=Feed(app, views), notifications=notifications,
                  subscriptions=subscriptions)


def read_model_projection(url: str) -> Projection:
    """A projection of its own for a worker process of a parallel rebuild."""
    return bootstrap(url).projection


def default_rebuild_jobs() -> int:
    """One worker process per core, up to four (beyond that the single writer is the limit)."""
    return max(1, min(os.cpu_count() or 1, 4))


def rebuild_read_model(system: System, jobs: int = 1, progress: Callable[[int], None] | None = None) -> int:
    """Drop the read model and rebuild it from every event; `jobs` processes decode and replay them."""
    if jobs <= 1:
        return system.projection.rebuild(progress=progress)
    url = system.database.url.render_as_string(hide_password=False)
    with Workers(partial(read_model_projection, url), jobs) as workers:
        return system.projection.rebuild(progress=progress, workers=workers)


def register_reference_data(app: Logistics, by: By = SYSTEM) -> None:
    """Storage locations and instruments from `fixtures/`; registering twice changes nothing."""
    for location in load_locations():
        app.register_location(location["code"], location["name"], location["kind"], by)
    for name in app.catalogue.instruments:
        app.register_instrument(name, by)
