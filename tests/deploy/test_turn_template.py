"""The relay host's coturn configuration (infra/turn.yaml, written by its user data) read
by coturn itself: the `<<CONF` block, rendered with the values the host would put in it
and moved to this machine (loopback address, free ports, log to stdout), is started with
the local `turnserver` (Debian's coturn, as on the host), which must accept every line,
answer STUN over UDP, TCP and (with a domain) TLS, take the app's credentials and refuse
to relay to private addresses. cfn-lint checks the template itself.
"""

import asyncio
import re
import secrets
import socket
import ssl
import struct
import subprocess
import time

import pytest
from aioice import stun
from aioice.turn import create_turn_endpoint

from chalicelib import turn
from devserver import coturn
from scripts.common import load_cfn_yaml
from scripts.turn import TEMPLATE
from tests.bots.aio import run_async
from tests.deploy.conftest import run_cfn_lint

WAIT = 20  # seconds: a ceiling for a slow machine, never a timing assert
PUBLIC_IP = "198.51.100.7"  # the Elastic IP the host would have
PRIVATE_RANGES = ["0.0.0.0-0.255.255.255", "10.0.0.0-10.255.255.255",
                  "100.64.0.0-100.127.255.255", "127.0.0.0-127.255.255.255",
                  "169.254.0.0-169.254.255.255", "172.16.0.0-172.31.255.255",
                  "192.168.0.0-192.168.255.255", "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                  "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::1"]

pytestmark = pytest.mark.skipif(coturn.binary() is None,
                                reason="coturn is not installed (make coturn installs it)")


def user_data() -> str:
    data = load_cfn_yaml(TEMPLATE)["Resources"]["LaunchTemplate"]["Properties"][
        "LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    return data[0] if isinstance(data, list) else data


def tls_lines() -> str:
    """The TLS part of the configuration the script writes when the stack has a Domain."""
    return re.search(r'TLS_LINES="(tls-listening-port=.*?)"\n', user_data(), re.S).group(1)


def config_block() -> str:
    """The configuration exactly as the user data writes it, `${...}` and `$...` unfilled."""
    return re.search(r"<<CONF\n(.*?)\nCONF\n", user_data(), re.S).group(1)


def rendered(secret: str, stage: str = "prod", tls: bool = False) -> str:
    """The configuration the host writes: the stack's values and the shell's."""
    text = config_block()
    for name, value in {"Address": PUBLIC_IP, "RelayPortMin": "49152", "RelayPortMax": "65535",
                        "Stage": stage}.items():
        text = text.replace("${" + name + "}", value)
    text = text.replace("$TLS_LINES", tls_lines() if tls else "no-tls")
    text = text.replace("$PRIVATE_IP", "10.73.0.12").replace("$SECRET", secret)
    assert "$" not in text, text
    return text


def on_this_machine(config: str, port: int, tls_port: int, relay: tuple[int, int],
                    workdir, cert=None) -> str:
    """The host's configuration moved here: its addresses, ports, log and files only."""
    moved = {"listening-ip": "127.0.0.1", "relay-ip": "127.0.0.1",
             "external-ip": f"{PUBLIC_IP}/127.0.0.1", "listening-port": str(port),
             "tls-listening-port": str(tls_port), "min-port": str(relay[0]),
             "max-port": str(relay[1]), "log-file": "stdout"}
    if cert:
        moved |= {"cert": str(cert[0]), "pkey": str(cert[1])}
    lines = []
    for line in config.splitlines():
        key, sep, _ = line.partition("=")
        lines.append(f"{key}={moved[key]}" if sep and key in moved else line)
    lines += [f"userdb={workdir / 'turndb'}", f"pidfile={workdir / 'turnserver.pid'}"]
    return "\n".join(lines) + "\n"


def options(config: str) -> dict[str, list[str]]:
    found = {}
    for line in config.splitlines():
        key, _, value = line.partition("=")
        found.setdefault(key, []).append(value)
    return found


def test_the_relay_template_passes_cfn_lint():
    result = run_cfn_lint(TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_configuration_checks_the_apps_credentials_and_denies_private_peers():
    found = options(rendered("s3cret"))
    assert "use-auth-secret" in found and found["static-auth-secret"] == ["s3cret"]
    assert found["listening-port"] == ["3478"]
    assert found["external-ip"] == [f"{PUBLIC_IP}/10.73.0.12"]
    assert found["listening-ip"] == found["relay-ip"] == ["10.73.0.12"]
    assert (found["min-port"], found["max-port"]) == (["49152"], ["65535"])
    assert "no-multicast-peers" in found and "no-tls" in found
    assert "allow-loopback-peers" not in found  # coturn's default: no relaying to loopback
    assert set(PRIVATE_RANGES) <= set(found["denied-peer-ip"])
    tls = options(rendered("s3cret", tls=True))
    assert tls["tls-listening-port"] == ["443"] and "no-tls" not in tls
    assert tls["cert"] == ["/etc/coturn/certs/fullchain.pem"]


@pytest.fixture
def self_signed(tmp_path):
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=turn.example.com", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def relay_host(tmp_path, self_signed):
    """coturn running the host's configuration (with a domain) on this machine; yields
    (secret, UDP/TCP port, TLS port, its log path, the process)."""
    secret = secrets.token_urlsafe(48)
    port, tls_port = coturn.free_port(), coturn.free_port(0)
    first = 50000 + secrets.randbelow(5000) * 2
    conf = tmp_path / "turnserver.conf"
    conf.write_text(on_this_machine(rendered(secret, tls=True), port, tls_port,
                                    (first, first + 39), tmp_path, self_signed))
    log_path = tmp_path / "coturn.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([coturn.binary(), "-c", str(conf)], stdin=subprocess.DEVNULL,
                                stdout=log_file, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        yield secret, port, tls_port, log_path, proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for_stun(host_port: int, transport: str, proc) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and proc.poll() is None:
        if coturn.stun_binding("127.0.0.1", host_port, transport, timeout=0.5):
            return True
        time.sleep(0.1)
    return False


def stun_over_tls(port: int) -> bool:
    """A STUN Binding request over TLS (turns:) answered by a Binding success."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate
    tid = secrets.token_bytes(12)
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as raw, \
            context.wrap_socket(raw, server_hostname="turn.example.com") as tls:
        tls.sendall(struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid)
        answer = tls.recv(2048)
    return struct.unpack("!H", answer[:2])[0] == 0x0101 and answer[8:20] == tid


class Inbox(asyncio.DatagramProtocol):
    def __init__(self):
        self.errors = asyncio.Queue()

    def error_received(self, exc):
        self.errors.put_nowait(exc)


def peer_refusals(port: int, username: str, password: str, peers) -> dict:
    """Allocate with the app's credentials, then send towards each peer (a ChannelBind
    first): {peer: the STUN error coturn answered, or None when it accepted}."""
    async def attempt():
        relay, inbox = await asyncio.wait_for(create_turn_endpoint(
            Inbox, ("127.0.0.1", port), username, password, transport="udp"), WAIT)
        try:
            result = {}
            for peer in peers:
                relay.sendto(b"x", peer)
                try:
                    error = await asyncio.wait_for(inbox.errors.get(), 2)
                except TimeoutError:
                    result[peer] = None
                else:
                    assert isinstance(error, stun.TransactionFailed), error
                    result[peer] = error.response.attributes["ERROR-CODE"]
            return result, relay.get_extra_info("sockname")
        finally:
            relay.close()
            await asyncio.sleep(0.1)
    return run_async(attempt)


def test_coturn_runs_the_hosts_configuration_over_udp_tcp_and_tls(relay_host):
    secret, port, tls_port, log_path, proc = relay_host
    assert wait_for_stun(port, "udp", proc), log_path.read_text()
    assert wait_for_stun(port, "tcp", proc), log_path.read_text()
    assert stun_over_tls(tls_port), log_path.read_text()
    log = log_path.read_text()
    assert "Bad configuration format" not in log and "CONFIG ERROR" not in log, log
    for denied in PRIVATE_RANGES:
        assert f"Black listing: {denied}" in log


def test_the_host_relays_with_the_apps_credentials_to_public_peers_only(relay_host):
    secret, port, _, log_path, proc = relay_host
    assert wait_for_stun(port, "udp", proc), log_path.read_text()
    username, password = turn.credentials(secret, "abcDEF123456", int(time.time()) + 600)
    private = [("10.0.0.5", 9), ("172.16.0.5", 9), ("192.168.1.5", 9), ("127.0.0.1", 9),
               ("169.254.169.254", 80)]
    public = ("1.1.1.1", 9)  # discard port: one stray datagram at most
    refusals, relayed = peer_refusals(port, username, password, [*private, public])
    assert relayed[0] == PUBLIC_IP  # external-ip: pages are told the public address
    assert {peer: refusals[peer] for peer in private} == {
        peer: (403, "Forbidden IP") for peer in private}, log_path.read_text()
    assert refusals[public] is None
