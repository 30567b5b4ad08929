"""TURN in AWS (`make deploy TURN=coturn|external`, scripts/turn.py) end to end against
moto's server: the shared secret as a SecureString, the relay stack (infra/turn.yaml:
Auto Scaling group of one, launch template, Elastic IP, security group, instance role),
the functions' environment and policies, a switch to a provider, and the tear-down.

moto runs the template's resources but not the host's user data; test_turn_template.py
runs coturn on the configuration it writes. moto has no public Debian image parameters
(and refuses to create `/aws/...` names), so the image parameter is one of the test's.
"""

import ast
import base64
import json

import pytest

from scripts import deploy as deploy_script
from scripts import destroy as destroy_script
from scripts import turn
from scripts.cloudformation import stack_outputs, stack_status
from tests.deploy.conftest import (
    RecordingChalice,
    UnemulatedCalls,
    create_distribution,
    moto_template,
    write_frontend,
)

pytestmark = pytest.mark.filterwarnings(r"ignore:Tried to parse AWS\W+S3\W+BucketPolicy")

STAGE = "dev"
SECRET = "/parley/dev/turn-secret"
SECRET_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/parley/dev/turn-secret"
PROVIDER = ("turns:turn.provider.example:443?transport=tcp",
            "turn:turn.provider.example:3478?transport=udp")
SIGNING = {"policy-api_handler.json", "policy-websocket_message.json",
           "policy-on_table_change.json"}


@pytest.fixture(scope="module")
def image_parameter(aws):
    """A stand-in for Debian's public image parameters, pointing at one of moto's images."""
    image = aws.client("ec2").describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    for arch in ("arm64", "amd64"):
        aws.client("ssm").put_parameter(Name=f"/test/debian/{arch}", Type="String", Value=image)
    saved, turn.IMAGE_PARAMETER = turn.IMAGE_PARAMETER, "/test/debian/{arch}"
    yield image
    turn.IMAGE_PARAMETER = saved


class RouteTableDeletion:
    """moto's CloudFormation cannot delete an AWS::EC2::RouteTable (no delete handler), so
    deleting the relay stack would stop at its VPC. Just before DeleteStack of the relay
    stack this removes its route table through EC2's API, as CloudFormation does itself."""

    def __init__(self, aws):
        self._aws = aws

    def install(self):
        self._aws.session.events.register("before-call.cloudformation.DeleteStack", self._delete)

    def uninstall(self):
        self._aws.session.events.unregister("before-call.cloudformation.DeleteStack", self._delete)

    def _delete(self, params, **_):
        name = params["body"].get("StackName")
        if name != turn.turn_stack_name(STAGE):
            return
        ec2 = self._aws.client("ec2")
        table_id = stack_resources(self._aws, name)["RouteTable"]
        for table in ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"]:
            for association in table["Associations"]:
                ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
        ec2.delete_route_table(RouteTableId=table_id)


@pytest.fixture(scope="module")
def chalice(aws):
    return RecordingChalice(aws.client)


@pytest.fixture(scope="module")
def run_deploy(aws, chalice, image_parameter, tmp_path_factory):
    calls = UnemulatedCalls()
    calls.install(aws.session)
    route_tables = RouteTableDeletion(aws)
    route_tables.install()
    template = moto_template(*create_distribution(aws.client("cloudfront"), "parley-turn"))
    frontend = write_frontend(tmp_path_factory.mktemp("frontend"))
    build_dir = tmp_path_factory.mktemp("build")

    def run(options):
        logs = []
        deploy_script.deploy(STAGE, session=aws.session, chalice=chalice,
                             endpoint_url=aws.endpoint, template_body=template,
                             frontend_dir=frontend, build_dir=build_dir, turn=options,
                             log=logs.append)
        return {"logs": logs, "call": chalice.calls[-1]}

    yield run
    calls.uninstall(aws.session)
    route_tables.uninstall()


