"""Writing files so that a crash or a concurrent reader never sees half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# The process's umask, read once here: reading it means setting it, and setting it while other
# threads create files (sessions, training workers) would give their files the wrong mode.
_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path: str | Path, data: bytes, durable: bool = True, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part:
    write a temporary file in the same folder, flush it to disk, then rename it over ``path``.
    ``durable=False`` skips the flush to disk, for caches whose lost entries are just recomputed.
    ``exclusive=True`` never replaces an existing ``path`` (see :func:`atomic_write_files`).

    A process killed part-way leaves ``path`` as it was (at worst a hidden ``.<name>.*.tmp`` file).

    Raises:
        FileExistsError: ``exclusive`` and ``path`` already exists (it is left untouched).
        OSError: the folder cannot be created or written (e.g. a full disk, ``errno.ENOSPC``);
            ``path`` is then unchanged and no temporary file is left behind.
    """
    atomic_write_files({path: data}, durable, exclusive)


def atomic_write_files(files: dict[str | Path, bytes], durable: bool = True, exclusive: bool = False) -> None:
    """Write several files (``{path: data}``, placed in that order) as atomically as a file system
    allows: every file is first written in full to a temporary file beside its target and flushed
    to disk, and only then are they renamed into place, one right after the other. A full disk or
    any other write error therefore changes nothing; only a kill in the moment between two renames
    could leave the first file new and the second old.

    ``exclusive=True`` never replaces an existing file: each is hard-linked into place, which fails
    atomically if the target exists, so of two writers (two sessions, two server processes sharing
    a folder) exactly one wins; files this call had already placed are then removed again.

    Raises:
        FileExistsError: ``exclusive`` and a target exists (it is left untouched).
        OSError: a folder cannot be created or a file written (e.g. ``errno.ENOSPC``): nothing is
            changed and no temporary file is left behind.
    """
    temps: list[tuple[str, Path]] = []
    placed: list[Path] = []
    try:
        for path, data in files.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            temps.append((tmp, path))
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if durable:
                    f.flush()
                    os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it owner-only; give it a normal file's mode
        for tmp, path in temps:
            if exclusive:
                os.link(tmp, path)
                placed.append(path)
                os.unlink(tmp)
            else:
                os.replace(tmp, path)
    except BaseException:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
        for path in placed:  # exclusive: these did not exist before this call
            path.unlink(missing_ok=True)
        raise


def cache_dir() -> Path:
    """Where nnviz keeps what it can recompute (the live chart's files, Inspect's test-set views of
    user models): ``$NNVIZ_CACHE_DIR``, else ``~/.cache/nnviz``."""
    return Path(os.environ.get("NNVIZ_CACHE_DIR") or Path.home() / ".cache" / "nnviz")
