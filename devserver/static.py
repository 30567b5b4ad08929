"""The static frontend, plus the `config.js` a deploy would write next to it.

`config.js` is generated per request from the Host the browser used, so the page works
however it was reached (localhost, 127.0.0.1, a LAN address with HOST=0.0.0.0); with
PARLEY_ICE_POLICY its `rtc` carries the pages' `iceTransportPolicy`. Nothing is written
into frontend/. Responses carry the security headers CloudFront adds in AWS
(infra/parley.yaml, SecurityHeadersPolicy), so a page that would break under that CSP
breaks here first; files are `Cache-Control: no-cache`, so an edit shows on reload. Text
(HTML, JavaScript, CSS, SVG, JSON, YAML) is sent gzip-compressed to a browser that accepts
gzip, as CloudFront does (`Compress: true`): the frontend's size budget is what goes over the
wire compressed (harness/frontend_size.py).
`/openapi.yaml` is the committed docs/openapi.yaml, served as it is (no YAML parser here).
"""

import json
import mimetypes
from pathlib import Path

from aiohttp import web

# ES modules must come with a JavaScript type; some systems' mime tables lack these.
for _type, _ext in (("text/javascript", ".js"), ("text/javascript", ".mjs"), ("text/css", ".css"),
                    ("image/svg+xml", ".svg"), ("application/json", ".json"),
                    ("application/manifest+json", ".webmanifest")):
    mimetypes.add_type(_type, _ext)

COMPRESSED = ("text/", "image/svg+xml", "application/json", "application/manifest+json",
              "application/yaml")
OPENAPI = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"


def security_headers(ws_origin: str, upload_origin: str | None = None) -> dict:
    """CloudFront's response headers policy, with this server as the API origin and
    `upload_origin` (the embedded S3, where pages upload files to play) as the bucket."""
    connect = " ".join(o for o in ("'self'", ws_origin, upload_origin) if o)
    csp = "; ".join([
        "default-src 'self'", "script-src 'self'", "style-src 'self'",
        "img-src 'self' data: blob:", "media-src 'self' blob:", "font-src 'self'",
        f"connect-src {connect}", "object-src 'none'", "base-uri 'none'",
        "form-action 'none'", "frame-ancestors 'none'",
    ])
    return {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
            "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self), "
                                  "geolocation=()"}


class Frontend:
    def __init__(self, root: Path, api_path: str = "/api", ws_path: str = "/ws",
                 openapi: Path = OPENAPI, ice_policy: str | None = None,
                 upload_origin: str | None = None):
        self.root = root.resolve()
        self._upload_origin = upload_origin
        self._api_path = api_path
        self._ws_path = ws_path
        self._openapi = openapi
        self._ice_policy = ice_policy

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register last: the file route matches every path not taken before it."""
        router.add_get("/config.js", self.config_js)
        router.add_get("/openapi.yaml", self.openapi)
        router.add_get("/{path:.*}", self.file)

    @staticmethod
    def _ws_origin(request: web.Request) -> str:
        return f"{'wss' if request.secure else 'ws'}://{request.host}"

    def _headers(self, request: web.Request) -> dict:
        return security_headers(self._ws_origin(request), self._upload_origin)

    async def config_js(self, request: web.Request) -> web.Response:
        config = {"apiUrl": self._api_path, "wsUrl": self._ws_origin(request) + self._ws_path}
        if self._ice_policy:  # RTCConfiguration members the pages add to their own
            config["rtc"] = {"iceTransportPolicy": self._ice_policy}
        return web.Response(text=f"export default {json.dumps(config)};\n",
                            content_type="text/javascript",
                            headers={"Cache-Control": "no-store",
                                     **self._headers(request)})

    async def openapi(self, request: web.Request) -> web.StreamResponse:
        return self._send(request, self._openapi, "application/yaml")

    async def file(self, request: web.Request) -> web.StreamResponse:
        path = (self.root / request.match_info["path"]).resolve()
        if path.is_dir():
            path = path / "index.html"
        if not path.is_relative_to(self.root):
            path = None
        return self._send(request, path)

    def _send(self, request: web.Request, path: Path | None,
              kind: str | None = None) -> web.StreamResponse:
        """The file with the security headers, or 404 when there is none."""
        headers = self._headers(request)
        if path is None or not path.is_file():
            return web.Response(status=404, text="Not found\n", headers=headers)
        kind = kind or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers.update({"Content-Type": kind, "Cache-Control": "no-cache"})
        if not kind.startswith(COMPRESSED):
            return web.FileResponse(path, headers=headers)
        headers["Vary"] = "Accept-Encoding"
        response = web.Response(body=path.read_bytes(), headers=headers)
        if "gzip" in request.headers.get("Accept-Encoding", "").lower():
            response.enable_compression(web.ContentCoding.gzip)  # aiohttp would pick deflate
        return response
