"""`serve --workers N`: N API processes, and the parent hands each new connection to the one
holding the fewest.

Keep-alive connections (scanner stations, scripts, the pages' websockets) stay with the process
that took them. uvicorn's own `--workers` share one listening socket and whichever process wakes
first takes each connection: all 8 of `bench http`'s clients ended up on one of two processes.
A listening socket per process with SO_REUSEPORT (the kernel spreads connections by a hash of the
client's address and port) was better, but 8 connections fall 4:4 only 27% of the time, and a
process's share is capped at one core by its GIL: measured with `bench http`, 8 clients, two
processes, 0.15x raw sqlite3 inserts against 0.19x at 32 clients, where the hash evens out.
Here the parent accepts and passes each connection's descriptor (SCM_RIGHTS, over a Unix
socket pair per process) to the process with the fewest open connections; the processes are
uvicorn servers without a listening socket of their own.

The parent watches: it restarts a process that dies, and on SIGTERM or SIGINT stops them all
(each finishes the requests it is answering, as uvicorn does). It can also run work of its own
alongside them (`serve` keeps the read model up to date there). A process whose parent is gone
(killed) stops too: its end of the socket pair reads end-of-file.
"""

from __future__ import annotations

import asyncio
import errno
import multiprocessing
import signal
import socket
import sys
import threading
import time
from typing import Any, Callable

import uvicorn

RESTART_PAUSE = 1.0  # seconds before a process that died is started again
EARLY, GIVE_UP_AFTER = 10.0, 5  # processes dying this soon after starting, this many times in a row: stop


class PortInUse(OSError):
    pass


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.socket(family, socket.SOCK_STREAM)


def check_port_free(host: str, port: int) -> None:
    """SO_REUSEPORT would let a second server on this port share it silently: bind without it first."""
    probe = _socket(host, port)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # connections of a server just stopped linger
    try:
        probe.bind((host, port))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} on {host} is already in use: stop what serves there, or pass --port") from None
        raise
    finally:
        probe.close()


