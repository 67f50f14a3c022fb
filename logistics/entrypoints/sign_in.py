"""Signing in with a password, throttled and with a bounded cost.

A password check is argon2 with 19 MiB of memory (accounts.py); unbounded, 40 concurrent wrong
passwords took the server 1.7-2.0 GiB and /health up to 1.9 s. Here at most `slots` checks run at
once per process (the event loop waits for a slot, no thread is held meanwhile), the slots sized
from the memory available; past 8 waiting per slot a sign-in is answered 503 at once. An account
or address that failed too often waits (sign_in_throttle.py) without any hash being computed.
"""

from __future__ import annotations

import asyncio
import math
import os
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from logistics.adapters.accounts import HASH_MEMORY, Account, Accounts

MEMORY_SHARE = 8  # password checks may use at most an eighth of the memory available at start
QUEUE_PER_SLOT = 8


def available_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def hash_slots(memory: int | None = None, cpus: int | None = None) -> int:
    """How many password checks may run at once: no more than the cores (each is all CPU), nor than
    fit in MEMORY_SHARE of the memory available; at least one."""
    memory = available_memory() if memory is None else memory
    cpus = (os.cpu_count() or 1) if cpus is None else cpus
    return max(1, min(cpus, memory // MEMORY_SHARE // HASH_MEMORY))


@dataclass(frozen=True)
class Wait:
    seconds: int
    message: str
    status: int = 429


class SignInGate:
    def __init__(self, accounts: Accounts, slots: int | None = None):
        self.accounts = accounts
        self.slots = slots or hash_slots()
        self.running = asyncio.Semaphore(self.slots)
        self.waiting = 0

    async def sign_in(self, username: str, password: str, client: str) -> Account | Wait | None:
        """The account, None for a wrong username or password, or a Wait (throttled or busy)."""
        throttle = self.accounts.throttle
        wait = await run_in_threadpool(throttle.wait, username, client)
        if wait > 0:
            seconds = math.ceil(wait)
            return Wait(seconds, f"Too many failed sign-ins for this account or from your address: try again in "
                                 f"{seconds} s. Ask the facility's user office if you forgot your password.")
        if self.waiting >= self.slots * QUEUE_PER_SLOT:
            return Wait(1, "The server is busy signing others in: try again in a second.", status=503)
        self.waiting += 1
        try:
            async with self.running:
                account = await run_in_threadpool(self.accounts.verify_password, username, password)
        finally:
            self.waiting -= 1
        if account is None:
            await run_in_threadpool(throttle.failed, username, client)
        else:
            await run_in_threadpool(throttle.succeeded, username, client)
        return account
