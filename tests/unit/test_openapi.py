"""docs/openapi.yaml is current and covers every route the app serves."""

import yaml

from scripts.openapi import TARGET, render


def test_committed_openapi_document_is_up_to_date():
    assert TARGET.read_text() == render(), "run: python -m scripts.openapi"


def test_every_route_is_documented_and_nothing_else(app):
    documented = {(path, method.upper())
                  for path, ops in yaml.safe_load(TARGET.read_text())["paths"].items()
                  for method in ops}
    served = {(path, method) for path, entries in app.routes.items() for method in entries}
    assert documented == served
