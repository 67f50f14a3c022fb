"""GraphiQL without the internet: strawberry's GraphiQL page, its scripts and styles served from
this package instead of a public CDN.

Facility networks are often closed: strawberry's page loads React, GraphiQL and the explorer
plugin from unpkg.com and, without it, shows "Loading…" for ever. The files it asks for are kept
in `static/graphiql/<package>@<version>/<path>` (fetched once from the npm registry by
`python -m logistics.entrypoints.graphiql refresh`), and the page is strawberry's own with each
`https://unpkg.com/<package>@<version>/<path>` pointed at that copy. The page's `integrity`
attributes stay as strawberry wrote them, so the browser itself checks that each copy is the
exact file strawberry pinned; `VERSIONS.json` beside the copies records versions, hashes and
licences. When an upgrade of strawberry asks for other versions, `tests/api/test_graphiql_offline.py`
fails until the copies are refreshed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from strawberry.http.ides import get_graphql_ide_html

HERE = Path(__file__).resolve().parent
VENDORED = HERE / "static" / "graphiql"
MANIFEST = VENDORED / "VERSIONS.json"
URL_PREFIX = "/static/graphiql/"
# src="https://unpkg.com/react@18.2.0/umd/react.production.min.js", an optional integrity after it
CDN = re.compile(r'https://unpkg\.com/((?:@[\w.-]+/)?[\w.-]+)@([\w.+-]+)/([\w./-]+)')
INTEGRITY = re.compile(r'(?:src|href)="(https://unpkg\.com/[^"]+)"\s+integrity="(sha\d+-[^"]+)"')


def cdn_files(html: str) -> list[tuple[str, str, str]]:
    """(package, version, path) of every file strawberry's page loads from the CDN, in page order."""
    return list(dict.fromkeys(CDN.findall(html)))


@functools.lru_cache(maxsize=1)
def offline_html() -> str:
    """Strawberry's GraphiQL page, loading every file from this server. Refuses to serve a page that
    would still reach the internet (a file strawberry asks for that is not kept here)."""
    html = get_graphql_ide_html("graphiql")
    missing = [f"{p}@{v}/{f}" for p, v, f in cdn_files(html) if not (VENDORED / f"{p}@{v}" / f).is_file()]
    if missing:
        raise RuntimeError("GraphiQL's files are not all kept in " + str(VENDORED) + ": " + ", ".join(missing)
                           + ". Run: python -m logistics.entrypoints.graphiql refresh")
    return CDN.sub(lambda m: f"{URL_PREFIX}{m.group(1)}@{m.group(2)}/{m.group(3)}", html)


def _integrity(data: bytes, algorithm: str) -> str:
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def refresh() -> None:
    """Fetch every file strawberry's page names from the npm registry (`npm pack`, at the pinned
    version), check it against the page's integrity hash, keep it and its package's licence, and
    write VERSIONS.json. Run after upgrading strawberry-graphql."""
    html = get_graphql_ide_html("graphiql")
    integrity = dict(INTEGRITY.findall(html))
    files = cdn_files(html)
    manifest: dict[str, dict] = {}
    VENDORED.mkdir(parents=True, exist_ok=True)
    for old in VENDORED.iterdir():
        if old.is_dir():
            subprocess.run(["rm", "-r", str(old)], check=True)
    with tempfile.TemporaryDirectory() as scratch:
        for number, (package, version) in enumerate(dict.fromkeys((p, v) for p, v, _ in files), 1):
            print(f"[{number}/{len({(p, v) for p, v, _ in files})}] {package}@{version} from the npm registry",
                  file=sys.stderr, flush=True)
            packed = subprocess.run(["npm", "pack", "--silent", "--pack-destination", scratch, f"{package}@{version}"],
                                    check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            with tarfile.open(Path(scratch) / packed) as tar:
                members = {m.name.removeprefix("package/"): m for m in tar.getmembers() if m.isfile()}
                read = lambda name: tar.extractfile(members[name]).read()  # noqa: E731
                meta = json.loads(read("package.json"))
                licence_file = next((n for n in sorted(members) if re.fullmatch(r"(?i)licen[sc]e(\.\w+)?", n)), None)
                entry = {"package": package, "version": version, "licence": meta.get("license"), "files": {}}
                target = VENDORED / f"{package}@{version}"
                for p, v, path in files:
                    if (p, v) != (package, version):
                        continue
                    data = read(path)
                    url = f"https://unpkg.com/{p}@{v}/{path}"
                    if url in integrity:
                        algorithm = integrity[url].split("-", 1)[0]
                        if _integrity(data, algorithm) != integrity[url]:
                            raise SystemExit(f"{url}: the npm registry's file does not match strawberry's integrity "
                                             f"hash {integrity[url]}; not kept")
                    (target / path).parent.mkdir(parents=True, exist_ok=True)
                    (target / path).write_bytes(data)
                    entry["files"][path] = _integrity(data, "sha384")
                if licence_file:
                    (target / "LICENSE").write_bytes(read(licence_file))
                    entry["licence_file"] = "LICENSE"
                manifest[f"{package}@{version}"] = entry
    MANIFEST.write_text(json.dumps({"source": "the npm registry, via `npm pack`, as strawberry-graphql's GraphiQL "
                                              "page pins them", "packages": manifest}, indent=2) + "\n")
    print(f"kept {sum(len(e['files']) for e in manifest.values())} files of {len(manifest)} packages in {VENDORED}",
          file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1:] != ["refresh"]:
        raise SystemExit("usage: python -m logistics.entrypoints.graphiql refresh")
    refresh()
