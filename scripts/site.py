"""The static site in its S3 bucket behind CloudFront: `config.js`, the upload of
`frontend/` with content types and cache headers, emptying the bucket, and the
CloudFront invalidation.

Every file but the HTML pages is published under a folder named after the content of the
whole site, `v/<version>/` (`config.js` included), and cached by browsers for a year:
a deploy never changes a file a browser may hold, so a page cannot load a mix of old and
new modules. `index.html` stays at the root, uncached, with its references pointing into
the current version. The frontend's own references are all relative (ES module imports,
`import()`, `new URL(..., import.meta.url)`), so they stay inside the version a page
started with; an earlier version is kept a week after it was replaced, for pages still
open that load a module on demand. The local stack serves frontend/ as it is.
"""

import hashlib
import itertools
import json
import mimetypes
import posixpath
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from botocore.exceptions import ClientError

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".woff2": "font/woff2",
}
NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"  # a versioned file never changes
VERSIONS = "v/"  # v/<version>/js/main.js
KEEP_REPLACED = timedelta(days=7)  # a page stays open a meeting long; tokens last 12 h
# src="..." / href='...' / src=unquoted in HTML
_REFERENCE = re.compile(r"""(\b(?:src|href)\s*=\s*)("[^"]*"|'[^']*'|[^\s"'=<>`]+)""",
                        re.IGNORECASE)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def content_type(key: str) -> str:
    suffix = Path(key).suffix.lower()
    return _TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def cache_control(key: str) -> str:
    """Versioned files for a year; the pages, which name the current version, never."""
    return IMMUTABLE if key.startswith(VERSIONS) else NO_CACHE


def config_js(api_url: str, ws_url: str) -> str:
    return (f"export default {{apiUrl: {json.dumps(api_url)}, "
            f"wsUrl: {json.dumps(ws_url)}}};\n")


def site_files(frontend_dir: Path) -> dict[str, Path]:
    """Files to publish by key; dotfiles and a local config.js are not published."""
    files = {}
    for path in sorted(frontend_dir.rglob("*")):
        key = path.relative_to(frontend_dir).as_posix()
        if not path.is_file() or any(part.startswith(".") for part in key.split("/")):
            continue
        if key == "config.js":
            continue
        files[key] = path
    return files


def site_version(assets: dict[str, bytes]) -> str:
    """A name for this exact set of files: any change to any of them changes it."""
    digest = hashlib.sha256()
    for key in sorted(assets):
        digest.update(f"{key}\0{len(assets[key])}\0".encode())
        digest.update(assets[key])
    return digest.hexdigest()[:16]


def point_into(page_key: str, html: str, prefix: str, assets: set[str]) -> str:
    """The page with each src/href that names one of `assets` pointing under `prefix`."""
    here = posixpath.dirname(page_key)

    def rewrite(match: re.Match) -> str:
        raw = match.group(2)
        quote = raw[0] if raw[0] in "\"'" else ""
        value = raw[1:-1] if quote else raw
        cut = re.search(r"[?#]", value)
        path, tail = (value[:cut.start()], value[cut.start():]) if cut else (value, "")
        if not path or path.startswith("/") or _SCHEME.match(path):
            return match.group(0)
        key = posixpath.normpath(posixpath.join(here, path))
        if key not in assets:
            return match.group(0)
        moved = posixpath.relpath(prefix + key, here or ".")
        return f"{match.group(1)}{quote}{moved}{tail}{quote}"

    return _REFERENCE.sub(rewrite, html)


def versioned_site(frontend_dir: Path, config: str) -> tuple[str, dict[str, bytes]]:
    """(version, {key: body}): the pages at their own keys, everything else (config.js
    included) under v/<version>/."""
    files = {key: path.read_bytes() for key, path in site_files(frontend_dir).items()}
    files["config.js"] = config.encode()
    pages = {key: body for key, body in files.items() if key.endswith(".html")}
    assets = {key: body for key, body in files.items() if key not in pages}
    version = site_version(assets)
    prefix = f"{VERSIONS}{version}/"
    bodies = {prefix + key: body for key, body in assets.items()}
    for key, body in pages.items():
        bodies[key] = point_into(key, body.decode(), prefix, set(assets)).encode()
    return version, bodies


def upload_site(s3, bucket: str, frontend_dir: Path, config: str,
                now: datetime | None = None) -> list[str]:
    """Publish frontend/ and config.js as a new version, then the pages that point at it;
    remove other files and versions replaced more than KEEP_REPLACED ago."""
    version, bodies = versioned_site(frontend_dir, config)
    pages = [key for key in bodies if not key.startswith(VERSIONS)]
    for key in [k for k in bodies if k not in pages] + pages:  # never a page before its files
        s3.put_object(Bucket=bucket, Key=key, Body=bodies[key], ContentType=content_type(key),
                      CacheControl=cache_control(key))
    objects = list_objects(s3, bucket)
    kept = versions_to_keep(objects, version, now or datetime.now(UTC))
    stale = [obj["Key"] for obj in objects
             if obj["Key"] not in bodies and _version_of(obj["Key"]) not in kept]
    delete_keys(s3, bucket, stale)
    return sorted(bodies)


def _version_of(key: str) -> str | None:
    if not key.startswith(VERSIONS) or key.count("/") < 2:
        return None
    return key[len(VERSIONS):].split("/", 1)[0]


def versions_to_keep(objects: list[dict], current: str, now: datetime) -> set[str]:
    """The current version and those replaced less than KEEP_REPLACED ago.

    A version was published when its newest file was written, and replaced when the
    next version was published; the one before the current version is replaced `now`.
    """
    published: dict[str, datetime] = {}
    for obj in objects:
        version = _version_of(obj["Key"])
        if version is not None:
            published[version] = max(published.get(version, obj["LastModified"]),
                                     obj["LastModified"])
    history = sorted((at, v) for v, at in published.items() if v != current)
    history.append((now, current))
    kept = {current}
    for (_, version), (replaced_at, _) in itertools.pairwise(history):
        if now - replaced_at < KEEP_REPLACED:
            kept.add(version)
    return kept


def list_objects(s3, bucket: str) -> list[dict]:
    objects = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        objects.extend(page.get("Contents", []))
    return objects


def list_keys(s3, bucket: str) -> list[str]:
    return [obj["Key"] for obj in list_objects(s3, bucket)]


def delete_keys(s3, bucket: str, keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start:start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})


def empty_bucket(s3, bucket: str) -> int:
    """Delete every object of the bucket; return how many there were."""
    try:
        keys = list_keys(s3, bucket)
    except ClientError as err:
        if err.response["Error"]["Code"] == "NoSuchBucket":
            return 0
        raise
    delete_keys(s3, bucket, keys)
    return len(keys)


def invalidate(cloudfront, distribution_id: str) -> str:
    """Invalidate everything (one path, so it counts once against the free 1,000/month)."""
    result = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]},
                           "CallerReference": f"parley-{time.time_ns()}-{uuid.uuid4().hex}"},
    )
    return result["Invalidation"]["Id"]
