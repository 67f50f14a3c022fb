"""Where an erased person's data may sit in clear outside the events, and how it is purged
(service_layer/erasure.py decides when): the e-mail outbox and its digests, and the log files."""

from __future__ import annotations

import gzip
import logging
import os
import tempfile
from logging.handlers import WatchedFileHandler
from pathlib import Path
from typing import Mapping

from sqlalchemy import Engine, delete, func, or_, select, update

from logistics.adapters.outbox import DIGEST, PENDING, RETRYING, SENDING, SKIPPED, outbox, settings
from logistics.service_layer.erasure import PersonalData, Purger

LOG_FILE_VAR = "LOGISTICS_LOG_FILE"
ERASED_NOTE = "not sent: the recipient was erased"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(process)d: %(message)s"


def outbox_purger(writer: Engine) -> Purger:
    def purge(person_id: str, found: PersonalData) -> int:
        changed = 0
        texts = (outbox.c.last_error, outbox.c.note, outbox.c.facts)
        with writer.begin() as conn:
            # what was still to go to them (their own digests included) never will
            changed += conn.execute(update(outbox).where(outbox.c.recipient == person_id,
                                                         outbox.c.status.in_((PENDING, RETRYING, SENDING, DIGEST)))
                                    .values(status=SKIPPED, note=ERASED_NOTE, lease_until=None,
                                            next_attempt_at=None)).rowcount
            conn.execute(delete(settings).where(settings.c.subject == person_id))
            # text the system wrote about any message (a server's refusal quoting an address, a note)
            wanted = [func.lower(column).contains(value.lower(), autoescape=True)
                      for value in found.searched() for column in texts]
            if not wanted:
                return changed
            for row in conn.execute(select(outbox.c.id, *texts).where(or_(*wanted))).mappings().all():
                values = {c.name: found.redact(row[c.name]) for c in texts}
                if any(values[c.name] != row[c.name] for c in texts):
                    conn.execute(update(outbox).where(outbox.c.id == row["id"]).values(**values))
                    changed += 1
        return changed
    return purge


def log_files(path: str | os.PathLike[str] | None) -> list[Path]:
    """The log file and the rotated ones beside it (`FILE.1`, `FILE.2.gz`, ...)."""
    if not path:
        return []
    main = Path(path)
    return [p for p in [main, *sorted(main.parent.glob(main.name + ".*"))] if p.is_file()]


def log_purger(path: str | os.PathLike[str] | None) -> Purger:
    def purge(_person_id: str, found: PersonalData) -> int:
        changed = 0
        for file in log_files(path):
            opener = gzip.open if file.suffix == ".gz" else open
            with opener(file, "rt", encoding="utf-8", errors="surrogateescape") as f:
                lines = f.readlines()
            redacted = [found.redact(line) or "" for line in lines]
            n = sum(a != b for a, b in zip(lines, redacted))
            if not n:
                continue
            # a new file put in place: a process logging to it (WatchedFileHandler) reopens it by itself
            fd, temporary = tempfile.mkstemp(dir=file.parent, prefix=file.name + ".")
            os.close(fd)
            with opener(temporary, "wt", encoding="utf-8", errors="surrogateescape") as f:
                f.writelines(redacted)
            os.chmod(temporary, file.stat().st_mode & 0o777)
            os.replace(temporary, file)
            changed += n
        return changed
    return purge


def configure_log_file(env: Mapping[str, str] | None = None) -> Path | None:
    """`LOGISTICS_LOG_FILE`: where every process of the system also writes its log (appended;
    reopened when moved, so logrotate and an erasure's purge may replace it)."""
    path = (os.environ if env is None else env).get(LOG_FILE_VAR)
    if not path:
        return None
    root = logging.getLogger()
    if not any(isinstance(h, WatchedFileHandler) and h.baseFilename == os.path.abspath(path) for h in root.handlers):
        handler = WatchedFileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
    return Path(path)