def listening_socket(host: str, port: int) -> socket.socket:
    sock = _socket(host, port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


class HandedConnections(uvicorn.Server):
    """uvicorn without a listening socket: it serves the connections the parent passes it on
    `inbox`, and publishes in `closed[index]` how many of those it has closed since it started."""

    PUBLISH_EVERY = 0.1  # seconds; also at once after each connection handed over

    def __init__(self, config: uvicorn.Config, inbox: socket.socket, closed: Any, index: int):
        super().__init__(config)
        self.inbox, self.closed, self.index, self.received = inbox, closed, index, 0
        self._publisher: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])
        loop = asyncio.get_running_loop()
        self.inbox.setblocking(False)
        loop.add_reader(self.inbox.fileno(), self._take)
        self._publisher = loop.create_task(self._publish_closed())

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._stop_taking()
        if self._publisher is not None:
            self._publisher.cancel()
        await super().shutdown(sockets)

    def _stop_taking(self) -> None:
        try:
            asyncio.get_running_loop().remove_reader(self.inbox.fileno())
        except (ValueError, OSError):  # already closed
            pass

    def _protocol(self) -> asyncio.Protocol:
        return self.config.http_protocol_class(config=self.config, server_state=self.server_state,  # type: ignore[call-arg]
                                               app_state=self.lifespan.state)

    def _take(self) -> None:
        """Connections handed over (one descriptor per message), or the parent's end-of-file."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                message, fds, _flags, _address = socket.recv_fds(self.inbox, 16, 16)
            except (BlockingIOError, InterruptedError):
                return
            if not message and not fds:  # the parent is gone: no one hands out connections any more
                self._stop_taking()
                self.should_exit = True
                return
            for fd in fds:
                self.received += 1
                loop.create_task(self._serve_connection(socket.socket(fileno=fd)))

    async def _serve_connection(self, sock: socket.socket) -> None:
        try:
            await asyncio.get_running_loop().connect_accepted_socket(self._protocol, sock)
        except OSError:  # the client went away meanwhile
            sock.close()
        self._publish()

    def _publish(self) -> None:
        self.closed[self.index] = self.received - len(self.server_state.connections)

    async def _publish_closed(self) -> None:
        while True:
            await asyncio.sleep(self.PUBLISH_EVERY)
            self._publish()


def _serve(app: str, host: str, port: int, options: dict[str, Any], inbox: socket.socket, closed: Any,
           index: int) -> None:
    """One API process (in a child): uvicorn serving what the parent hands over, until told to stop."""
    config = uvicorn.Config(app, host=host, port=port, **options)
    HandedConnections(config, inbox, closed, index).run()


class Dispatcher:
    """The parent's side: accepts each connection and passes it to the process with the fewest open."""

    def __init__(self, listener: socket.socket, workers: int, closed: Any):
        self.listener, self.closed = listener, closed
        self.ends: list[socket.socket | None] = [None] * workers
        self.sent = [0] * workers  # handed to each process since it started
        self._guard = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="connections", daemon=True)

    def attach(self, index: int) -> socket.socket:
        """A new socket pair for process `index` (started or restarted): returns the child's end."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with self._guard:
            old, self.ends[index] = self.ends[index], ours
            self.sent[index], self.closed[index] = 0, 0
        if old is not None:
            old.close()
        return theirs

    def open_connections(self) -> list[int]:
        """Per process: handed to it since it started, less those it has closed (as it last said)."""
        return [self.sent[n] - self.closed[n] for n in range(len(self.sent))]

    def start(self) -> None:
        self.listener.settimeout(0.2)  # to see the stop between connections
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self.listener.close()
        for end in self.ends:
            if end is not None:
                end.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except (socket.timeout, InterruptedError):
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                time.sleep(0.05)  # out of descriptors, say: the connection waits in the backlog
                continue
            with connection:
                self._hand(connection)

    def _hand(self, connection: socket.socket) -> None:
        with self._guard:
            held = self.open_connections()
            order = sorted(range(len(held)), key=held.__getitem__)
            for n in order:
                end = self.ends[n]
                if end is None:
                    continue
                try:
                    socket.send_fds(end, [b"c"], [connection.fileno()])
                except OSError:  # that process is gone (it is being started again): the next one
                    continue
                self.sent[n] += 1
                return
        # no process can take it now: closing it tells the client at once (it retries)


def serve_processes(app: str, host: str, port: int, workers: int,
                    alongside: Callable[[], Callable[[], None]] | None = None, **options: Any) -> None:
    """Run `workers` API processes until SIGTERM or SIGINT; a process that dies is started again.
    `alongside` starts work in this process for as long as they run, and returns how to stop it."""
    check_port_free(host, port)
    spawn = multiprocessing.get_context("spawn")
    stopping: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, _frame: stopping.append(number))
                for sig in (signal.SIGTERM, signal.SIGINT)}
    dispatcher = Dispatcher(listening_socket(host, port), workers, spawn.RawArray("q", workers))

    def start(index: int) -> Any:
        theirs = dispatcher.attach(index)
        process = spawn.Process(target=_serve, args=(app, host, port, options, theirs, dispatcher.closed, index),
                                daemon=False)
        process.start()
        theirs.close()  # the child has its own copy
        return process

    stop_alongside = alongside() if alongside else None
    processes = [start(n) for n in range(workers)]
    dispatcher.start()
    started = [time.monotonic()] * workers
    early_deaths = 0  # in a row: a process that cannot start (say, the database is gone) is not started forever
    try:
        while not stopping:
            time.sleep(0.2)
            for n, process in enumerate(processes):
                if process.is_alive() or stopping:
                    continue
                early_deaths = early_deaths + 1 if time.monotonic() - started[n] < EARLY else 0
                if early_deaths >= GIVE_UP_AFTER:
                    raise SystemExit(f"API processes keep stopping within {EARLY:.0f} s of starting "
                                     f"(the last with exit code {process.exitcode}): see the messages above")
                print(f"API process {process.pid} stopped (exit code {process.exitcode}); starting another",
                      file=sys.stderr, flush=True)
                time.sleep(RESTART_PAUSE)
                processes[n], started[n] = start(n), time.monotonic()
    finally:
        dispatcher.stop()  # no new connections; each process finishes those it has
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in hand
        deadline = time.monotonic() + 30
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        if stop_alongside:
            stop_alongside()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