def secret_value(aws):
    return aws.client("ssm").get_parameter(Name=SECRET, WithDecryption=True)["Parameter"]


def resources_of(policy):
    return {r for s in policy["Statement"]
            for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}


# --- TURN=coturn ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def coturn(run_deploy, aws):
    result = run_deploy(turn.TurnOptions(mode="coturn"))
    return {**result, "secret": secret_value(aws),
            "outputs": stack_outputs(aws.client("cloudformation"), "parley-dev-turn")}


def test_coturn_creates_the_shared_secret_as_a_secure_string_before_the_relay(coturn):
    assert coturn["secret"]["Type"] == "SecureString"
    assert len(coturn["secret"]["Value"]) >= 48
    logs = coturn["logs"]
    assert logs.index(f"created the TURN shared secret {SECRET}") < next(
        i for i, line in enumerate(logs) if "parley-dev-turn" in line)


def test_coturn_hands_the_functions_the_relays_urls_and_the_secrets_name(coturn):
    env = coturn["call"]["environment"]
    ip = coturn["outputs"]["PublicIp"]
    assert env["PARLEY_TURN_URLS"] == (f"turn:{ip}:3478?transport=udp,"
                                       f"turn:{ip}:3478?transport=tcp")  # no domain: no turns:
    assert env["PARLEY_TURN_SECRET_PARAM"] == SECRET
    assert "PARLEY_TURN_SECRET" not in env  # the value stays in SSM


def test_only_the_functions_that_hand_out_ice_servers_may_read_the_turn_secret(coturn):
    policies = coturn["call"]["policies"]
    readers = {name for name, policy in policies.items() if SECRET_ARN in resources_of(policy)}
    assert readers == SIGNING


def test_the_relay_is_an_auto_scaling_group_of_one_with_its_address(coturn, aws):
    group = aws.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["parley-dev-turn"])["AutoScalingGroups"][0]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (1, 1, 1)
    assert len(group["Instances"]) == 1
    assert len(group["VPCZoneIdentifier"].split(",")) == 2  # two zones to replace it in
    addresses = aws.client("ec2").describe_addresses(
        PublicIps=[coturn["outputs"]["PublicIp"]])["Addresses"]
    assert len(addresses) == 1


def launch_template(aws):
    ec2 = aws.client("ec2")
    group = aws.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["parley-dev-turn"])["AutoScalingGroups"][0]
    template_id = group["LaunchTemplate"]["LaunchTemplateId"]
    return ec2.describe_launch_template_versions(
        LaunchTemplateId=template_id, Versions=["$Latest"])["LaunchTemplateVersions"][0][
        "LaunchTemplateData"]


def test_the_host_boots_debian_t4g_with_imdsv2_and_reads_its_secret_at_boot(
        coturn, aws, image_parameter):
    data = launch_template(aws)
    assert data["InstanceType"] == "t4g.small"
    assert data["ImageId"] == image_parameter
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    script = base64.b64decode(data["UserData"]).decode()
    allocation = aws.client("ec2").describe_addresses(
        PublicIps=[coturn["outputs"]["PublicIp"]])["Addresses"][0]["AllocationId"]
    assert f"--allocation-id {allocation} --instance-id" in script
    assert f"--name {SECRET} --with-decryption" in script
    assert f"external-ip={coturn['outputs']['PublicIp']}/$PRIVATE_IP" in script
    assert "static-auth-secret=$SECRET" in script  # the value itself is not in the template
    assert coturn["secret"]["Value"] not in script


def test_the_security_group_opens_turn_and_the_relay_range_and_no_tls_without_a_domain(
        coturn, aws):
    groups = aws.client("ec2").describe_security_groups(
        Filters=[{"Name": "description", "Values": ["Parley TURN relay"]}])["SecurityGroups"]
    assert len(groups) == 1
    opened = {(p["IpProtocol"], p["FromPort"], p["ToPort"]) for p in groups[0]["IpPermissions"]}
    assert opened == {("udp", 3478, 3478), ("tcp", 3478, 3478), ("udp", 49152, 65535)}


