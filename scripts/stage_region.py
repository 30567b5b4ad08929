"""A stage lives in one region of an account.

chalice names each function's IAM role `<app>-<stage>-<handler>`, and IAM names are
account-wide, not regional; chalice's record of a stage (`.chalice/deployed/<stage>.json`)
is one file per stage. Deploying a stage that already runs in another region would
rewrite that region's role policies with this region's resources (breaking it) and
overwrite its record, so `make deploy` and `make destroy` refuse before they create or
delete anything. Where a stage runs is read from ARNs: those in the record, and the
resources its roles' inline policies grant.
"""

import json
import re
from urllib.parse import unquote

from scripts.common import chalice_config

_ARN = re.compile(r"arn:[a-z-]+:[a-z0-9-]+:([a-z0-9-]*):")


class StageInAnotherRegion(RuntimeError):
    pass


def regions_in(value) -> set[str]:
    """The regions named by the ARNs anywhere in a JSON-like value (IAM's global ARNs
    have none)."""
    return {region for region in _ARN.findall(json.dumps(value)) if region}


def role_pattern(stage: str, app_name: str | None = None) -> re.Pattern:
    """chalice's role names of a stage: the handler part is a Python name, so stage `dev`
    does not claim the roles of stage `dev-2`."""
    app = app_name or chalice_config()["app_name"]
    return re.compile(rf"{re.escape(app)}-{re.escape(stage)}-[A-Za-z_][A-Za-z0-9_]*")


def role_regions(iam, stage: str, app_name: str | None = None) -> dict[str, set[str]]:
    """{role name: regions its inline policies grant} for the stage's existing roles."""
    pattern = role_pattern(stage, app_name)
    found = {}
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            name = role["RoleName"]
            if not pattern.fullmatch(name):
                continue
            regions = set()
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                document = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
                if isinstance(document, str):  # URL-encoded JSON on the wire
                    document = json.loads(unquote(document))
                regions |= regions_in(document)
            found[name] = regions
    return found


def check_region(stage: str, region: str, record: dict | None, iam,
                 app_name: str | None = None) -> None:
    """Raise StageInAnotherRegion when the stage runs in a region other than `region`."""
    elsewhere = regions_in((record or {}).get("resources", [])) - {region}
    where = f".chalice/deployed/{stage}.json"
    if not elsewhere:
        roles = role_regions(iam, stage, app_name)
        claimed = {name: regions for name, regions in roles.items()
                   if regions and region not in regions}
        elsewhere = set().union(*claimed.values()) if claimed else set()
        where = f"the policy of IAM role {min(claimed)}" if claimed else where
    if elsewhere:
        other = sorted(elsewhere)[0]
        raise StageInAnotherRegion(
            f"stage {stage} is deployed in {', '.join(sorted(elsewhere))} (per {where}), "
            f"not {region}. IAM role names and chalice's record are per stage, not per "
            "region, so a stage lives in one region of an account. To run Parley in "
            f"{region} as well, add another stage to .chalice/config.json (with its "
            "functions' policy files) and deploy that; "
            f"to move stage {stage}, first run AWS_REGION={other} make destroy "
            f"STAGE={stage}.")
