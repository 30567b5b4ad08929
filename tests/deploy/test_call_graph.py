"""The reading of app.py and chalicelib that the per-function policies are checked with."""

import textwrap

import pytest

from tests.deploy.call_graph import MODULE_CODE, CallGraph

PROJECT = {
    "app.py": """
        from chalice import Chalice
        from chalicelib import jobs, web
        from chalicelib.errors import wrap

        app = Chalice(app_name="x")
        app.register_middleware(wrap(app), "http")

        @app.route("/")
        def index():
            return web.page(app.current_request)

        @app.schedule("rate(1 hour)")
        def nightly(event):
            return jobs.run(jobs.Runner())
    """,
    "chalicelib/__init__.py": "",
    "chalicelib/errors.py": """
        def wrap(app):
            def middleware(event, get_response):
                return audit(get_response(event))
            return middleware

        def audit(response):
            return response
    """,
    "chalicelib/web.py": """
        from . import kinds
        from .store import load

        def page(request):
            kinds.create(request)
            return load(request.query_params["id"])

        def unused():
            return "never reached"
    """,
    "chalicelib/store.py": """
        TABLE = "t"

        def load(key):
            return {"key": key}
    """,
    "chalicelib/kinds.py": """
        class Store:
            def __init__(self, kind):
                self.kind = kind

            def create(self, item):
                return item

            def erase(self, item):
                return item

        store = Store("one")
        create = store.create
        erase = store.erase
    """,
    "chalicelib/jobs.py": """
        from . import store

        class Runner:
            def __init__(self):
                self.started = True

            def step(self):
                return store.TABLE

        def run(runner):
            return runner.step()
    """,
}


@pytest.fixture
def graph(tmp_path):
    for name, text in PROJECT.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    return CallGraph(tmp_path)


def names(found):
    return {f"{d.module}.{d.name}" for d in found if d.name != MODULE_CODE}


def test_a_handler_reaches_imported_functions_and_not_the_rest(graph):
    reached = names(graph.reachable(["index"], "http"))
    assert {"app.index", "chalicelib.web.page", "chalicelib.store.load"} <= reached
    assert "chalicelib.web.unused" not in reached
    assert "chalicelib.jobs.run" not in reached


def test_http_middleware_runs_in_the_rest_function_only(graph):
    assert {"chalicelib.errors.wrap", "chalicelib.errors.audit"} <= names(
        graph.reachable(["index"], "http"))
    assert "chalicelib.errors.audit" not in names(graph.reachable(["nightly"], "scheduled"))


def test_a_method_called_on_an_unknown_object_reaches_every_method_of_that_name(graph):
    reached = names(graph.reachable(["nightly"], "scheduled"))
    assert {"chalicelib.jobs.run", "chalicelib.jobs.Runner.__init__",
            "chalicelib.jobs.Runner.step"} <= reached


def test_a_module_level_alias_of_a_method_reaches_it_only_where_it_is_used(graph):
    rest = names(graph.reachable(["index"], "http"))
    nightly = names(graph.reachable(["nightly"], "scheduled"))
    assert "chalicelib.kinds.Store.create" in rest
    assert "chalicelib.kinds.Store.erase" not in rest
    assert not {"chalicelib.kinds.Store.create", "chalicelib.kinds.Store.erase"} & nightly
    assert "chalicelib.kinds.Store.__init__" in nightly  # `store = Store(...)` does run


def test_module_level_code_of_every_module_counts_for_every_function(graph):
    found = graph.reachable(["nightly"], "scheduled")
    code = {d.module: d.source for d in found if d.name == MODULE_CODE}
    assert 'TABLE = "t"' in code["chalicelib.store"]


def test_the_handlers_of_app_py_are_listed_and_an_unknown_one_is_an_error(graph):
    assert graph.handler_names() == {"index", "nightly"}
    with pytest.raises(KeyError):
        graph.reachable(["missing"], "http")
