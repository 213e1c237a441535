"""What the portal chat tells the browser about Matrix events (pure, no server)."""

from __future__ import annotations

from portal.chat.events import describe

ALICE, BOB = "@alice:localhost", "@bob:localhost"


def message(body: str, sender: str = ALICE, event_id: str = "$m1", **content: object) -> dict[str, object]:
    return {
        "type": "m.room.message",
        "event_id": event_id,
        "sender": sender,
        "origin_server_ts": 1,
        "content": {"msgtype": "m.text", "body": body, **content},
    }


def test_plain_text_stays_text_and_carries_no_html() -> None:
    view = describe(message("<img src=x onerror=alert(1)>"), {ALICE: "Alice"})
    assert view is not None
    assert view["body"] == "<img src=x onerror=alert(1)>" and view["html"] is None
    assert view["sender_name"] == "Alice"
    assert describe(message("hi", sender=BOB))["sender_name"] == "bob"  # type: ignore[index]


def test_html_is_sanitised_before_it_reaches_the_browser() -> None:
    evil = (
        '<b>bold</b><script>alert(1)</script><img src="https://evil.example/x.png" onerror="alert(2)">'
        '<a href="javascript:alert(3)">click</a><a href="https://ok.example">ok</a><iframe src="x"></iframe>'
    )
    view = describe(message("bold", format="org.matrix.custom.html", formatted_body=evil))
    assert view is not None
    html = view["html"]
    assert "<b>bold</b>" in html and 'href="https://ok.example"' in html
    for bad in ("<script", "alert(1)", "<img", "onerror", "javascript:", "<iframe"):
        assert bad not in html, bad


def test_an_edit_names_the_message_it_replaces_and_carries_the_new_text() -> None:
    edit = message(
        "* hello world",
        event_id="$e1",
        **{
            "m.new_content": {"msgtype": "m.text", "body": "hello world"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$m1"},
        },
    )
    view = describe(edit)
    assert view is not None
    assert (view["type"], view["target"], view["body"], view["sender"]) == (
        "edit",
        "$m1",
        "hello world",
        ALICE,
    )


def test_history_shows_the_latest_edit_by_the_author_only() -> None:
    original = message("hel")
    edit_by_author = {"sender": ALICE, "content": {"m.new_content": {"msgtype": "m.text", "body": "hello"}}}
    original["unsigned"] = {"m.relations": {"m.replace": edit_by_author}}
    assert describe(original)["body"] == "hello"  # type: ignore[index]
    edit_by_someone_else = {
        "sender": BOB,
        "content": {"m.new_content": {"msgtype": "m.text", "body": "pwned"}},
    }
    original["unsigned"] = {"m.relations": {"m.replace": edit_by_someone_else}}
    assert describe(original)["body"] == "hel"  # type: ignore[index]


def test_a_reply_drops_its_quoted_fallback() -> None:
    reply = message(
        "> <@bob:localhost> what is 2+2?\n\n4",
        format="org.matrix.custom.html",
        formatted_body="<mx-reply><blockquote>what is 2+2?</blockquote></mx-reply><p>4</p>",
        **{"m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}},
    )
    view = describe(reply)
    assert view is not None
    assert view["body"] == "4" and view["html"] == "<p>4</p>" and view["reply_to"] == "$q"


def test_media_goes_through_the_portal_proxy() -> None:
    image = message(
        "cat.png",
        msgtype="m.image",
        url="mxc://localhost/abc",
        info={"w": 10, "h": 5, "mimetype": "image/png"},
    )
    view = describe(image)
    assert view is not None
    assert view["media"] == {
        "kind": "image",
        "url": "/media/localhost/abc",
        "thumb": "/media/localhost/abc?thumb=1",
        "width": 10,
        "height": 5,
    }
    outside = describe(message("x.png", msgtype="m.image", url="https://evil.example/x.png"))
    assert outside is not None and outside["media"]["url"] is None


def test_redactions_encrypted_and_membership() -> None:
    redaction = {
        "type": "m.room.redaction",
        "event_id": "$r",
        "sender": ALICE,
        "redacts": "$m1",
        "content": {},
    }
    assert describe(redaction)["target"] == "$m1"  # type: ignore[index]
    assert describe({**message("x"), "content": {}})["deleted"] is True  # type: ignore[index]
    encrypted = {
        "type": "m.room.encrypted",
        "event_id": "$x",
        "sender": ALICE,
        "content": {"ciphertext": "…"},
    }
    assert describe(encrypted)["type"] == "encrypted"  # type: ignore[index]
    join = {
        "type": "m.room.member",
        "event_id": "$j",
        "sender": BOB,
        "state_key": BOB,
        "content": {"membership": "join", "displayname": "Bob"},
    }
    assert describe(join)["body"] == "Bob joined"  # type: ignore[index]
    rename = {**join, "unsigned": {"prev_content": {"membership": "join"}}}
    assert describe(rename) is None
    assert describe({"type": "m.reaction", "event_id": "$z", "sender": BOB, "content": {}}) is None


def test_own_messages_carry_their_transaction_id() -> None:
    mine = {**message("hi"), "unsigned": {"transaction_id": "abc-123"}}
    assert describe(mine)["txn"] == "abc-123"  # type: ignore[index]
