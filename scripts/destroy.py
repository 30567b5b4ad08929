"""Remove a deployed stage: `make destroy STAGE=...` (= `python -m scripts.destroy`).

Order matters: chalice's Lambdas and APIs first (they read the table) and their log
groups (chalice delete leaves those), then the site
bucket is emptied (CloudFormation cannot delete a bucket with objects), then the infra
stack, and last the SSM parameter holding the token signing key. Running it again on a
stage that is already gone does nothing.
"""

import argparse
import os
import sys
from collections.abc import Callable

import boto3
from botocore.exceptions import ClientError, NoCredentialsError

from scripts.common import ROOT, chalice_config, stack_name
from scripts.deploy import (
    WAIT_CONFIG,
    ChaliceCli,
    delete_keys,
    list_keys,
    stack_outputs,
    stack_status,
)


def empty_bucket(s3, bucket: str) -> int:
    """Delete every object of the bucket; return how many there were."""
    try:
        keys = list_keys(s3, bucket)
    except ClientError as err:
        if err.response["Error"]["Code"] == "NoSuchBucket":
            return 0
        raise
    delete_keys(s3, bucket, keys)
    return len(keys)


def delete_stack(cfn, name: str) -> bool:
    """Delete the stack and wait for it; False when there was none."""
    if stack_status(cfn, name) is None:
        return False
    cfn.delete_stack(StackName=name)
    cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=WAIT_CONFIG)
    return True


def delete_secret(ssm, name: str) -> bool:
    try:
        ssm.delete_parameter(Name=name)
    except ClientError as err:
        if err.response["Error"]["Code"] == "ParameterNotFound":
            return False
        raise
    return True


def function_names(deployed: dict | None) -> list[str]:
    """Names of the Lambda functions in chalice's deployed values."""
    return sorted(r["lambda_arn"].split(":")[-1] for r in (deployed or {}).get("resources", [])
                  if r.get("resource_type") == "lambda_function")


def delete_log_groups(logs, functions: list[str]) -> list[str]:
    """chalice delete leaves the functions' log groups behind; remove them."""
    deleted = []
    for name in functions:
        try:
            logs.delete_log_group(logGroupName=f"/aws/lambda/{name}")
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

    deployed = chalice.deployed(stage)
    if deployed is not None:
        log(f"deleting chalice stage {stage} (Lambdas, REST and WebSocket APIs, roles)")
        chalice.delete(stage)
        for name in delete_log_groups(client("logs"), function_names(deployed)):
            log(f"deleted log group /aws/lambda/{name}")
    cfn = client("cloudformation")
    name = stack_name(stage)
    outputs = stack_outputs(cfn, name) if stack_status(cfn, name) is not None else {}
    if "BucketName" in outputs:
        count = empty_bucket(client("s3"), outputs["BucketName"])
        log(f"emptied s3://{outputs['BucketName']} ({count} objects)")
    if delete_stack(cfn, name):
        log(f"deleted stack {name}")
    secret = outputs.get("JwtSecretParameterName", f"/parley/{stage}/jwt-secret")
    if delete_secret(client("ssm"), secret):
        log(f"deleted {secret}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make destroy", description=__doc__.split("\n")[0])
    parser.add_argument("--stage", default="dev", choices=sorted(chalice_config()["stages"]))
    parser.add_argument("--profile", default=os.environ.get("AWS_PROFILE"))
    parser.add_argument("--region")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    args = parser.parse_args(argv)

    session = boto3.Session(profile_name=args.profile,
                            region_name=args.region or os.environ.get("AWS_REGION"))
    if not session.region_name:
        parser.error("no AWS region: pass --region or set AWS_REGION")
    if not args.yes:
        answer = input(f"This deletes every meeting and the site of stage '{args.stage}' "
                       f"in {session.region_name}. Type the stage name to go on: ")
        if answer.strip() != args.stage:
            print("nothing deleted")
            return 1
    os.environ["AWS_DEFAULT_REGION"] = session.region_name
    try:
        destroy(args.stage, session=session, chalice=ChaliceCli(ROOT, args.profile))
    except NoCredentialsError:
        parser.error("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                     "AWS_SECRET_ACCESS_KEY (docs/DEPLOY.md)")
    print(f"stage {args.stage} is gone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
