"""Unpacking an uploaded zip of photos safely.

A zip is untrusted input. :func:`extract_zip` refuses, before writing anything, members whose
names would land outside the target folder (``../x``, ``/etc/x``, ``C:\\x``, symbolic links)
and archives whose declared contents exceed a size or file-count limit.

The sizes a zip declares can lie (a zip bomb declares a few bytes and expands to gigabytes).
Python's :mod:`zipfile` never hands out more than a member's declared ``file_size``: it stops
there and checks the CRC-32, so a member that holds more than it declares fails with "Bad CRC-32".
What is written is therefore bounded by the declared sizes checked up front, and a lying archive
is reported as damaged and everything it wrote removed again.
"""

from __future__ import annotations

import io
import logging
import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

MAX_TOTAL_BYTES = 2 * 1024**3  # uncompressed bytes, all members together: 2 GiB
MAX_MEMBERS = 100_000  # files and folders
MAX_RATIO = 200  # uncompressed / compressed bytes of one member; JPEGs barely compress (ratio ~1)
CHUNK = 1024 * 1024
log = logging.getLogger(__name__)


class ArchiveError(ValueError):
    """An archive that cannot be unpacked safely or at all; the message says why in plain words."""


def _safe_name(name: str) -> PurePosixPath:
    """The member's relative path, or ArchiveError if it could escape the target folder."""
    posix = name.replace("\\", "/")
    path = PurePosixPath(posix)
    if path.is_absolute() or (len(posix) > 1 and posix[1] == ":") or ".." in path.parts:
        raise ArchiveError(f"this zip is not allowed: the file {name!r} would be unpacked outside its folder; "
                           "zip your photo folder again")
    return path


def extract_zip(source: str | Path | bytes, dest: str | Path, max_total_bytes: int = MAX_TOTAL_BYTES,
                max_members: int = MAX_MEMBERS, max_ratio: float = MAX_RATIO) -> list[Path]:
    """Extract a zip file (path or bytes) into ``dest`` and return the files written.

    macOS metadata (``__MACOSX/``, ``._*``) and folders are skipped.

    Raises:
        ArchiveError: not a zip, encrypted or damaged; a member path that escapes ``dest`` (absolute,
            ``..``, a drive letter) or is a symbolic link; more than ``max_members`` members; more
            than ``max_total_bytes`` declared uncompressed bytes; a member compressed more than
            ``max_ratio`` : 1. Nothing is extracted when a check on the declared contents fails;
            an archive found damaged while extracting (a member larger than it declares, a wrong
            checksum) is removed again from ``dest``, the partly written file included.
    """
    dest = Path(dest)
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        log.info("not a zip: %s", exc)
        raise ArchiveError("this file is not a zip archive: put your photo folders in one zip file "
                           "(right-click, then Compress or Send to → Compressed folder)") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > max_members:
            raise ArchiveError(f"this zip holds too many files: at most {max_members:,}; use fewer photos")
        declared = sum(i.file_size for i in infos)
        if declared > max_total_bytes:
            raise ArchiveError(f"this zip is too large once unpacked: at most {max_total_bytes / 1e6:,.0f} MB; "
                               "use fewer or smaller photos")
        members = []
        for info in infos:
            path = _safe_name(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ArchiveError(f"this zip is not allowed: {info.filename!r} is a link to another file, not a "
                                   "photo; zip the photos themselves")
            if info.flag_bits & 0x1:
                raise ArchiveError("this zip is locked with a password: zip the photos again without one")
            if info.is_dir() or "__MACOSX" in path.parts or path.name.startswith("._") or not path.parts:
                continue
            if info.file_size > max_ratio * max(info.compress_size, 1) and info.file_size > CHUNK:
                log.info("refused %s: compressed %.0f:1", info.filename, info.file_size / max(info.compress_size, 1))
                raise ArchiveError(f"this zip is not allowed: {info.filename!r} would unpack to far more than it "
                                   f"takes in the zip (at most {max_ratio:,.0f} times); photos never do that")
            members.append((info, path))
        files, target = [], None
        root = dest.resolve()
        try:
            for info, path in members:
                target = root.joinpath(*path.parts)
                if root not in target.resolve().parents:  # belt and braces after _safe_name
                    raise ArchiveError(f"this zip is not allowed: the file {info.filename!r} would be unpacked "
                                       "outside its folder; zip your photo folder again")
                target.parent.mkdir(parents=True, exist_ok=True)
                # zipfile reads at most info.file_size bytes (declared, checked above), then the CRC.
                with archive.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
                files.append(target)
                target = None
        except (ArchiveError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            _remove(files + ([target] if target else []), root)  # the file being written too
            if isinstance(exc, ArchiveError):
                raise
            log.info("damaged zip: %s", exc)
            raise ArchiveError("this zip is damaged or incomplete: make it again, or upload it again") from exc
    return files


def _remove(files: list[Path], root: Path) -> None:
    """Best-effort removal of what a refused archive already wrote below ``root`` (resolved):
    the files, then the folders they made that are left empty."""
    for f in files:
        Path(f).unlink(missing_ok=True)
    for folder in sorted({p for f in files for p in Path(f).parents if root in p.parents}, key=lambda p: -len(p.parts)):
        try:
            folder.rmdir()
        except OSError:
            pass

