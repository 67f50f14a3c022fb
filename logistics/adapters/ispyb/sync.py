"""`logistics ispyb sync` and `logistics worker --ispyb`: one round of the ISPyB work, repeated."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from logistics.adapters.ispyb.projection import IspybProjection
from logistics.adapters.ispyb.schema import IspybError, ispyb_engine, require_schema

ENV_VAR = "LOGISTICS_ISPYB_URL"


@dataclass
class Round:
    applied: int  # events projected
    waiting: int  # records still waiting for a proposal, a visit or their parent
    read_back: int = 0  # loads and unloads the beamline software recorded, now our events

    def __bool__(self) -> bool:
        return bool(self.applied or self.read_back)


class IspybSync:
    """The projection into ISPyB, and (once the service layer gives it a way in) the read-back."""

    def __init__(self, system: Any, url: str | None):
        url = url or os.environ.get(ENV_VAR)
        if not url:
            raise IspybError(f"no ISPyB database: pass --url (or --ispyb) or set ${ENV_VAR}")
        self.system = system
        self.engine = ispyb_engine(url)
        require_schema(self.engine)
        database = system.database
        self.projection = IspybProjection(system.app, database.engine(), database.engine(writer=True), self.engine,
                                          write_lock=database.write_lock())
        self.read_back: Any = None  # set by the service layer's read-back use case

    def run_once(self) -> Round:
        applied = self.projection.catch_up()
        waiting = self.projection.retry_pending()
        read_back = self.read_back() if self.read_back else 0
        return Round(applied=applied, waiting=waiting, read_back=read_back)

    def close(self) -> None:
        self.engine.dispose()
        self.projection.engine.dispose()
        self.projection.writer.dispose()
