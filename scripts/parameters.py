"""SSM SecureString parameters the deploy creates (CloudFormation cannot create that type):
the token signing key and the TURN shared secret. Created once and kept, or set to a
given value; deleted by `make destroy`."""

import secrets

from botocore.exceptions import ClientError


def current_value(ssm, name: str) -> str | None:
    """The parameter's decrypted value, or None when there is none."""
    try:
        return ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except ClientError as err:
        if err.response["Error"]["Code"] != "ParameterNotFound":
            raise
    return None


def ensure_secure_string(ssm, name: str, stage: str, description: str,
                         value: str | None = None) -> str:
    """Make the SecureString `name` exist; return "created", "kept" or "updated".

    Without `value` a random one is generated once and never overwritten (a re-run keeps
    it). With one, the parameter is set to it, written only when it differs.
    """
    existing = current_value(ssm, name)
    if existing is not None and (value is None or existing == value):
        return "kept"
    try:
        ssm.put_parameter(
            Name=name, Type="SecureString", Value=value or secrets.token_urlsafe(48),
            Overwrite=existing is not None, Description=description,
            **({} if existing is not None else {"Tags": [
                {"Key": "app", "Value": "parley"}, {"Key": "stage", "Value": stage}]}))
    except ClientError as err:
        if err.response["Error"]["Code"] == "ParameterAlreadyExists" and value is None:
            return "kept"  # a concurrent deploy won the race; keep its value
        raise
    return "created" if existing is None else "updated"


def delete_parameter(ssm, name: str) -> bool:
    """Delete it; False when there was none."""
    try:
        ssm.delete_parameter(Name=name)
    except ClientError as err:
        if err.response["Error"]["Code"] == "ParameterNotFound":
            return False
        raise
    return True
