"""The site's security headers on the local stack (the CloudFront policy of infra/parley.yaml)
and CORS on the API: limited to the configured site origin, on successes, errors and
preflights alike."""

import gzip
import re

import pytest

from .conftest import SITE_ORIGIN, request

SITE_PATHS = ["/", "/index.html", "/config.js", "/js/main.js", "/js/room.js", "/css/app.css",
              "/img/icon.svg", "/openapi.yaml", "/no-such-file"]


def _csp(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in filter(None, (p.strip() for p in header.split(";"))):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("path", SITE_PATHS)
def test_every_site_response_carries_the_security_headers(stack, path):
    reply = request(stack.url + path)
    assert reply.status == (404 if path == "/no-such-file" else 200)
    headers = reply.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    csp = _csp(headers["content-security-policy"])
    scripts = csp.get("script-src", csp["default-src"])
    assert scripts == ["'self'"]
    assert not any(v in ("'unsafe-inline'", "'unsafe-eval'", "data:", "*") for v in scripts)
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    (s3,) = [o for o in csp["connect-src"] if o.startswith("http://127.0.0.1:")]  # uploads
    assert csp["connect-src"] == ["'self'", f"ws://127.0.0.1:{stack.port}", s3]


@pytest.mark.parametrize("path, kind", [("/js/main.js", "text/javascript"),
                                        ("/config.js", "text/javascript"),
                                        ("/css/app.css", "text/css"), ("/", "text/html")])
def test_scripts_and_styles_have_their_exact_type_so_nosniff_lets_them_load(stack, path, kind):
    assert request(stack.url + path).headers["content-type"].split(";")[0] == kind


def test_the_page_loads_no_inline_script_the_csp_would_block(stack):
    html = request(stack.url + "/").body.decode()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+\s*=", html)  # no inline event handlers either


# --- CORS -------------------------------------------------------------------------------

def _cors_ok(reply, origin=SITE_ORIGIN) -> None:
    assert reply.headers.get("access-control-allow-origin") == origin, (reply.status,
                                                                        reply.headers)


def test_the_shared_stack_without_a_configured_origin_allows_any(stack):
    """Unconfigured (the local default), the API answers any origin: `*`."""
    reply = request(stack.api + "/meetings/unknown1", headers={"Origin": "https://a.example"})
    assert reply.headers["access-control-allow-origin"] == "*"


def test_cors_names_only_the_configured_site_origin_on_every_answer(limited_stack):
    api = limited_stack.api
    evil = {"Origin": "https://evil.example"}
    created = request(api + "/meetings", "POST", {"name": "CORS"}, headers=evil)
    assert created.status == 201
    _cors_ok(created)
    mid = created.json["meeting"]["id"]
    assert "retry-after" in created.headers["access-control-expose-headers"].lower()

    for method, path in [("POST", "/meetings"), ("GET", f"/meetings/{mid}"),
                         ("POST", f"/meetings/{mid}/join"), ("POST", f"/meetings/{mid}/tickets"),
                         ("GET", f"/meetings/{mid}/tickets"), ("DELETE", f"/meetings/{mid}"),
                         ("PATCH", f"/meetings/{mid}/participants/me")]:
        preflight = request(api + path, "OPTIONS", headers={
            **evil, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert preflight.status == 200, (path, preflight.status)
        _cors_ok(preflight)
        assert method in preflight.headers["access-control-allow-methods"].split(",")
        allowed = preflight.headers["access-control-allow-headers"].lower().split(",")
        assert {"authorization", "content-type"} <= set(allowed)

    # Errors carry the origin too: without it a browser on the site could not read the
    # error (a wrong passcode would look like a network failure).
    errors = [
        request(api + "/meetings/unknown1", headers=evil),                              # 404
        request(api + "/meetings", "POST", {"name": ""}, headers=evil),                  # 400
        request(api + "/meetings", "POST", b"{}", headers={**evil, "Content-Type": "text/plain"}),
        request(api + "/meetings", "POST", b"x" * 70_000, headers=evil),                # 413
        request(api + f"/meetings/{mid}/tickets", headers=evil),                        # 401
        request(api + f"/meetings/{mid}", "PUT", {"x": 1}, headers=evil),               # 405
    ]
    assert [e.status for e in errors] == [404, 400, 415, 413, 401, 405]
    for reply in errors:
        assert reply.error_code
        _cors_ok(reply)


@pytest.mark.parametrize("path", ["/", "/js/main.js", "/css/app.css", "/img/icon.svg"])
def test_text_is_sent_gzip_compressed_to_a_browser_that_accepts_it(stack, path):
    plain = request(stack.url + path)
    packed = request(stack.url + path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["vary"]
    assert len(packed.body) < len(plain.body)
    assert gzip.decompress(packed.body) == plain.body
