"""Callback URLs of recordings: http(s) to public addresses only, unless the local stack
allows this machine; every refusal says why."""

import pytest

from chalicelib import callbacks
from chalicelib.errors import InvalidCallbackUrl


def resolving_to(*addresses):
    """A resolver that answers `addresses` for any host, and records what it was asked."""
    asked = []

    def resolve(host, port):
        asked.append((host, port))
        return list(addresses)

    resolve.asked = asked
    return resolve


def unresolvable(host, port):
    raise OSError(-2, "Name or service not known")


@pytest.mark.parametrize("url, port", [("https://hooks.example.com/parley", 443),
                                       ("http://hooks.example.com:8080/x?y=1", 8080)])
def test_http_and_https_to_a_public_address_are_accepted(url, port):
    resolve = resolving_to("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    assert callbacks.check(url, resolver=resolve) == url
    assert resolve.asked == [("hooks.example.com", port)]


@pytest.mark.parametrize("address", [
    "10.1.2.3", "172.16.0.9", "192.168.1.1",  # private
    "127.0.0.1", "::1",                        # loopback
    "169.254.169.254", "fe80::1",              # link-local (instance metadata among them)
    "224.0.0.251", "ff02::1",                  # multicast
    "240.0.0.1",                               # reserved
    "0.0.0.0", "::",  # noqa: S104 (unspecified: refused, never bound)
    "100.64.0.1",                              # shared address space (carrier NAT)
    "fc00::1",                                 # unique local
    "::ffff:127.0.0.1", "::ffff:10.0.0.1",     # IPv4 inside IPv6
    "2001:db8::1",                             # documentation
])
def test_a_host_resolving_to_a_non_public_address_is_refused(address):
    with pytest.raises(InvalidCallbackUrl) as refused:
        callbacks.check("https://hooks.example.com/", resolver=resolving_to(address))
    assert refused.value.status == 400 and refused.value.code == "invalid_callback_url"
    assert address in refused.value.message


def test_one_private_address_among_public_ones_is_enough_to_refuse():
    with pytest.raises(InvalidCallbackUrl):
        callbacks.check("https://hooks.example.com/",
                        resolver=resolving_to("93.184.215.14", "10.0.0.7"))


def test_ip_literals_are_checked_like_names():
    assert callbacks.check("http://93.184.215.14/cb") == "http://93.184.215.14/cb"
    for url in ("http://127.0.0.1:9000/cb", "http://[::1]/cb", "http://169.254.169.254/"):
        with pytest.raises(InvalidCallbackUrl):
            callbacks.check(url)


def test_the_local_stack_may_call_this_machine_back():
    url = "http://127.0.0.1:9000/done"
    assert callbacks.check(url, allow_private=True) == url
    assert callbacks.check("http://10.0.0.5/x", allow_private=True,
                           resolver=resolving_to("10.0.0.5")) == "http://10.0.0.5/x"


@pytest.mark.parametrize("url, why", [
    ("ftp://hooks.example.com/x", "http or https"),
    ("file:///etc/passwd", "http or https"),
    ("javascript:alert(1)", "http or https"),
    ("hooks.example.com/x", "http or https"),
    ("https:///path", "no host"),
    ("https://user:secret@hooks.example.com/", "user name or password"),
    ("https://hooks.example.com:99999/", "not a valid URL"),
    ("https://hooks.example.com/a b", "spaces"),
    ("https://hooks..example.com/", "not a valid host name"),
    ("https://hooks!.example.com/", "not a valid host name"),
    ("https://" + "a" * 64 + ".example.com/", "not a valid host name"),
])
def test_malformed_urls_are_refused_with_the_reason(url, why):
    with pytest.raises(InvalidCallbackUrl) as refused:
        callbacks.check(url, allow_private=True, resolver=resolving_to("93.184.215.14"))
    assert why in refused.value.message


def test_international_names_are_looked_up_in_their_ascii_form():
    resolve = resolving_to("93.184.215.14")
    callbacks.check("https://bücher.example/hook", resolver=resolve)
    assert resolve.asked == [("bücher.example", 443)]  # getaddrinfo encodes it itself


def test_a_host_that_does_not_resolve_is_refused_even_locally():
    for allow in (False, True):
        with pytest.raises(InvalidCallbackUrl) as refused:
            callbacks.check("https://no-such-host.invalid/", allow_private=allow,
                            resolver=unresolvable)
        assert "cannot be resolved" in refused.value.message
