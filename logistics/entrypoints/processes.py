"""`serve --workers N`: N API processes, each accepting connections on a listening socket of its own.

uvicorn's own `--workers` share one listening socket, and whichever process wakes first takes
each new connection: long-lived keep-alive connections (scanner stations, scripts, the pages'
websockets) pile up on one process while the others idle. Measured with `bench http`: all 8
clients' connections on one of two processes. Here each process listens on its own socket with
SO_REUSEPORT, and the kernel spreads new connections across them (by a hash of the client's
address and port).

The parent watches: it restarts a process that dies, and on SIGTERM or SIGINT stops them all
(each finishes the requests it is answering, as uvicorn does). It can also run work of its own
alongside them (`serve` keeps the read model up to date there).
"""

from __future__ import annotations

import errno
import multiprocessing
import signal
import socket
import sys
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
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _serve(app: str, host: str, port: int, options: dict[str, Any]) -> None:
    """One API process (in a child): its own socket, then uvicorn until it is told to stop."""
    config = uvicorn.Config(app, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


def serve_processes(app: str, host: str, port: int, workers: int,
                    alongside: Callable[[], Callable[[], None]] | None = None, **options: Any) -> None:
    """Run `workers` API processes until SIGTERM or SIGINT; a process that dies is started again.
    `alongside` starts work in this process for as long as they run, and returns how to stop it."""
    check_port_free(host, port)
    spawn = multiprocessing.get_context("spawn")
    stopping: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, _frame: stopping.append(number))
                for sig in (signal.SIGTERM, signal.SIGINT)}

    def start() -> Any:
        process = spawn.Process(target=_serve, args=(app, host, port, options), daemon=False)
        process.start()
        return process

    stop_alongside = alongside() if alongside else None
    processes = [start() for _ in range(workers)]
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
                processes[n], started[n] = start(), time.monotonic()
    finally:
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
