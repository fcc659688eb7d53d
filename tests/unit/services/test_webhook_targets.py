"""The SSRF guard of outgoing webhooks: only http(s) URLs whose every address is public,
unless the allow-list (``AUTOINVOICE_WEBHOOK_ALLOW``) names the host or network."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence

import httpx
import pytest

from autoinvoice.services.webhook_delivery import classify, post
from autoinvoice.services.webhook_targets import TargetPolicy, UnsafeTarget, check_target

NOBODY = TargetPolicy()


def resolver(table: dict[str, Sequence[str]]) -> Callable[[str, int], Sequence[str]]:
    """A resolver answering from ``table`` (a DNS server the attacker controls)."""

    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


PUBLIC = resolver(
    {"hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]}
)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.0.0.1:8080/hook",
        "https://[::1]/hook",
        "http://10.0.0.5/hook",
        "http://10.255.255.255/",
        "http://192.168.1.10/",
        "http://172.16.0.1/",
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "http://[fd00::1]/hook",
        "http://[fd12:3456:789a::1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/",
        "http://[::]/",
        "http://224.0.0.1/",
        "http://100.64.0.1/",  # carrier-grade NAT: not public either
        "http://[::ffff:127.0.0.1]/",  # loopback dressed as IPv6
    ],
)
def test_refuses_a_url_at_a_non_public_address(url: str) -> None:
    with pytest.raises(UnsafeTarget) as caught:
        check_target(url, NOBODY, resolve=PUBLIC)
    assert caught.value.field == "url"
    assert "not a public address" in caught.value.message


def test_refuses_localhost_as_the_system_resolver_answers_it() -> None:
    with pytest.raises(UnsafeTarget, match=r"127\.0\.0\.1|::1"):
        check_target("http://localhost:9000/hook", NOBODY)


def test_refuses_a_hostname_that_resolves_to_loopback() -> None:
    rebound = resolver({"innocent.example.com": ["127.0.0.1"]})
    with pytest.raises(UnsafeTarget, match=r"innocent\.example\.com is at 127\.0\.0\.1"):
        check_target("https://innocent.example.com/hook", NOBODY, resolve=rebound)


def test_refuses_a_hostname_when_any_of_its_addresses_is_private() -> None:
    mixed = resolver({"mixed.example.com": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(UnsafeTarget, match=r"10\.0\.0\.7"):
        check_target("https://mixed.example.com/hook", NOBODY, resolve=mixed)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://hooks.example.com/x",
        "gopher://hooks.example.com:70/_x",
        "hooks.example.com/hook",
        "https:///nohost",
    ],
)
def test_refuses_what_is_not_an_http_url(url: str) -> None:
    with pytest.raises(UnsafeTarget, match="http:// or https://"):
        check_target(url, NOBODY, resolve=PUBLIC)


def test_refuses_credentials_in_the_url() -> None:
    with pytest.raises(UnsafeTarget, match="credentials"):
        check_target("https://user:pw@hooks.example.com/hook", NOBODY, resolve=PUBLIC)


def test_accepts_a_public_host_and_connects_to_the_address_it_checked() -> None:
    target = check_target("https://hooks.example.com:8443/in?x=1", NOBODY, resolve=PUBLIC)
    assert target.address == "93.184.215.14"
    assert str(target.pinned) == "https://93.184.215.14:8443/in?x=1"
    assert target.url.host == "hooks.example.com"  # the Host header and TLS SNI


def test_a_name_that_does_not_resolve_raises_os_error_to_retry_later() -> None:
    with pytest.raises(OSError):
        check_target("https://gone.example.com/hook", NOBODY, resolve=PUBLIC)


def test_the_allow_list_admits_an_address_a_network_or_a_host() -> None:
    policy = TargetPolicy.parse("127.0.0.1, 10.0.0.0/8, hooks.internal, fd00::/8")
    office = resolver({"hooks.internal": ["192.168.7.7"], "other.internal": ["192.168.7.8"]})
    assert check_target("http://127.0.0.1:8080/h", policy).address == "127.0.0.1"
    assert check_target("http://10.20.30.40/h", policy).address == "10.20.30.40"
    assert check_target("http://[fd00::5]/h", policy).address == "fd00::5"
    assert check_target("http://hooks.internal/h", policy, resolve=office).address == (
        "192.168.7.7"
    )
    with pytest.raises(UnsafeTarget):  # only what is listed
        check_target("http://127.0.0.2/h", policy)
    with pytest.raises(UnsafeTarget):
        check_target("http://other.internal/h", policy, resolve=office)
    with pytest.raises(UnsafeTarget):  # the allow-list never admits other schemes
        check_target("file://127.0.0.1/etc/passwd", policy)


def test_an_empty_allow_list_setting_allows_nothing() -> None:
    assert TargetPolicy.parse(" , ") == TargetPolicy()


@pytest.mark.parametrize(
    "url", ["http://2130706433/", "http://127.1/", "http://0x7f000001/", "http://localhost./"]
)
def test_refuses_loopback_however_it_is_spelled(url: str) -> None:
    with pytest.raises(UnsafeTarget, match=r"127\.0\.0\.1"):
        check_target(url, NOBODY)  # the system resolver reads these without DNS


def test_the_request_goes_to_the_checked_address_with_the_name_in_host_and_sni() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    target = check_target("https://hooks.example.com/in", NOBODY, resolve=PUBLIC)
    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        attempt = post(http, target, {"webhook-id": "msg_1"}, '{"a":1}')
    assert (attempt.outcome, attempt.status_code) == ("delivered", 204)
    [request] = seen
    assert str(request.url) == "https://93.184.215.14/in"
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert request.content == b'{"a":1}' and request.headers["webhook-id"] == "msg_1"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "delivered"), (299, "delivered"), (301, "failed"), (307, "failed"), (400, "failed"),
     (404, "failed"), (410, "failed"), (429, "retry"), (500, "retry"), (503, "retry")],
)  # fmt: skip
def test_what_each_answer_means(status: int, outcome: str) -> None:
    assert classify(status).outcome == outcome
