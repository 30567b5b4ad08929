"""The stacks (infra/parley.yaml, and infra/turn.yaml for a TURN relay) through
CloudFormation: create or update one, read its status and outputs, delete it."""

from collections.abc import Callable

from botocore.exceptions import ClientError

WAIT_CONFIG = {"Delay": 10, "MaxAttempts": 180}  # CloudFront can take 15+ minutes
CAPABILITIES = ["CAPABILITY_IAM"]  # the recorder bot's task and execution roles, the relay host's


def ensure_stack(cfn, name: str, template_body: str, parameters: dict[str, str],
                 log: Callable[[str], None] = print,
                 slow: str = "CloudFront takes several minutes") -> dict[str, str]:
    """Create the stack or update it in place; return its outputs as a dict.

    "No updates are to be performed" is success. A stack left in ROLLBACK_COMPLETE by a
    failed first create cannot be updated, so it is deleted and created again.
    """
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
    tags = [{"Key": "app", "Value": "parley"}, {"Key": "stage", "Value": parameters["Stage"]}]
    status = stack_status(cfn, name)
    if status == "ROLLBACK_COMPLETE":
        log(f"stack {name} failed to create before; deleting it to start over")
        delete_stack(cfn, name)
        status = None
    if status is not None and status.endswith("_IN_PROGRESS"):
        raise RuntimeError(f"stack {name} is busy ({status}); run again when it settles")
    if status is None:
        log(f"creating stack {name} ({slow})")
        cfn.create_stack(StackName=name, TemplateBody=template_body, Parameters=params,
                         Tags=tags, Capabilities=CAPABILITIES)
        cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=WAIT_CONFIG)
    else:
        try:
            cfn.update_stack(StackName=name, TemplateBody=template_body, Parameters=params,
                             Tags=tags, Capabilities=CAPABILITIES)
        except ClientError as err:
            if "No updates are to be performed" not in str(err):
                raise
            log(f"stack {name} is up to date")
        else:
            log(f"updating stack {name}")
            cfn.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig=WAIT_CONFIG)
    return stack_outputs(cfn, name)


def stack_status(cfn, name: str) -> str | None:
    """The stack's status, or None when there is no such stack."""
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as err:
        if "does not exist" in str(err):
            return None
        raise
    return stacks[0]["StackStatus"] if stacks else None


def stack_outputs(cfn, name: str) -> dict[str, str]:
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def delete_stack(cfn, name: str) -> bool:
    """Delete the stack and wait for it; False when there was none."""
    if stack_status(cfn, name) is None:
        return False
    cfn.delete_stack(StackName=name)
    cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=WAIT_CONFIG)
    return True
