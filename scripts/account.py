"""The AWS account and region `make deploy` and `make destroy` act on: the command line
options both take, the boto3 session they open, and who the caller is."""

import argparse
import os

import boto3

from scripts.common import chalice_config

NO_CREDENTIALS = ("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                  "AWS_SECRET_ACCESS_KEY (docs/DEPLOY.md)")


def add_account_arguments(parser: argparse.ArgumentParser) -> None:
    """--stage, --profile and --region."""
    parser.add_argument("--stage", default="dev", choices=sorted(chalice_config()["stages"]),
                        help="chalice stage from .chalice/config.json (default dev)")
    parser.add_argument("--profile", default=os.environ.get("AWS_PROFILE"),
                        help="AWS profile (default: $AWS_PROFILE or the default chain)")
    parser.add_argument("--region", help="AWS region (default: the profile's or $AWS_REGION)")


def open_session(parser: argparse.ArgumentParser,
                 args: argparse.Namespace) -> boto3.session.Session:
    """The session of --profile and --region; a missing region is a usage error.

    chalice builds its own botocore session from the environment, so the region is also
    put there.
    """
    session = boto3.Session(profile_name=args.profile,
                            region_name=args.region or os.environ.get("AWS_REGION"))
    if not session.region_name:
        parser.error("no AWS region: pass --region or set AWS_REGION")
    os.environ["AWS_DEFAULT_REGION"] = session.region_name
    return session


def caller_account(sts, region: str) -> dict[str, str]:
    identity = sts.get_caller_identity()
    return {"account_id": identity["Account"], "partition": identity["Arn"].split(":")[1],
            "region": region}
