"""What an upload really is, decided by its content, within explicit limits. This code
runs in a separate worker process (`portal.gallery.media_worker`), never in the portal's own.

- Images are opened by Pillow; their declared size is checked before any pixel is
  decoded (at most `MAX_IMAGE_PIXELS`, never Pillow's twice-as-large bomb threshold),
  then decoded once, turned upright in place (EXIF orientation), and re-encoded without
  metadata (EXIF, GPS above all, is gone). The image and its thumbnail go to files.
- Videos must be MP4 or WebM by their magic bytes and by the container PyAV finds, with
  an allowed codec and size; the first frame becomes a thumbnail.
Anything else is refused with a reason (`UploadRefused`)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image, ImageOps, UnidentifiedImageError

from portal.uploads import UploadRefused as UploadRefused  # what the worker raises

MAX_IMAGE_PIXELS = 40_000_000  # about 7000 x 5700; larger images are refused
MAX_VIDEO_PIXELS = 8192 * 4320
THUMBNAIL_SIZE = (400, 400)
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
MP4_BRANDS = {
    b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash", b"mmp4",
}  # fmt: skip
VIDEO_CONTAINERS = {"video/mp4": "mov,mp4,m4a,3gp,3g2,mj2", "video/webm": "matroska,webm"}
VIDEO_CODECS = {"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"}

# Pillow's own guard, as a second line: a warning is an error, and its limit is ours.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)


@dataclass(frozen=True)
class CheckedImage:
    path: Path  # the re-encoded image
    mimetype: str
    width: int
    height: int
    thumbnail_path: Path
    thumbnail_mimetype: str
    thumbnail_width: int
    thumbnail_height: int


@dataclass(frozen=True)
class CheckedVideo:
    mimetype: str
    width: int | None = None
    height: int | None = None
    thumbnail_path: Path | None = None
    thumbnail_width: int = 0
    thumbnail_height: int = 0


def sniff_video(head: bytes) -> str | None:
    """`video/mp4` or `video/webm` from the first bytes, else None."""
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in MP4_BRANDS:
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:64]:
        return "video/webm"
    return None


def check_upload(path: Path) -> CheckedImage | CheckedVideo:
    """Check the file at `path`; what it produces is written beside it."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if not head:
        raise UploadRefused("The file is empty.")
    video = sniff_video(head)
    if video:
        return check_video(path, video)
    if (
        head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a"))
        or head[8:12] == b"WEBP"
    ):
        return check_image(path)
    raise UploadRefused("Only images (JPEG, PNG, GIF, WebP) and videos (MP4, WebM) can be shared.")


def check_image(path: Path) -> CheckedImage:
    try:
        with Image.open(path) as image:
            kind = image.format or ""
            if kind not in IMAGE_FORMATS:
                raise UploadRefused(f"{kind or 'This'} images are not accepted; use JPEG, PNG, GIF or WebP.")
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise UploadRefused(_too_many_pixels(width, height))
            if kind == "JPEG":
                image.draft("RGB", image.size)  # decode straight to RGB, no second copy
            image.load()
            upright = ImageOps.exif_transpose(image, in_place=True) or image
            full_path = path.with_name(path.name + ".full")
            _save(upright, kind, full_path)
            full_size = upright.size
            upright.thumbnail(THUMBNAIL_SIZE)  # in place: the big image is not kept twice
            thumb_kind = "PNG" if kind in {"PNG", "GIF"} else "JPEG"
            thumb_path = path.with_name(path.name + ".thumb")
            _save(upright, thumb_kind, thumb_path)
    except UploadRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        megapixels = MAX_IMAGE_PIXELS // 1_000_000
        message = f"That image is too large in pixels to open; the limit is {megapixels} megapixels."
        raise UploadRefused(message) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise UploadRefused(f"That file is not a readable image ({error.__class__.__name__}).") from None
    return CheckedImage(
        path=full_path,
        mimetype=IMAGE_FORMATS[kind],
        width=full_size[0],
        height=full_size[1],
        thumbnail_path=thumb_path,
        thumbnail_mimetype=IMAGE_FORMATS[thumb_kind],
        thumbnail_width=upright.width,
        thumbnail_height=upright.height,
    )


def check_video(path: Path, mimetype: str) -> CheckedVideo:
    """Container, codec and size checked before any frame is decoded; then the first frame
    becomes a JPEG thumbnail. A video whose first frame does not decode is still accepted
    (its container and codec were right), without a thumbnail."""
    try:
        container = av.open(str(path), options={"probesize": "5000000", "analyzeduration": "5000000"})
    except (av.FFmpegError, OSError, ValueError) as error:
        raise UploadRefused(f"That file is not a readable video ({error.__class__.__name__}).") from None
    with container:
        if container.format.name != VIDEO_CONTAINERS[mimetype]:
            raise UploadRefused("Only MP4 and WebM videos can be shared.")
        if not container.streams.video:
            raise UploadRefused("That file has no video in it.")
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        width, height = stream.codec_context.width, stream.codec_context.height
        if codec not in VIDEO_CODECS:
            raise UploadRefused(f"Videos encoded with {codec} are not accepted; use H.264, VP8, VP9 or AV1.")
        if width * height > MAX_VIDEO_PIXELS:
            raise UploadRefused(_too_many_pixels(width, height))
        try:
            frame = next(container.decode(stream))
            still = frame.to_image()
        except (av.FFmpegError, StopIteration, ValueError, OSError, MemoryError):
            return CheckedVideo(mimetype, width or None, height or None)
    still.thumbnail(THUMBNAIL_SIZE)
    thumb_path = path.with_name(path.name + ".thumb")
    _save(still, "JPEG", thumb_path)
    return CheckedVideo(mimetype, width, height, thumb_path, still.width, still.height)


def _too_many_pixels(width: int, height: int) -> str:
    return (
        f"That picture is {width} × {height} pixels; the limit is {MAX_IMAGE_PIXELS // 1_000_000} megapixels."
    )


def _save(image: Image.Image, kind: str, target: Path) -> None:
    """Re-encode without metadata: no EXIF, no GPS, no trailing bytes of any kind."""
    if kind == "JPEG":
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        rgb.save(target, "JPEG", quality=90, optimize=True)
    elif kind == "GIF":
        image.save(target, "GIF")
    elif kind == "WEBP":
        image.save(target, "WEBP", quality=90)
    else:
        image.save(target, "PNG", optimize=True)