def test_the_hosts_role_reads_only_its_secret_and_takes_only_its_address(coturn, aws):
    iam = aws.client("iam")
    resources = stack_resources(aws, "parley-dev-turn")
    role = resources["HostRole"]
    document = iam.get_role_policy(RoleName=role, PolicyName="turn-host")["PolicyDocument"]
    if isinstance(document, str):  # moto's CloudFormation stores the policy's Python repr
        document = ast.literal_eval(document)
    statements = document["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["ReadTurnSecret"]["Action"] == "ssm:GetParameter"
    assert by_sid["ReadTurnSecret"]["Resource"] == SECRET_ARN
    assert {s["Action"] for s in statements} == {"ssm:GetParameter", "ec2:AssociateAddress"}
    assert by_sid["ForTheGroupsOwnHost"]["Condition"] == {"StringEquals": {
        "aws:ResourceTag/aws:autoscaling:groupName": "parley-dev-turn"}}


def stack_resources(aws, name):
    listed = aws.client("cloudformation").list_stack_resources(StackName=name)
    return {r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in listed["StackResourceSummaries"] if "LogicalResourceId" in r}


@pytest.fixture(scope="module")
def coturn_again(coturn, run_deploy, aws):
    result = run_deploy(turn.TurnOptions(mode="coturn"))
    return {**result, "secret": secret_value(aws)}


def test_a_rerun_keeps_the_secret_and_the_relays_address(coturn_again, coturn, aws):
    assert coturn_again["secret"]["Value"] == coturn["secret"]["Value"]
    assert coturn_again["call"]["environment"]["PARLEY_TURN_URLS"] == \
        coturn["call"]["environment"]["PARLEY_TURN_URLS"]


# --- TURN=external ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def external(coturn_again, run_deploy, aws):
    result = run_deploy(turn.TurnOptions(mode="external", urls=PROVIDER,
                                         secret="provider-shared-secret"))
    return {**result, "secret": secret_value(aws)}


def test_a_provider_replaces_the_relay_stack_and_its_secret_goes_to_ssm(external, aws):
    assert stack_status(aws.client("cloudformation"), "parley-dev-turn") is None
    assert external["secret"]["Type"] == "SecureString"
    assert external["secret"]["Value"] == "provider-shared-secret"
    env = external["call"]["environment"]
    assert env["PARLEY_TURN_URLS"] == ",".join(PROVIDER)
    assert env["PARLEY_TURN_SECRET_PARAM"] == SECRET
    readers = {name for name, policy in external["call"]["policies"].items()
               if SECRET_ARN in resources_of(policy)}
    assert readers == SIGNING


def test_a_providers_secret_is_written_only_when_it_changes(external, aws):
    ssm, cfn = aws.client("ssm"), aws.client("cloudformation")
    version = secret_value(aws)["Version"]
    options = turn.TurnOptions(mode="external", urls=PROVIDER, secret="provider-shared-secret")
    logs = []
    turn.ensure_turn(cfn, ssm, STAGE, options, log=logs.append)
    assert secret_value(aws)["Version"] == version and logs == []
    rotated = turn.TurnOptions(mode="external", urls=PROVIDER, secret="rotated-by-provider")
    turn.ensure_turn(cfn, ssm, STAGE, rotated, log=logs.append)
    assert secret_value(aws)["Version"] == version + 1
    assert secret_value(aws)["Value"] == "rotated-by-provider"
    assert logs == [f"updated the TURN provider's shared secret in {SECRET}"]


# --- TURN=off, destroy ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def off(external, run_deploy):
    return run_deploy(turn.TurnOptions())


def test_a_deploy_without_turn_removes_the_secret_and_reads_none(off, aws):
    ssm = aws.client("ssm")
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=SECRET)
    env = off["call"]["environment"]
    assert "PARLEY_TURN_URLS" not in env and "PARLEY_TURN_SECRET_PARAM" not in env
    assert not any(SECRET_ARN in resources_of(p) for p in off["call"]["policies"].values())
    assert f"deleted {SECRET}" in off["logs"]


