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
import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

MAX_TOTAL_BYTES = 2 * 1024**3  # uncompressed bytes, all members together: 2 GiB
MAX_MEMBERS = 100_000  # files and folders
MAX_RATIO = 200  # uncompressed / compressed bytes of one member; JPEGs barely compress (ratio ~1)
CHUNK = 1024 * 1024


class ArchiveError(ValueError):
    """An archive that cannot be unpacked safely or at all; the message says why in plain words."""


def _safe_name(name: str) -> PurePosixPath:
    """The member's relative path, or ArchiveError if it could escape the target folder."""
    posix = name.replace("\\", "/")
    path = PurePosixPath(posix)
    if path.is_absolute() or (len(posix) > 1 and posix[1] == ":") or ".." in path.parts:
        raise ArchiveError(f"the zip holds a path that would escape its folder: {name!r}")
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
        raise ArchiveError(f"this is not a readable zip file ({exc})") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > max_members:
            raise ArchiveError(f"the zip holds {len(infos):,} entries; the limit is {max_members:,}")
        declared = sum(i.file_size for i in infos)
        if declared > max_total_bytes:
            raise ArchiveError(f"the zip would expand to {declared / 1e6:,.0f} MB; the limit is "
                               f"{max_total_bytes / 1e6:,.0f} MB")
        members = []
        for info in infos:
            path = _safe_name(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ArchiveError(f"the zip holds a symbolic link, which is not allowed: {info.filename!r}")
            if info.flag_bits & 0x1:
                raise ArchiveError(f"the zip is password-protected ({info.filename!r})")
            if info.is_dir() or "__MACOSX" in path.parts or path.name.startswith("._") or not path.parts:
                continue
            if info.file_size > max_ratio * max(info.compress_size, 1) and info.file_size > CHUNK:
                raise ArchiveError(f"{info.filename!r} is compressed {info.file_size / max(info.compress_size, 1):,.0f}:1,"
                                   " which only a zip bomb does")
            members.append((info, path))
        files, target = [], None
        root = dest.resolve()
        try:
            for info, path in members:
                target = root.joinpath(*path.parts)
                if root not in target.resolve().parents:  # belt and braces after _safe_name
                    raise ArchiveError(f"the zip holds a path that would escape its folder: {info.filename!r}")
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
            raise ArchiveError(f"the zip is damaged ({exc})") from exc
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


def clear_folder(folder: str | Path) -> None:
    """Delete ``folder`` and everything in it, if it exists."""
    shutil.rmtree(folder, ignore_errors=True)
