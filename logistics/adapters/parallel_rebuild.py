"""Preparing a projection's batches in several processes, for rebuilding it on several cores.

Decoding events and replaying them onto aggregates is most of a rebuild's work, and it runs
in Python: one process uses one core. `Workers` starts N processes, each with a projection of
its own (from a picklable factory). Batches are ranges of notification ids up to the highest
id recorded when the rebuild began (every id up to it is committed, so each worker reads the
same batch). Each worker reads the batch and prepares its share: the aggregates whose id modulo
N is its number, so all of an aggregate's events reach the same worker, in order. The parent
merges the shares, then writes them and moves the position in one transaction, as
`TrackingProjection.catch_up` does (it is catch_up that writes: this supplies its prepared
batches). While the parent writes one batch, the workers already prepare the next ones.
Notifications recorded after the rebuild began are then applied by catch_up as usual.

A worker's cached aggregates are only a cache: a projection checks an aggregate's version
before using it and reloads it from the event store otherwise, so a batch another process
applied meanwhile does not lead a worker astray.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections import deque
from typing import Any, Callable, Iterator

from logistics.adapters.projection import fewer_collections

Factory = Callable[[], Any]  # makes the worker's projection; must be picklable (a module-level function)


def _work(factory: Factory, number: int, workers: int, inbox: Any, outbox: Any) -> None:
    with fewer_collections():  # this process does bulk work only
        _serve(factory, number, workers, inbox, outbox)


def _serve(factory: Factory, number: int, workers: int, inbox: Any, outbox: Any) -> None:
    try:
        projection = factory()
    except Exception:  # noqa: BLE001 - reported to the parent, which stops the rebuild
        outbox.put(((None, None), "error", traceback.format_exc()))
        return
    parent = multiprocessing.parent_process()
    while True:
        try:
            task = inbox.get(timeout=5)
        except queue.Empty:
            if parent is None or not parent.is_alive():
                return  # the parent was killed: nobody will read what this would prepare
            continue
        if task is None:
            return
        start, stop = task
        try:
            batch = projection.app.recorder.select_notifications(
                start=start, limit=stop - start, stop=stop, inclusive_of_start=False)
            share = [n for n in batch if n.originator_id.int % workers == number]
            outbox.put(((start, stop), "ok", (len(share), projection.prepare_share(share))))
        except Exception:  # noqa: BLE001
            outbox.put(((start, stop), "error", traceback.format_exc()))


class Workers:
    """N worker processes preparing shares of a projection's batches. Use as a context manager."""

    READ_AHEAD = 2  # batches dealt out before the parent waits for the first of them

    def __init__(self, factory: Factory, jobs: int):
        if jobs < 1:
            raise ValueError(f"{jobs} worker processes: expected 1 or more")
        self.factory, self.jobs = factory, jobs
        self.inboxes: list[Any] = []
        self.outboxes: list[Any] = []
        self.processes: list[Any] = []

    def _start(self) -> None:
        """Started when the first batch is wanted, after the projection has reset its tables."""
        context = multiprocessing.get_context("spawn")  # never fork a process that may hold threads and connections
        self.inboxes = [context.Queue() for _ in range(self.jobs)]
        self.outboxes = [context.Queue() for _ in range(self.jobs)]
        self.processes = [context.Process(target=_work, args=(self.factory, n, self.jobs, inbox, outbox),
                                          daemon=True, name=f"rebuild-worker-{n}")
                          for n, (inbox, outbox) in enumerate(zip(self.inboxes, self.outboxes))]
        for process in self.processes:
            process.start()

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        for q in (*self.inboxes, *self.outboxes):
            q.close()

    def prepared_batches(self, projection: Any) -> Callable[[int], Iterator[tuple[int, int, Any]]]:
        """A `prepared_batches` for `projection.catch_up`, prepared by these workers."""
        def batches(position: int) -> Iterator[tuple[int, int, Any]]:
            if not self.processes:
                self._start()
            end = projection.app.recorder.max_notification_id() or 0
            in_flight: deque[tuple[int, int]] = deque()
            try:
                while True:
                    while len(in_flight) < self.READ_AHEAD and position < end:
                        task = (position, min(position + projection.batch_size, end))
                        for inbox in self.inboxes:
                            inbox.put(task)
                        in_flight.append(task)
                        position = task[1]
                    if not in_flight:
                        return
                    task = in_flight.popleft()
                    shares = self._gather(task)
                    yield task[1], sum(count for count, _ in shares), projection.merge([share for _, share in shares])
            except GeneratorExit:  # stopped early (the position moved): the shares being prepared are dropped
                for task in in_flight:
                    self._gather(task)
                raise
        return batches

    def _gather(self, task: tuple[int, int]) -> list[Any]:
        """Every worker's share of the batch `task`, or an error saying which worker failed and why."""
        packs = []
        for n, (outbox, process) in enumerate(zip(self.outboxes, self.processes)):
            while True:
                try:
                    batch, status, value = outbox.get(timeout=5)
                    break
                except queue.Empty:
                    if not process.is_alive():
                        raise RuntimeError(f"rebuild worker {n} stopped (exit code {process.exitcode})") from None
            if status == "error":
                raise RuntimeError(f"rebuild worker {n} failed:\n{value}")
            if batch != task:  # out of step with this worker: never merge shares of different batches
                raise RuntimeError(f"rebuild worker {n} answered for notifications {batch}, not {task}")
            packs.append(value)
        return packs
