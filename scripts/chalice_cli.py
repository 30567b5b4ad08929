"""chalice's side of a stage: `chalice deploy` / `chalice delete` run in this process, and
what they record in `.chalice/deployed/<stage>.json`."""

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chalice.cli.factory import CLIFactory

from scripts import recovery
from scripts.bytecode import compiled_deploy_packages
from scripts.common import ROOT
from scripts.runtime import lambda_runtime


@dataclass(frozen=True)
class Deployed:
    """What the deploy script needs from chalice's deployed values."""

    rest_api_id: str
    rest_api_url: str
    websocket_api_id: str | None
    websocket_api_url: str | None
    stream_mappings: tuple[str, ...]  # event source mapping UUIDs of stream handlers


def previous_deploy(values: dict | None) -> Deployed | None:
    """What an earlier deploy left, or None when there is none to build on.

    `chalice delete` leaves the record as `{"resources": []}`, and a deploy that failed
    part way leaves no REST API in it: neither is a deploy.
    """
    if not values or not any(r.get("resource_type") == "rest_api"
                             for r in values.get("resources", [])):
        return None
    return read_deployed(values)


def read_deployed(values: dict) -> Deployed:
    """Pick the URLs and ids out of `.chalice/deployed/<stage>.json` of a finished deploy."""
    rest = ws = None
    mappings = []
    for resource in values.get("resources", []):
        kind = resource.get("resource_type")
        if kind == "rest_api":
            rest = resource
        elif kind == "websocket_api":
            ws = resource
        elif kind == "dynamodb_event":
            mappings.append(resource["event_uuid"])
    if rest is None:
        raise RuntimeError("chalice deployed no REST API")
    return Deployed(
        rest_api_id=rest["rest_api_id"],
        rest_api_url=rest["rest_api_url"].rstrip("/"),
        websocket_api_id=ws["websocket_api_id"] if ws else None,
        websocket_api_url=ws["websocket_api_url"].rstrip("/") if ws else None,
        stream_mappings=tuple(mappings),
    )


def function_names(deployed: dict | None) -> list[str]:
    """Names of the Lambda functions in chalice's deployed values."""
    return sorted(r["lambda_arn"].split(":")[-1] for r in (deployed or {}).get("resources", [])
                  if r.get("resource_type") == "lambda_function")


def log_group_names(deployed: dict | None) -> list[str]:
    """The log groups of chalice's deployed values: each function's, and those chalice
    created to set their retention (for the REST handler, `parley-<stage>`, chalice names
    that one after the handler, `/aws/lambda/parley-<stage>-api_handler`)."""
    names = {f"/aws/lambda/{name}" for name in function_names(deployed)}
    names |= {r["log_group_name"] for r in (deployed or {}).get("resources", [])
              if r.get("resource_type") == "log_group"}
    return sorted(names)


def with_policies_from(config: dict, policy_dir: Path, chalice_dir: Path) -> dict:
    """config.json with every `iam_policy_file` pointing at the file of the same name in
    `policy_dir` (the policies rendered for the account), relative to .chalice/ as chalice
    reads it. A policy not rendered there fails chalice's build of that function, never
    falls back to the template with its placeholders."""

    def point(value):
        if isinstance(value, dict):
            out = {key: point(item) for key, item in value.items()}
            if "iam_policy_file" in value:
                rendered = Path(policy_dir) / value["iam_policy_file"]
                out["iam_policy_file"] = os.path.relpath(rendered, chalice_dir)
            return out
        return value

    return point(config)


class RenderedPolicyFactory(CLIFactory):
    """chalice's factory, reading config.json with the rendered policies in place.

    Functions name their policy in the stage's `lambda_functions`, which chalice looks at
    before any command line override, so the paths are replaced where chalice reads them.
    """

    def __init__(self, project_dir: str, policy_dir: Path | None, **kwargs):
        super().__init__(project_dir, **kwargs)
        self.policy_dir = policy_dir

    def load_project_config(self):
        config = super().load_project_config()
        if self.policy_dir is None:
            return config
        return with_policies_from(config, self.policy_dir, Path(self.project_dir) / ".chalice")


