"""TURN for a deployed stage: its own coturn host (infra/turn.yaml) or a provider's, one path.

Both work the same way for the app (chalicelib/turn.py): the functions that answer a join
sign time-limited credentials with a shared secret, coturn's `use-auth-secret` scheme.
That secret is the SSM SecureString /parley/<stage>/turn-secret (PARLEY_TURN_SECRET_PARAM),
which those functions read at run time; the URLs (PARLEY_TURN_URLS) are the relay stack's
output or the provider's. The modes:

- `off`: no TURN; what an earlier deploy made for it (stack, secret) is removed;
- `coturn`: the stack `parley-<stage>-turn`, one coturn host; the secret is generated
  once, before the stack (the host reads it at boot), and kept by re-runs;
- `external`: a provider's URLs and secret (given, stored in the SecureString); a relay
  stack of an earlier `coturn` deploy is removed.
`make destroy` removes both the stack and the secret (`remove_turn`).
"""

from collections.abc import Callable
from dataclasses import dataclass

from scripts.cloudformation import delete_stack, ensure_stack
from scripts.common import ROOT
from scripts.parameters import delete_parameter, ensure_secure_string

TEMPLATE = ROOT / "infra" / "turn.yaml"
MODES = ("off", "coturn", "external")
DEFAULT_INSTANCE_TYPE = "t4g.small"
PARAMETER_DESCRIPTION = ("Parley TURN shared secret (coturn use-auth-secret); changing it "
                      "invalidates the TURN credentials already handed out")
# Debian 12's public image parameters; coturn is a Debian package
IMAGE_PARAMETER = "/aws/service/debian/release/bookworm/latest/{arch}"


@dataclass(frozen=True)
class TurnOptions:
    mode: str = "off"
    urls: tuple[str, ...] = ()  # external: the provider's turn:/turns: URLs
    secret: str = ""  # external: the provider's shared secret
    domain: str = ""  # coturn: a DNS name for turns: on 443
    hosted_zone: str = ""  # coturn: the Route 53 zone of `domain` (creates its A record)
    email: str = ""  # coturn: Let's Encrypt account email
    instance_type: str = DEFAULT_INSTANCE_TYPE

    def problem(self) -> str | None:
        """What is wrong with this combination of settings, or None."""
        if self.mode not in MODES:
            return f"TURN={self.mode!r}: use one of {', '.join(MODES)}"
        if self.mode == "external":
            if not self.urls or not self.secret:
                return ("a TURN provider needs its URLs (--turn-urls / PARLEY_TURN_URLS) and "
                        "its shared secret (PARLEY_TURN_SECRET)")
            bad = [u for u in self.urls if not u.startswith(("turn:", "turns:"))]
            if bad:
                return f"not TURN URLs (turn:... or turns:...): {', '.join(bad)}"
        elif self.urls or self.secret:
            return "TURN URLs and secret are a provider's settings: they need TURN=external"
        if self.mode != "coturn" and (self.domain or self.hosted_zone or self.email):
            return "a TURN domain, hosted zone or email is for the coturn host: TURN=coturn"
        if self.hosted_zone and not self.domain:
            return "a hosted zone needs the domain (--turn-domain) to create its record in"
        return None


def turn_stack_name(stage: str) -> str:
    return f"parley-{stage}-turn"


def secret_name(stage: str) -> str:
    return f"/parley/{stage}/turn-secret"


def image_parameter(instance_type: str) -> str:
    """The Debian image for the instance type's architecture: Graviton families carry a
    `g` after their generation (t4g, m7g, c7gn), and take arm64."""
    family = instance_type.split(".")[0]
    return IMAGE_PARAMETER.format(arch="arm64" if "g" in family[1:] else "amd64")


def stack_parameters(stage: str, options: TurnOptions) -> dict[str, str]:
    return {"Stage": stage, "SecretParameterName": secret_name(stage),
            "InstanceType": options.instance_type,
            "ImageId": image_parameter(options.instance_type),
            "Domain": options.domain, "HostedZoneId": options.hosted_zone,
            "CertificateEmail": options.email}


def ensure_turn(cfn, ssm, stage: str, options: TurnOptions, template_body: str | None = None,
                log: Callable[[str], None] = print) -> dict[str, str]:
    """Make the stage's TURN what `options` say; return the functions' environment for it
    (empty when off)."""
    problem = options.problem()
    if problem:
        raise ValueError(problem)
    if options.mode == "off":
        remove_turn(cfn, ssm, stage, log)
        return {}
    name = secret_name(stage)
    if options.mode == "coturn":
        if ensure_secure_string(ssm, name, stage, PARAMETER_DESCRIPTION) == "created":
            log(f"created the TURN shared secret {name}")
        outputs = ensure_stack(cfn, turn_stack_name(stage),
                               template_body or TEMPLATE.read_text(),
                               stack_parameters(stage, options), log,
                               slow="the host installs coturn in a minute or two after that")
        urls = outputs["TurnUrls"]
        log(f"TURN relay at {outputs['PublicIp']}: {urls}")
    else:
        if delete_stack(cfn, turn_stack_name(stage)):
            log(f"deleted the relay stack {turn_stack_name(stage)}: a TURN provider replaces it")
        change = ensure_secure_string(ssm, name, stage, PARAMETER_DESCRIPTION, options.secret)
        if change != "kept":
            log(f"{change} the TURN provider's shared secret in {name}")
        urls = ",".join(options.urls)
    return {"PARLEY_TURN_URLS": urls, "PARLEY_TURN_SECRET_PARAM": name}


def remove_turn(cfn, ssm, stage: str, log: Callable[[str], None] = print) -> None:
    """Delete the relay stack and the TURN secret, whichever exist."""
    if delete_stack(cfn, turn_stack_name(stage)):
        log(f"deleted the relay stack {turn_stack_name(stage)}")
    if delete_parameter(ssm, secret_name(stage)):
        log(f"deleted {secret_name(stage)}")
