"""The static site in its S3 bucket behind CloudFront: `config.js`, the upload of
`frontend/` with content types and cache headers, emptying the bucket, and the
CloudFront invalidation."""

import json
import mimetypes
import time
import uuid
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
SHORT_CACHE = "public, max-age=300"  # file names carry no content hash


def content_type(key: str) -> str:
    suffix = Path(key).suffix.lower()
    return _TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def cache_control(key: str) -> str:
    """Entry points and the generated config must never be stale; the rest briefly."""
    if key == "config.js" or key.endswith(".html"):
        return NO_CACHE
    return SHORT_CACHE


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


def upload_site(s3, bucket: str, frontend_dir: Path, config: str) -> list[str]:
    """Publish frontend/ and config.js; remove objects no longer in frontend/."""
    bodies = {key: path.read_bytes() for key, path in site_files(frontend_dir).items()}
    bodies["config.js"] = config.encode()
    for key, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type(key),
                      CacheControl=cache_control(key))
    stale = [key for key in list_keys(s3, bucket) if key not in bodies]
    delete_keys(s3, bucket, stale)
    return sorted(bodies)


def list_keys(s3, bucket: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys


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
