"""The edge every HTTP request and websocket passes first: size limits, browser defences, headers.

* A request body over the limit is refused with 413 before it is read: at once when its
  Content-Length says so, else as soon as the bytes received pass the limit (a chunked body).
  The spreadsheet upload (`POST /import`) has a limit of its own.
* A state change that a browser could have been tricked into sending (any method but GET, HEAD
  and OPTIONS, and every websocket, that does not bear an API token) must come from the tracker's
  own origin: a foreign `Origin` (another site, another port, a sibling host, or `null`) is
  refused with 403. SameSite=Lax cookies alone do not separate same-site origins. A request
  without Origin and Sec-Fetch-Site is not a browser's (browsers send Origin with every POST)
  and is let through: it has no ambient cookie to abuse unless it was given one.
* Every response carries a Content-Security-Policy without inline script (an inline script the
  pages need carries the request's nonce: `<script nonce="{{ csp_nonce }}">`), frame-ancestors
  'none', nosniff and a Referrer-Policy.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIB = 1024 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
UPLOAD_PATHS = ("/import",)
# GraphiQL (strawberry's page at GET /graphql, its files served from static/graphiql/) runs an inline script:
# its policy only forbids framing and plugins.
GRAPHIQL_POLICY = b"frame-ancestors 'none'; object-src 'none'; base-uri 'none'"


def _policy(nonce: str) -> bytes:
    return (f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'").encode()


@dataclass(frozen=True)
class Settings:
    max_body: int = 4 * MIB  # a GraphQL request: the largest real one (a sample's attributes) is a few KiB
    max_upload: int = 16 * MIB  # a spreadsheet of contents: a full 96-well plate's XLSX is about 20 KiB
    base_url: str | None = None  # the public origin behind a proxy; the request's own Host is always accepted
    cookie_secure: bool = False
    hash_slots: int | None = None  # password checks at once; None: sized from the memory (sign_in.hash_slots)

    @classmethod
    def from_environment(cls) -> "Settings":
        return cls(max_body=_size("LOGISTICS_MAX_BODY", cls.max_body),
                   max_upload=_size("LOGISTICS_MAX_UPLOAD", cls.max_upload),
                   base_url=os.environ.get("LOGISTICS_BASE_URL") or None,
                   cookie_secure=_flag("LOGISTICS_COOKIE_SECURE"))


def _size(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip().lower()
    if not text:
        return default
    factor = MIB if text.endswith("m") or text.endswith("mib") else 1024 if text.endswith("k") or text.endswith("kib") else 1
    number = text.rstrip("mkib")
    if not number.isdigit() or int(number) <= 0:
        raise ValueError(f"{name}={text!r} is not a size: give bytes, or e.g. 4MiB or 512KiB")
    return int(number) * factor


def _flag(name: str) -> bool:
    text = os.environ.get(name, "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name}={text!r} is not a yes or no: give 1 or 0")


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope["headers"] if key == name), None)


def _size_text(n: int) -> str:
    return f"{n / MIB:g} MiB" if n >= MIB else f"{n / 1024:g} KiB" if n >= 1024 else f"{n} bytes"


class TooLarge(Exception):
    pass


class Guard:
    def __init__(self, app: ASGIApp, settings: Settings):
        self.app, self.settings = app, settings
        self.own_origins = frozenset(o for o in [_origin(settings.base_url)] if o)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            refusal = self.foreign(scope)
            if refusal:
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 4403, "reason": refusal[:120]})
                return
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.foreign(scope) if scope["method"] not in SAFE_METHODS else None
        if refusal:
            await _refuse(send, 403, refusal)
            return
        limit = self.settings.max_upload if scope["path"] in UPLOAD_PATHS else self.settings.max_body
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, 413 if declared.isdigit() else 400,
                          self.too_large(limit) if declared.isdigit() else "the Content-Length header is not a number")
            return
        if scope["path"] == "/graphql":  # JSON, or GraphiQL's page, which runs no inline script: no nonce
            policy = GRAPHIQL_POLICY
        else:
            scope.setdefault("state", {})["csp_nonce"] = nonce = secrets.token_urlsafe(16)
            policy = _policy(nonce)
        received, started, exceeded = 0, False, False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    return {"type": "http.disconnect"}  # the app stops reading; the answer is ours
            return message

        async def with_headers(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # whatever the app says about the cut-off body, the client hears 413
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = _add_headers(message.get("headers", []), policy)
            await send(message)

        try:
            await self.app(scope, counted if declared is None else receive, with_headers)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _refuse(send, 413, self.too_large(limit))

    def too_large(self, limit: int) -> str:
        upload = limit == self.settings.max_upload
        return (f"the request body is larger than {_size_text(limit)}, the most this server accepts"
                + (" for a spreadsheet upload" if upload else "")
                + ": send less, or ask the operator to raise " + ("LOGISTICS_MAX_UPLOAD" if upload else "LOGISTICS_MAX_BODY"))

    def foreign(self, scope: Scope) -> str | None:
        """Why a request may have been sent by another site's page, or None."""
        authorization = _header(scope, b"authorization") or b""
        if authorization[:7].lower() == b"bearer ":
            return None  # a script's or station's token: no browser adds it by itself
        origin = _header(scope, b"origin")
        if origin is None:
            site = _header(scope, b"sec-fetch-site")
            if site in (b"cross-site", b"same-site"):
                return ("this request came from another site's page (Sec-Fetch-Site: " + site.decode() +
                        "): changes are accepted only from the tracker's own pages")
            return None
        text = origin.decode("latin-1").strip().lower()
        host = (_header(scope, b"host") or b"").decode("latin-1").strip().lower()
        if text != "null" and (urlsplit(text).netloc == host or text in self.own_origins):
            return None
        return (f"this request came from another site's page (Origin {text}): changes are accepted only from "
                "the tracker's own pages; scripts send an API token instead")


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url.strip().lower())
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _add_headers(headers: Iterable[tuple[bytes, bytes]], policy: bytes) -> list[tuple[bytes, bytes]]:
    headers = list(headers)
    present = {name.lower() for name, _ in headers}
    for name, value in ((b"content-security-policy", policy), (b"x-frame-options", b"DENY"),
                        (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")):
        if name not in present:
            headers.append((name, value))
    return headers


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": _add_headers([(b"content-type", b"application/json"),
                                         (b"content-length", str(len(body)).encode()),
                                         *([(b"connection", b"close")] if status == 413 else [])],
                                        _policy("-"))})
    await send({"type": "http.response.body", "body": body})

