"""The recorder bot's image (bots/Dockerfile), read as a file (no Docker here): it runs the
recorder from python:3.12-slim as a user that is not root, installs requirements-bots.txt
(pinned, shared libraries as the local stack has them), and holds everything the bots
import."""

import ast
import importlib.metadata
import re
import sys

from scripts.common import ROOT

DOCKERFILE = ROOT / "bots" / "Dockerfile"
REQUIREMENTS = ROOT / "requirements-bots.txt"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def pins(path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            found[name.strip().lower()] = version.strip()
    return found


def test_the_image_runs_the_recorder_from_python_3_12_slim_as_a_plain_user():
    steps = instructions()
    assert steps[0] == ("FROM", "python:3.12-slim")
    assert ("CMD", '["python", "-m", "bots.recorder"]') in steps
    assert ("RUN", "pip install --no-compile -r requirements-bots.txt") in steps
    users = [arg for word, arg in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0")


def test_bot_requirements_are_pinned_and_shared_ones_are_the_local_stacks():
    wanted = pins(REQUIREMENTS)
    assert {"aiortc", "av", "boto3"} <= set(wanted)
    assert (wanted["aiortc"], wanted["av"]) == ("1.16.0", "16.0.1")
    assert all(re.fullmatch(r"[0-9][0-9.]*", version) for version in wanted.values()), wanted
    local = pins(ROOT / "requirements-local.txt")
    for name in set(wanted) & set(local):  # one version of a library across the project
        assert wanted[name] == local[name], name


def _distributions(names: set[str]) -> set[str]:
    """`names` and everything they require (not their extras), as installed here."""
    seen, todo = set(), [n.lower() for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            if "extra ==" in requirement:
                continue
            todo.append(re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower())
    return {n.replace("_", "-") for n in seen}


def importable_in_image() -> set[str]:
    """Top-level modules the image provides: the standard library, what the Dockerfile
    copies from this repository, and the modules of the required distributions."""
    copied = {arg.split()[0].strip("/").split("/")[0] for word, arg in instructions()
              if word == "COPY"} - {"requirements-bots.txt"}
    dists = _distributions(set(pins(REQUIREMENTS)))
    modules = {module for module, owners in importlib.metadata.packages_distributions().items()
               if {o.lower().replace("_", "-") for o in owners} & dists}
    return set(sys.stdlib_module_names) | copied | modules


def missing_imports(sources: dict[str, str]) -> dict[str, set[str]]:
    """{file: top-level modules it imports that the image does not have}."""
    have = importable_in_image()
    missing = {}
    for name, source in sources.items():
        wanted = set()
        for node in ast.walk(ast.parse(source, name)):
            if isinstance(node, ast.Import):
                wanted |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                wanted.add(node.module.split(".")[0])
        if wanted - have:
            missing[name] = wanted - have
    return missing


def test_everything_the_bots_import_is_in_the_image():
    sources = {str(p.relative_to(ROOT)): p.read_text()
               for p in sorted((ROOT / "bots").rglob("*.py"))}
    assert missing_imports(sources) == {}


def test_an_import_the_image_lacks_is_found():
    source = ("import json, asyncio\nimport av\nfrom aiortc import RTCPeerConnection\n"
              "import boto3, botocore.config\nfrom bots.runtime import Bot\n"
              "from chalicelib import models\nimport pynamodb\nfrom . import mix\n")
    assert missing_imports({"bots/example.py": source}) == {
        "bots/example.py": {"chalicelib", "pynamodb"}}
