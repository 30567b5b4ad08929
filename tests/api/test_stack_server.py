"""The local stack as a newcomer meets it: one port with the site, the API and a health
check, and a clear refusal when the port is taken."""

import json
import subprocess
import sys

import yaml

from harness.stack import ROOT, stack_env

from .stack_client import Rest, fetch


def test_health_reports_ok_and_the_embedded_data_store(stack):
    status, headers, body = fetch(stack.url + "/health")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    health = json.loads(body)
    assert health["ok"] is True
    assert health["dataStore"]["kind"] == "embedded"
    assert health["dataStore"]["reachable"] is True
    assert health["streams"] and all(s["healthy"] for s in health["streams"])


def test_the_site_is_served_with_a_generated_config(stack):
    status, headers, body = fetch(stack.url + "/config.js")
    assert status == 200
    assert headers["Content-Type"].startswith("text/javascript")
    assert body.decode().strip() == (
        'export default {"apiUrl": "/api", "wsUrl": "' + stack.ws + '"};')
    assert not (ROOT / "frontend" / "config.js").exists()  # generated, never written

    status, headers, body = fetch(stack.url + "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_the_openapi_document_is_served_as_committed(stack):
    status, headers, body = fetch(stack.url + "/openapi.yaml")
    assert status == 200
    assert headers["Content-Type"].startswith("application/yaml")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert body == (ROOT / "docs" / "openapi.yaml").read_bytes()
    document = yaml.safe_load(body)
    assert document["openapi"].startswith("3.")
    assert "/meetings" in document["paths"]


def test_paths_outside_the_frontend_are_not_served(stack):
    assert fetch(stack.url + "/../app.py")[0] == 404
    assert fetch(stack.url + "/%2e%2e/app.py")[0] == 404
    assert fetch(stack.url + "/no-such-file.js")[0] == 404


def test_rest_answers_with_the_apps_own_status_and_error_shape(stack):
    rest = Rest(stack.api)
    created = rest.create("Lookup", passcode="blue-heron")
    reply = rest.call("GET", f"/meetings/{created['meeting']['id']}")
    assert reply.status == 200
    assert reply.json["meeting"]["hasPasscode"] is True

    missing = rest.call("GET", "/meetings/AAAAAAAAAAAAAAAA")
    assert missing.status == 404
    assert missing.json["error"]["code"] == "meeting_not_found"

    refused = rest.call("POST", f"/meetings/{created['meeting']['id']}/join", {"name": "Eve"})
    assert refused.status == 401
    assert refused.json["error"]["code"] == "passcode_required"


def test_an_unknown_api_path_answers_in_the_apps_error_shape(stack):
    for method in ("GET", "POST"):
        status, headers, body = fetch(stack.api + "/no/such/route", method, b"{}",
                                      {"Authorization": "Bearer x"})
        assert status == 404
        assert json.loads(body)["error"]["code"] == "not_found"


def test_path_parameters_reach_the_app_decoded(stack):
    rest = Rest(stack.api)
    mid = rest.create("Decoding")["meeting"]["id"]
    encoded = "".join(f"%{b:02X}" for b in mid.encode())
    reply = rest.call("GET", f"/meetings/{encoded}")
    assert reply.status == 200
    assert reply.json["meeting"]["id"] == mid


def test_a_busy_port_is_refused_with_a_clear_message(stack):
    result = subprocess.run([sys.executable, "-m", "devserver"], cwd=ROOT,
                            env=stack_env(stack.port), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert f"port {stack.port} on 127.0.0.1 is already in use" in result.stderr
    assert f"PORT={stack.port + 1} make run" in result.stderr


def test_odd_characters_in_a_path_still_get_the_apps_json_error(stack):
    for path in ("/meetings/%0A", "/meetings/%F0%9F%99%82", "/meetings/a%2Fb"):
        status, headers, body = fetch(stack.api + path)
        assert 400 <= status < 500, path
        assert headers["Content-Type"].startswith("application/json"), path
        assert "error" in json.loads(body), path
