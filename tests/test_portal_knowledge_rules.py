"""The Room knowledge page's pure rules, table-driven: which files are taken (by name, then
by content, however the upload is cut into chunks), who moderates a room by its power
levels, what a room without a name is called, and each file state in words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appdb.knowledge import FileState
from common.power_levels import may_redact_others
from portal.knowledge import strings
from portal.knowledge.file_kinds import ContentCheck, kind_of
from portal.knowledge.files import row, status_words
from portal.knowledge.rooms import unnamed_room_name
from portal.uploads import UploadRefused

ME, BOT = "@me:example.org", "@bot:example.org"


@pytest.mark.parametrize(
    ("name", "mimetype"),
    [
        ("guide.pdf", "application/pdf"),
        ("GUIDE.PDF", "application/pdf"),
        ("notes.txt", "text/plain"),
        ("readme.md", "text/markdown"),
        ("archive.tar.md", "text/markdown"),
        ("guide.docx", None),
        ("notes.md.exe", None),
        ("markdown", None),
        (".md", None),  # a hidden file called "md", no extension
        ("notes.markdown", None),
    ],
)
def test_a_file_is_taken_by_its_extension(name: str, mimetype: str | None) -> None:
    kind = kind_of(name)
    assert (kind.mimetype if kind else None) == mimetype


def _check(name: str, chunks: list[bytes]) -> None:
    kind = kind_of(name)
    assert kind is not None
    check = ContentCheck(kind, name)
    for chunk in chunks:
        check(chunk)
    check.finish()


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" + bytes(range(256)) * 8


@pytest.mark.parametrize(
    ("name", "content", "refusal"),
    [
        ("a.pdf", PDF, None),
        ("a.pdf", b"\x00" * 1000 + PDF, None),  # junk before the header, as readers allow
        ("a.pdf", b"\x00" * 1024 + PDF, strings.NOT_A_PDF),  # the header past the first kilobyte
        ("a.pdf", b"MZ\x90\x00 a program renamed", strings.NOT_A_PDF),
        ("a.pdf", b"<html><script>alert(1)</script></html>" * 40, strings.NOT_A_PDF),
        ("a.txt", "Grüße, 世界 ✓\n".encode(), None),
        ("a.md", "# Title\n\n- item\n".encode("utf-8-sig"), None),
        ("a.txt", "café".encode("latin-1"), strings.NOT_TEXT),
        ("a.md", b"text with a \x00 NUL", strings.NOT_TEXT),
        ("a.txt", "ends mid-letter é".encode()[:-1], strings.NOT_TEXT),
        ("a.txt", PDF, strings.NOT_TEXT),
    ],
)
def test_the_content_must_be_what_the_name_says(name: str, content: bytes, refusal: str | None) -> None:
    if refusal is None:
        _check(name, [content])
    else:
        with pytest.raises(UploadRefused, match=refusal.format(name=name).split(" (")[0]):
            _check(name, [content])


def _cut(content: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(content) + 1) for c in cuts})
    return [content[a:b] for a, b in zip([0, *points], [*points, len(content)], strict=True)]


@given(
    content=st.one_of(
        st.text().map(str.encode),
        st.binary(),
        st.binary(max_size=1100).map(lambda junk: junk + PDF),
    ),
    cuts=st.lists(st.integers(min_value=0), max_size=12),
    name=st.sampled_from(["x.pdf", "x.txt", "x.md"]),
)
def test_the_verdict_does_not_depend_on_how_the_upload_is_cut(
    content: bytes, cuts: list[int], name: str
) -> None:
    def verdict(chunks: list[bytes]) -> str:
        try:
            _check(name, chunks)
        except UploadRefused as refused:
            return str(refused)
        return "taken"

    assert verdict(_cut(content, cuts)) == verdict([content])


V10_BY_BOB = {"sender": "@bob:example.org", "content": {"room_version": "10", "creator": "@bob:example.org"}}


def _v12(sender: str, *additional: str) -> dict[str, object]:
    return {"sender": sender, "content": {"room_version": "12", "additional_creators": list(additional)}}


@pytest.mark.parametrize(
    ("levels", "create", "moderates"),
    [
        ({"users": {ME: 100}}, V10_BY_BOB, True),  # redact defaults to 50
        ({"users": {ME: 50}, "redact": 50}, V10_BY_BOB, True),
        ({"users": {ME: 49}, "redact": 50}, V10_BY_BOB, False),
        ({"users": {}, "users_default": 0}, V10_BY_BOB, False),
        ({"users_default": 60}, V10_BY_BOB, True),
        ({"users": {ME: 0}, "users_default": 100}, V10_BY_BOB, False),  # the person's own entry decides
        ({"users": {ME: 10}, "redact": 5}, V10_BY_BOB, True),
        ({"users": {ME: "75"}, "redact": "50"}, V10_BY_BOB, True),  # old rooms hold levels as strings
        ({"users": {ME: True}, "redact": 0}, V10_BY_BOB, True),  # a boolean is no level: 0 >= 0
        ({"users": {ME: True}, "redact": 1}, V10_BY_BOB, False),
        ({"users": {ME: "lots"}}, V10_BY_BOB, False),
        ({"users": [ME], "users_default": 0}, V10_BY_BOB, False),
        ({"users": {ME: 100}, "redact": {"level": 0}}, V10_BY_BOB, True),  # a malformed redact: the default
        ({}, V10_BY_BOB, False),
        # Version 12: creators rank above every level, and are not in `users`.
        ({"users": {}, "redact": 50}, _v12(ME), True),
        ({"users": {}, "redact": 100}, _v12("@bob:example.org", ME), True),
        ({"users": {"@bob:example.org": 100}}, _v12("@bob:example.org"), False),
        ({"users": {}}, {"sender": ME, "content": {"room_version": "10", "creator": ME}}, False),
        # No power levels at all: the creator has 100, everyone else 0.
        (None, V10_BY_BOB, False),
        (None, {"sender": ME, "content": {"room_version": "10", "creator": ME}}, True),
        (None, None, False),
        ({"users": {ME: 100}}, {"sender": ME, "content": "not an object"}, True),
    ],
)
def test_a_moderator_has_at_least_the_rooms_redact_level(
    levels: dict[str, object] | None, create: dict[str, object] | None, moderates: bool
) -> None:
    assert may_redact_others(levels, create, ME) is moderates


@pytest.mark.parametrize(
    ("members", "name"),
    [
        ({ME: "Me", BOT: "AI"}, strings.DIRECT_CHAT_WITH_ASSISTANT),
        ({ME: "Me"}, strings.EMPTY_ROOM),
        ({ME: "Me", "@bob:example.org": "Bob"}, "Bob"),
        ({ME: "Me", "@bob:example.org": "Bob", BOT: "AI"}, "Bob"),
        ({ME: "", "@bob:example.org": ""}, "bob"),
        ({ME: "Me", "@a:x": "Ann", "@b:x": "Bea", "@c:x": "Cy"}, "Ann, Bea, Cy"),
        ({ME: "Me", "@a:x": "Ann", "@b:x": "Bea", "@c:x": "Cy", "@d:x": "Di"}, "Ann, Bea, Cy and 1 more"),
        ({ME: "Me", "@a:x": "Sam", "@b:x": "sam"}, "Sam (@a:x), sam (@b:x)"),  # look-alikes show ids
    ],
)
def test_a_room_without_a_name_is_called_after_the_others_in_it(members: dict[str, str], name: str) -> None:
    assert unnamed_room_name(members, ME, BOT) == name


def _file(state: str, **values: object) -> FileState:
    fields: dict[str, object] = {
        "event_id": "$e",
        "name": "guide.pdf",
        "uploader": ME,
        "state": state,
        "reason": "",
        "pages": 0,
        "chunks": 0,
        **values,
    }
    return FileState(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("file", "words"),
    [
        (_file("queued"), "Waiting to be read"),
        (_file("indexing", progress=40), "Being read: 40% done"),
        (_file("indexing", progress=250), "Being read: 100% done"),
        (_file("ready", pages=12, chunks=48), "Ready: 12 pages, 48 passages"),
        (_file("ready", pages=1, chunks=1), "Ready: 1 page, 1 passage"),
        (_file("ready", name="notes.md", pages=3, chunks=5), "Ready: 3 sections, 5 passages"),
        (
            _file("failed", reason="It has no text I can read."),
            "Could not be read: It has no text I can read.",
        ),
        (_file("failed"), "Could not be read."),
        (_file("lost"), "Unknown state (lost)"),
    ],
)
def test_each_state_in_plain_words(file: FileState, words: str) -> None:
    assert status_words(file) == words


def test_the_delete_button_is_for_the_uploader_and_moderators_only() -> None:
    mine, theirs = _file("ready"), _file("ready", uploader="@bob:example.org")
    assert row(mine, ME, moderator=False).deletable and row(mine, ME, moderator=False).posted_by == "you"
    assert not row(theirs, ME, moderator=False).deletable
    assert row(theirs, ME, moderator=True).deletable
    assert row(theirs, ME, moderator=True).posted_by == "@bob:example.org"
