"""Where recordings are stored (S3) and the links that let a moderator download them.

The recording bot uploads under `recordings/<mid>/<rid>/` of PARLEY_RECORDINGS_BUCKET;
the server only signs GET links to those keys (presigned, one hour), so the bucket stays
private and the function needs nothing but s3:GetObject on that prefix. Signing is local
(no call to S3), with the function's own credentials.
"""

from functools import lru_cache

from .config import Settings, settings

PREFIX = "recordings/"
LINK_SECONDS = 3600


def key_prefix(mid: str, rid: str) -> str:
    """Where the files of recording `rid` of meeting `mid` are kept in the bucket."""
    return f"{PREFIX}{mid}/{rid}/"


def _attachment(file: str) -> str:
    """A Content-Disposition naming the file (quotes and backslashes dropped)."""
    name = "".join(c for c in file if c not in '"\\') or "recording"
    return f'attachment; filename="{name}"'


def s3_client(s: Settings):
    """An S3 client that signs with SigV4 (presigned links and POSTs need it). In AWS its
    links name the bucket's regional host (`<bucket>.s3.<region>.amazonaws.com`, which
    the site's CSP lets pages upload to); another S3
    (the local stack's) is addressed by path: a bucket name cannot be a subdomain of
    127.0.0.1."""
    import boto3
    from botocore.config import Config

    style = "path" if s.s3_endpoint else "virtual"
    return boto3.client("s3", region_name=s.region, endpoint_url=s.s3_endpoint,
                        config=Config(signature_version="s3v4",
                                      s3={"addressing_style": style,
                                          "us_east_1_regional_endpoint": "regional"}))


class Downloads:
    """Presigned GET links to stored files; `url` is None without a bucket."""

    def __init__(self, s: Settings):
        self._settings = s
        self._client = None

    def _s3(self):
        if self._client is None:
            self._client = s3_client(self._settings)
        return self._client

    def url(self, key: str, file: str) -> str | None:
        bucket = self._settings.recordings_bucket
        if not bucket or not key.startswith(PREFIX):
            return None
        return self._s3().generate_presigned_url(
            "get_object", ExpiresIn=LINK_SECONDS,
            Params={"Bucket": bucket, "Key": key,
                    "ResponseContentDisposition": _attachment(file)})


@lru_cache(maxsize=1)
def downloads() -> Downloads:
    """The process-wide signer (its S3 client is made once, on first use)."""
    return Downloads(settings())
