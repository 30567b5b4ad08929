"""Which code of app.py and chalicelib/ each Lambda function can run, read from the source.

A policy per function is only least privilege if it is known which calls run in which
function. This follows references by name from a handler in app.py through chalicelib,
erring on the side of reaching too much (a grant too many, never one too few):
- `module.name` and imported names resolve to their definition;
- `x.name` on anything else reaches every chalicelib method or property called `name`
  (the type of `x` is not known: a `sender.send(...)` reaches `push.Sender.send`);
- a class called reaches its `__init__` and `__post_init__`;
- a module-level alias (`create = store.create`, `name = other.name`) runs nothing where it
  is bound: a reference to it reaches what the alias names;
- module-level code of every module runs in every function (app.py imports all of it),
  except that middleware runs only in the functions of the kind it is registered for
  (`app.register_middleware(m, "http")`: the REST function).
"""

import ast
from dataclasses import dataclass
from pathlib import Path

MODULE_CODE = "<module>"


@dataclass(frozen=True)
class Definition:
    module: str
    name: str  # `function`, `Class.method`, or MODULE_CODE
    source: str


class CallGraph:
    def __init__(self, root: Path):
        paths = {"app": root / "app.py"}
        paths |= {f"chalicelib.{p.stem}": p for p in sorted((root / "chalicelib").glob("*.py"))}
        self._defs: dict[tuple[str, str], ast.AST] = {}
        self._text: dict[str, str] = {}
        self._imports: dict[str, dict[str, tuple[str, str | None]]] = {}
        self._classes: set[tuple[str, str]] = set()
        self._methods: dict[str, set[tuple[str, str]]] = {}
        self._module_code: dict[str, list[ast.stmt]] = {}
        self._aliases: dict[tuple[str, str], ast.AST] = {}  # `name = x.attr` at module level
        self._middleware: dict[str, list[ast.AST]] = {}  # event type -> middleware
        for module, path in paths.items():
            self._load(module, path.read_text())
        for imports in self._imports.values():  # `from chalicelib import push`: a module
            for local, (target, symbol) in imports.items():
                if symbol and f"{target}.{symbol}" in self._text:
                    imports[local] = (f"{target}.{symbol}", None)

    def _load(self, module: str, text: str) -> None:
        tree = ast.parse(text)
        self._text[module] = text
        self._imports[module] = imports = {}
        self._module_code[module] = top = []
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                base = _import_base(module, node)
                for alias in node.names:
                    local = alias.asname or alias.name
                    imports[local] = (base, alias.name)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self._defs[(module, node.name)] = node
            elif isinstance(node, ast.ClassDef):
                self._classes.add((module, node.name))
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        qual = f"{node.name}.{item.name}"
                        self._defs[(module, qual)] = item
                        self._methods.setdefault(item.name, set()).add((module, qual))
                    else:
                        top.append(item)
            elif (kind := _middleware_kind(node)) is not None:
                self._middleware.setdefault(kind, []).append(node.value.args[0])
            elif (alias := _alias(node)) is not None:
                self._aliases[(module, alias)] = node.value
            else:
                top.append(node)

    def handler_names(self) -> set[str]:
        """Functions defined at the top of app.py."""
        return {name for (module, name) in self._defs if module == "app" and "." not in name}

    def reachable(self, handlers: list[str], event_type: str) -> list[Definition]:
        """Every definition (and all module-level code) that app.py functions handling
        `event_type` events ("http", "websocket", ...: chalice's middleware kinds) reach."""
        todo = [("app", h) for h in handlers]
        for module, name in todo:
            if (module, name) not in self._defs:
                raise KeyError(f"{module}.{name} is not defined")
        seen: set[tuple[str, str]] = set()
        roots: list[tuple[str, list[ast.AST]]] = [(m, body) for m, body in self._module_code.items()]
        roots.append(("app", self._middleware.get(event_type, []) + self._middleware.get("all", [])))
        for module, body in roots:
            for node in body:
                todo.extend(self._references(module, node))
        while todo:
            key = todo.pop()
            if key in seen or key not in self._defs:
                continue
            seen.add(key)
            todo.extend(self._references(key[0], self._defs[key]))
        found = [Definition(m, n, ast.get_source_segment(self._text[m], self._defs[(m, n)]))
                 for m, n in sorted(seen)]
        found += [Definition(m, MODULE_CODE, "\n".join(ast.get_source_segment(self._text[m], s)
                                                       for s in body))
                  for m, body in roots]
        return found

    def _references(self, module: str, node: ast.AST) -> list[tuple[str, str]]:
        refs = []
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                refs.extend(self._named(module, sub.id))
            elif isinstance(sub, ast.Attribute):
                target = self._resolve(module, sub.value)
                if target is not None and target[1] is None:  # module.name
                    refs.extend(self._named_in(target[0], sub.attr))
                else:
                    refs.extend(self._methods.get(sub.attr, ()))
        return refs

    def _resolve(self, module: str, value: ast.AST) -> tuple[str, str | None] | None:
        if isinstance(value, ast.Name):
            return self._imports[module].get(value.id)
        return None

    def _named(self, module: str, name: str) -> list[tuple[str, str]]:
        if name in self._imports[module]:
            target, symbol = self._imports[module][name]
            return self._named_in(target, symbol) if symbol else []
        return self._named_in(module, name)

    def _named_in(self, module: str, name: str) -> list[tuple[str, str]]:
        if (module, name) in self._classes:
            return [(module, f"{name}.__init__"), (module, f"{name}.__post_init__")]
        if (module, name) in self._aliases:
            return self._references(module, self._aliases[(module, name)])
        return [(module, name)] if (module, name) in self._defs else []


def _alias(node: ast.stmt) -> str | None:
    """The name a module-level `name = a.b.c` (or `name = other`) binds, else None: binding
    a name to a function or bound method calls nothing."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)):
        return None
    value = node.value
    while isinstance(value, ast.Attribute):
        value = value.value
    return node.targets[0].id if isinstance(value, ast.Name) else None


def _middleware_kind(node: ast.stmt) -> str | None:
    """The event type of `app.register_middleware(m, "http")` (default "all"), else None."""
    call = node.value if isinstance(node, ast.Expr) else None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr == "register_middleware"):
        return None
    kinds = [a.value for a in call.args[1:2] if isinstance(a, ast.Constant)]
    kinds += [k.value.value for k in call.keywords if k.arg == "event_type"
              and isinstance(k.value, ast.Constant)]
    return kinds[0] if kinds else "all"


def _import_base(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.rsplit(".", node.level)[0]
    return f"{package}.{node.module}" if node.module else package