class ChaliceCli:
    """`chalice deploy` / `chalice delete` for one project, run in this process.

    In process rather than as a `chalice` subprocess because the Lambdas' environment
    comes from the infra stack: chalice's config.json holds literal values only, and the
    deploy passes these as overrides (the same mechanism as chalice's own command line
    options). It also substitutes the rendered IAM policies for the placeholder ones, and
    builds for the Lambda runtime of scripts/runtime.py. Before chalice acts, its record
    is checked against the account (scripts/recovery.py), so a run after one that failed
    part way adopts, or deletes, what that one created.
    """

    def __init__(self, project_dir: Path = ROOT, profile: str | None = None,
                 log: Callable[[str], None] = print):
        self.project_dir = Path(project_dir)
        self.profile = profile
        self.log = log

    def record_path(self, stage: str) -> Path:
        return self.project_dir / ".chalice" / "deployed" / f"{stage}.json"

    def deployed(self, stage: str) -> dict | None:
        path = self.record_path(stage)
        return json.loads(path.read_text()) if path.exists() else None

    def factory(self, policy_dir: Path | None = None, environ=None):
        """chalice's CLI factory; with `policy_dir`, functions get the policies there."""
        return RenderedPolicyFactory(str(self.project_dir), policy_dir, profile=self.profile,
                                     environ=os.environ if environ is None else environ)

    def config(self, factory, stage: str, environment: dict[str, str]):
        """chalice's Config for the stage with the environment overridden."""
        return factory.create_config_obj(
            chalice_stage_name=stage,
            user_provided_params={"environment_variables": dict(environment)},
        )

    def reconcile(self, session, config, stage: str) -> dict:
        """Rewrite the stage's record to what the account holds; delete leftovers.

        Returns the record chalice will now work from.
        """
        account = recovery.Account(session.create_client, config.app_name)
        result = recovery.reconcile(self.deployed(stage),
                                    recovery.expected_resources(config, stage), account)
        for name in result.adopted:
            self.log(f"adopting {name}: it exists but chalice's record lacks it")
        for name in result.dropped:
            self.log(f"forgetting {name}: chalice's record has it, the account does not")
        for leftover in recovery.delete_leftovers(account, result.leftovers):
            self.log(f"deleted {leftover}")
        if result.adopted or result.dropped:
            path = self.record_path(stage)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result.record, indent=2) + "\n")
        return result.record

    def deploy(self, stage: str, environment: dict[str, str], policy_dir: Path) -> dict:
        """Deploy with `environment` and the policies rendered into `policy_dir`."""
        from chalice.utils import UI

        # app.py reads PARLEY_STREAM_ARN (and the CORS origin) at import time.
        os.environ.update(environment)
        factory = self.factory(policy_dir)
        config = self.config(factory, stage, environment)
        session = factory.create_botocore_session()
        self.reconcile(session, config, stage)
        ui = UI()
        deployer = factory.create_default_deployer(session=session, config=config, ui=ui)
        with lambda_runtime(), compiled_deploy_packages():
            values = deployer.deploy(config, chalice_stage_name=stage)
        factory.create_deployment_reporter(ui=ui).display_report(values)
        return self.deployed(stage) or values

    def delete(self, stage: str) -> dict:
        """Delete what the stage has in the account; return the record of what that was.

        chalice's deletion deployer then leaves the record as `{"resources": []}`.
        """
        from chalice.utils import UI

        factory = self.factory()
        config = factory.create_config_obj(chalice_stage_name=stage)
        session = factory.create_botocore_session()
        record = self.reconcile(session, config, stage)
        if not record.get("resources"):
            return record
        deleter = factory.create_deletion_deployer(session=session, ui=UI())
        deleter.deploy(config, chalice_stage_name=stage)
        return record
