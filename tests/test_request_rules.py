"""Pure request rules: where to go after logging in, which address a request comes from,
and the grammar of the Matrix ids that reach the homeserver in a URL path."""

from __future__ import annotations

import ipaddress

import pytest

from common.matrix_ids import is_event_id, is_media_id, is_room_id, is_server_name, parse_mxc, segment
from portal.accounts.views import safe_next
from portal.security import forwarded_client


@pytest.mark.parametrize(
    "raw",
    [
        "/\t/evil.example/",  # a tab after the first slash (browsers drop it): `//evil.example/`
        "/\n/evil.example/",
        "/\r\n/evil.example",
        "//evil.example",
        "/\\evil.example",
        "/\\\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        " /chat",
        "\x00/chat",
        "/chat\x0bx",
        "",
        None,
        ["/chat"],
        "/ evil",
        "/\u3000/evil.example",
        "evil.example",
    ],
)
def test_a_next_url_off_this_site_goes_home(raw: object) -> None:
    assert safe_next(raw) == "/"


@pytest.mark.parametrize(
    "raw", ["/", "/chat", "/gallery?from=t123_4", "/chat#room=!a:b", "/%2F%2Fevil.example"]
)
def test_a_next_path_on_this_site_is_kept(raw: str) -> None:
    assert safe_next(raw) == raw


PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32")]


def _trusted(address: str) -> bool:
    try:
        return any(ipaddress.ip_address(address) in network for network in PROXIES)
    except ValueError:
        return False


@pytest.mark.parametrize(
    ("remote", "header", "client"),
    [
        ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # not a proxy: its header is ignored
        ("10.1.2.3", "198.51.100.1", "198.51.100.1"),
        ("10.1.2.3", "1.1.1.1, 198.51.100.1", "198.51.100.1"),  # the client's own claim is ignored
        ("10.1.2.3", "198.51.100.1, 10.9.9.9", "198.51.100.1"),  # two proxies in a row
        ("10.1.2.3", "", "10.1.2.3"),
        ("127.0.0.1", "10.0.0.7", "10.0.0.7"),  # only proxies: the first one
    ],
)
def test_the_client_address_behind_proxies(remote: str, header: str, client: str) -> None:
    assert forwarded_client(remote, header, _trusted) == client


def test_identifier_grammar() -> None:
    assert is_room_id("!abc:localhost") and is_room_id("!Z0_-abcDEF")
    assert is_event_id("$abc_DEF-123") and is_event_id("$abc:example.org")
    assert is_server_name("example.org:8448") and is_server_name("[::1]:8448")
    assert is_media_id("AbC_123-x")
    for bad in ["..%2F..", "../x", "a/b", "", "a b", "x" * 300]:
        assert not is_media_id(bad), bad
    for bad in ["!a/b:c", "!a:b/c", "a:b", "!a:b:99999", 5, None]:
        assert not is_room_id(bad), bad
    assert not is_server_name("example.org:70000") and not is_server_name("ex ample.org")
    assert parse_mxc("mxc://localhost/abc") == ("localhost", "abc")
    for bad in ["mxc://../../_matrix/x", "mxc://a/b/c", "mxc://localhost/..", "https://a/b", "mxc:///x", 3]:
        assert parse_mxc(bad) is None, bad
    assert segment("../a/b?c#d%") == "..%2Fa%2Fb%3Fc%23d%25"
