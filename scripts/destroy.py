"""Remove a deployed stage: `make destroy STAGE=...` (= `python -m scripts.destroy`).

Order matters: chalice's Lambdas and APIs first (they read the table) and their log
groups (chalice delete leaves those), then the site bucket is emptied (CloudFormation
cannot delete a bucket with objects), then the infra stack, and last the SSM parameter
holding the token signing key; the TURN relay's stack and secret (scripts/turn.py) go
before the infra stack. What chalice deletes is what the account holds, found by
name when chalice's record is missing or out of date (scripts/recovery.py), so a stage
whose deploy failed part way is removed too. A stage deployed in another region is
refused (scripts/stage_region.py). Running it again on a stage that is already gone does
nothing.
"""

import argparse
import sys
from collections.abc import Callable

import boto3
from botocore.exceptions import ClientError, NoCredentialsError

from scripts.account import NO_CREDENTIALS, add_account_arguments, open_session
from scripts.chalice_cli import ChaliceCli, log_group_names
from scripts.cloudformation import delete_stack, stack_outputs, stack_status
from scripts.common import ROOT, stack_name
from scripts.parameters import delete_parameter
from scripts.site import empty_bucket
from scripts.stage_region import StageInAnotherRegion, check_region
from scripts.turn import remove_turn


def delete_log_groups(logs, names: list[str]) -> list[str]:
    """chalice delete leaves the functions' log groups behind; remove them."""
    deleted = []
    for name in names:
        try:
            logs.delete_log_group(logGroupName=name)
        except ClientError as err:
            if err.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        else:
            deleted.append(name)
    return deleted


def destroy(stage: str, *, session: boto3.session.Session, chalice,
            endpoint_url: str | None = None, log: Callable[[str], None] = print) -> None:
    def client(service):
        return session.client(service, endpoint_url=endpoint_url)

    check_region(stage, session.region_name, chalice.deployed(stage), client("iam"))
    log(f"deleting chalice stage {stage} (Lambdas, REST and WebSocket APIs, roles)")
    deleted = chalice.delete(stage)
    for name in delete_log_groups(client("logs"), log_group_names(deleted)):
        log(f"deleted log group {name}")
    cfn = client("cloudformation")
    name = stack_name(stage)
    outputs = stack_outputs(cfn, name) if stack_status(cfn, name) is not None else {}
    if "BucketName" in outputs:
        count = empty_bucket(client("s3"), outputs["BucketName"])
        log(f"emptied s3://{outputs['BucketName']} ({count} objects)")
    remove_turn(cfn, client("ssm"), stage, log)
    if delete_stack(cfn, name):
        log(f"deleted stack {name}")
    secret = outputs.get("JwtSecretParameterName", f"/parley/{stage}/jwt-secret")
    if delete_parameter(client("ssm"), secret):
        log(f"deleted {secret}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make destroy", description=__doc__.split("\n")[0])
    add_account_arguments(parser)
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    args = parser.parse_args(argv)

    session = open_session(parser, args)
    if not args.yes:
        answer = input(f"This deletes every meeting and the site of stage '{args.stage}' "
                       f"in {session.region_name}. Type the stage name to go on: ")
        if answer.strip() != args.stage:
            print("nothing deleted")
            return 1
    try:
        destroy(args.stage, session=session, chalice=ChaliceCli(ROOT, args.profile))
    except NoCredentialsError:
        parser.error(NO_CREDENTIALS)
    except StageInAnotherRegion as err:
        print(err, file=sys.stderr)
        return 1
    print(f"stage {args.stage} is gone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
