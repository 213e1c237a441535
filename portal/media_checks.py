"""What an upload really is, decided by its content: images are opened by Pillow under
decompression-bomb limits and re-encoded (EXIF, GPS above all, dropped; orientation
applied to the pixels); videos must be MP4 or WebM by their magic bytes (PyAV then reads their size and first
frame for a thumbnail). Anything else is refused with a reason."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_IMAGE_PIXELS = 40_000_000  # about 7000 x 5700; larger images are refused
THUMBNAIL_SIZE = (400, 400)
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
MP4_BRANDS = {
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"M4V ",
    b"dash",
    b"mmp4",
}


class UploadRefused(ValueError):
    """The upload is not an image or video we accept; the message says why."""


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    mimetype: str
    width: int
    height: int
    thumbnail: bytes
    thumbnail_mimetype: str
    thumbnail_width: int
    thumbnail_height: int


@dataclass(frozen=True)
class CheckedVideo:
    mimetype: str
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None
    thumbnail_width: int = 0
    thumbnail_height: int = 0


def sniff_video(head: bytes) -> str | None:
    """`video/mp4` or `video/webm` from the first bytes, else None."""
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in MP4_BRANDS:
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:64]:
        return "video/webm"
    return None


def describe_video(path: Path, mimetype: str) -> CheckedVideo:
    """Dimensions and a JPEG thumbnail of the first frame, when PyAV can decode the video.
    A video it cannot decode is still accepted (its magic bytes were right), without them."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            frame = next(container.decode(stream))
            width, height = stream.codec_context.width, stream.codec_context.height
            still = frame.to_image()
    except (av.FFmpegError, IndexError, StopIteration, ValueError, OSError):
        return CheckedVideo(mimetype)
    still.thumbnail(THUMBNAIL_SIZE)
    return CheckedVideo(mimetype, width, height, _encode(still, "JPEG"), still.width, still.height)


def check_image(path: Path) -> CheckedImage:
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(path) as probe:
            kind = probe.format or ""
            probe.verify()
        if kind not in IMAGE_FORMATS:
            raise UploadRefused(f"{kind or 'This'} images are not accepted; use JPEG, PNG, GIF or WebP.")
        with Image.open(path) as original:
            image = ImageOps.exif_transpose(original)  # keep the orientation, in the pixels
            image.load()
    except Image.DecompressionBombError:
        raise UploadRefused("That image is too large in pixels to be safe to open.") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise UploadRefused(f"That file is not a readable image ({error.__class__.__name__}).") from None
    data = _encode(image, kind)
    thumb = image.copy()
    thumb.thumbnail(THUMBNAIL_SIZE)
    thumb_kind = "PNG" if kind in {"PNG", "GIF"} else "JPEG"
    return CheckedImage(
        data=data,
        mimetype=IMAGE_FORMATS[kind],
        width=image.width,
        height=image.height,
        thumbnail=_encode(thumb, thumb_kind),
        thumbnail_mimetype=IMAGE_FORMATS[thumb_kind],
        thumbnail_width=thumb.width,
        thumbnail_height=thumb.height,
    )


def _encode(image: Image.Image, kind: str) -> bytes:
    """Re-encode without metadata: no EXIF, no GPS, no trailing bytes of any kind."""
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
    elif kind == "GIF":
        image.save(out, "GIF")
    elif kind == "WEBP":
        image.save(out, "WEBP", quality=90)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()


def check_upload(path: Path) -> CheckedImage | CheckedVideo:
    with open(path, "rb") as handle:
        head = handle.read(64)
    if not head:
        raise UploadRefused("The file is empty.")
    video = sniff_video(head)
    if video:
        return describe_video(path, video)
    if (
        head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a"))
        or head[8:12] == b"WEBP"
    ):
        return check_image(path)
    raise UploadRefused("Only images (JPEG, PNG, GIF, WebP) and videos (MP4, WebM) can be shared.")
