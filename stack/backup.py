"""`make backup` / `make restore` for the `make run` path: everything under DATA_DIR that
cannot be made again, in one archive, taken while the stack runs.

Each SQLite database (Synapse's, the app's, the bot's encryption store) is copied with
SQLite's online backup API, so each copy is consistent even while it is written; every
other file (secrets, the signing key, the media store, the bot's login) is copied as it
is. Logs, pid files, uploads in progress and earlier backups are left out. A restore
unpacks an archive into an empty DATA_DIR with private modes; the next `make run`
renders Synapse's config for that folder and goes on where the backup was taken.

The compose path keeps its databases in PostgreSQL: docs/OPERATIONS.md backs them up
with `pg_dump`; this module refuses a PostgreSQL setup instead of half-saving it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"
SKIPPED_DIRS = {Path("run"), Path("backups"), Path("portal/uploads-tmp")}
SKIPPED_SUFFIXES = (".log", ".pid", "-wal", "-shm", "-journal")
MANIFEST = "backup-manifest.json"


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why and what to do."""


def _is_sqlite(path: Path) -> bool:
    with open(path, "rb") as stream:
        return stream.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


def _wanted(relative: Path) -> bool:
    if any(relative == skipped or skipped in relative.parents for skipped in SKIPPED_DIRS):
        return False
    return not relative.name.endswith(SKIPPED_SUFFIXES)


def _copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (its WAL included)."""
    with (
        sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30) as live,
        sqlite3.connect(target) as copy,
    ):
        live.backup(copy)
    copy.close()


def backup(data_dir: Path, destination: Path, database_urls: tuple[str, ...] = ()) -> Path:
    """Write `destination/backup-<UTC time>.tar.gz` of `data_dir`; returns its path."""
    if any(url.startswith(("postgres", "postgresql")) for url in database_urls if url):
        raise BackupError(
            "a database is on PostgreSQL: back it up with pg_dump as docs/OPERATIONS.md shows "
            "(this command covers the make run path, where everything is in DATA_DIR)"
        )
    if not (data_dir / "secrets").is_dir():
        raise BackupError(f"{data_dir} holds no platform data (no secrets folder): nothing to back up")
    destination.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    archive = destination / f"backup-{stamp}.tar.gz"
    databases, files = [], 0
    with tempfile.TemporaryDirectory(dir=destination, prefix=".staging-") as staging_name:
        staging = Path(staging_name)
        for path in sorted(data_dir.rglob("*")):
            relative = path.relative_to(data_dir)
            if not path.is_file() or path.is_symlink() or not _wanted(relative):
                continue
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if _is_sqlite(path):
                _copy_database(path, target)
                databases.append(str(relative))
            else:
                shutil.copy2(path, target)
            files += 1
        manifest = {"created": stamp, "files": files, "databases": databases}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        partial = archive.with_suffix(".partial")
        with tarfile.open(partial, "w:gz") as tar:
            for item in sorted(staging.iterdir()):
                tar.add(item, arcname=item.name)
        os.chmod(partial, 0o600)
        os.replace(partial, archive)
    return archive


def restore(archive: Path, data_dir: Path) -> dict[str, object]:
    """Unpack `archive` into `data_dir`, which must be empty or missing; returns the manifest."""
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(f"{data_dir} is not empty: restore into a new DATA_DIR (or move this one away)")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            names = tar.getnames()
            if MANIFEST not in names:
                raise BackupError(f"{archive} is not a platform backup (it has no {MANIFEST})")
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            tar.extractall(data_dir, filter="data")  # no absolute paths, links out or devices
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackupError(f"{archive} could not be read: {error}") from error
    for path in [data_dir, *data_dir.rglob("*")]:
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    manifest = json.loads((data_dir / MANIFEST).read_text())
    (data_dir / MANIFEST).unlink()
    return manifest if isinstance(manifest, dict) else {}