def test_destroy_removes_the_relay_stack_and_the_turn_secret(off, run_deploy, aws, chalice):
    run_deploy(turn.TurnOptions(mode="coturn"))
    assert stack_status(aws.client("cloudformation"), "parley-dev-turn") == "CREATE_COMPLETE"
    logs = []
    destroy_script.destroy(STAGE, session=aws.session, chalice=chalice,
                           endpoint_url=aws.endpoint, log=logs.append)
    assert stack_status(aws.client("cloudformation"), "parley-dev-turn") is None
    assert stack_status(aws.client("cloudformation"), "parley-dev-infra") is None
    ssm = aws.client("ssm")
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=SECRET)
    assert "deleted the relay stack parley-dev-turn" in logs
    assert aws.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["parley-dev-turn"])["AutoScalingGroups"] == []


# --- the settings ----------------------------------------------------------------------------

@pytest.mark.parametrize(("options", "problem"), [
    (turn.TurnOptions(mode="external"), "needs its URLs"),
    (turn.TurnOptions(mode="external", urls=("https://x",), secret="s"), "not TURN URLs"),
    (turn.TurnOptions(mode="coturn", urls=PROVIDER), "need TURN=external"),
    (turn.TurnOptions(mode="off", domain="turn.example.com"), "TURN=coturn"),
    (turn.TurnOptions(mode="coturn", hosted_zone="Z1"), "needs the domain"),
    (turn.TurnOptions(mode="relay"), "use one of"),
])
def test_inconsistent_turn_settings_are_refused_before_anything_is_created(options, problem):
    assert problem in options.problem()


def test_the_command_line_reads_turn_settings_from_the_environment(monkeypatch):
    import argparse

    monkeypatch.setenv("PARLEY_TURN_URLS", ",".join(PROVIDER))
    monkeypatch.setenv("PARLEY_TURN_SECRET", "s3")
    monkeypatch.setenv("TURN", "on")  # the local stack's setting, not a deploy mode

    def parsed(*argv):
        parser = argparse.ArgumentParser()
        deploy_script.add_turn_arguments(parser)
        return deploy_script.turn_options(parser.parse_args(argv))

    assert parsed() == turn.TurnOptions(mode="external", urls=PROVIDER, secret="s3")
    assert parsed().problem() is None
    monkeypatch.delenv("PARLEY_TURN_URLS")
    monkeypatch.delenv("PARLEY_TURN_SECRET")
    assert parsed() == turn.TurnOptions()  # off
    monkeypatch.setenv("TURN", "coturn")
    assert parsed("--turn-domain", "t.example.com") == turn.TurnOptions(
        mode="coturn", domain="t.example.com")


def test_graviton_instance_types_get_the_arm64_image():
    assert turn.image_parameter("t4g.small").endswith("/arm64")
    assert turn.image_parameter("c7gn.large").endswith("/arm64")
    assert turn.image_parameter("t3.small").endswith("/amd64")
    assert turn.image_parameter("m6i.large").endswith("/amd64")


def test_the_deploy_passes_a_domain_and_its_zone_to_the_relay_stack():
    params = turn.stack_parameters("prod", turn.TurnOptions(
        mode="coturn", domain="turn.example.com", hosted_zone="Z123", email="ops@example.com"))
    assert params == {"Stage": "prod", "SecretParameterName": "/parley/prod/turn-secret",
                      "InstanceType": "t4g.small",
                      "ImageId": turn.IMAGE_PARAMETER.format(arch="arm64"),
                      "Domain": "turn.example.com", "HostedZoneId": "Z123",
                      "CertificateEmail": "ops@example.com"}
    json.dumps(params)
