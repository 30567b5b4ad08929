"""chalice's side of a stage: `chalice deploy` / `chalice delete` run in this process, and
what they record in `.chalice/deployed/<stage>.json`."""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from scripts.bytecode import compiled_deploy_packages
from scripts.common import ROOT


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


class ChaliceCli:
    """`chalice deploy` / `chalice delete` for one project, run in this process.

    In process rather than as a `chalice` subprocess because the Lambdas' environment
    comes from the infra stack: chalice's config.json holds literal values only, and the
    deploy passes these as overrides (the same mechanism as chalice's own command line
    options). It also substitutes the rendered IAM policy for the placeholder one.
    """

    def __init__(self, project_dir: Path = ROOT, profile: str | None = None):
        self.project_dir = Path(project_dir)
        self.profile = profile

    def deployed(self, stage: str) -> dict | None:
        path = self.project_dir / ".chalice" / "deployed" / f"{stage}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def _factory(self):
        from chalice.cli.factory import CLIFactory

        return CLIFactory(str(self.project_dir), profile=self.profile, environ=os.environ)

    def config(self, factory, stage: str, environment: dict[str, str], policy_file: Path):
        """chalice's Config for the stage with the environment and policy overridden."""
        policy = os.path.relpath(policy_file, self.project_dir / ".chalice")
        return factory.create_config_obj(
            chalice_stage_name=stage,
            user_provided_params={"environment_variables": dict(environment),
                                  "iam_policy_file": policy},
        )

    def deploy(self, stage: str, environment: dict[str, str], policy_file: Path) -> dict:
        from chalice.utils import UI

        # app.py reads PARLEY_STREAM_ARN (and the CORS origin) at import time.
        os.environ.update(environment)
        factory = self._factory()
        config = self.config(factory, stage, environment, policy_file)
        ui = UI()
        deployer = factory.create_default_deployer(
            session=factory.create_botocore_session(), config=config, ui=ui)
        with compiled_deploy_packages():
            values = deployer.deploy(config, chalice_stage_name=stage)
        factory.create_deployment_reporter(ui=ui).display_report(values)
        return self.deployed(stage) or values

    def delete(self, stage: str) -> None:
        from chalice.utils import UI

        factory = self._factory()
        config = factory.create_config_obj(chalice_stage_name=stage)
        deleter = factory.create_deletion_deployer(
            session=factory.create_botocore_session(), ui=UI())
        deleter.deploy(config, chalice_stage_name=stage)
