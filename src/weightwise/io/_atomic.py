"""Atomic file replacement: a save either fully happens or leaves the old file untouched.

The recipe (what databases do): write a temporary file in the *same* folder (so the final
``rename`` never crosses file systems), fsync it, ``os.replace`` it over the target, then fsync
the folder so the rename itself is durable. A crash, a kill or ``ENOSPC`` at any point before the
rename leaves the old file as it was; the orphaned temp file is removed when we still can.
Replacing a file that is memory-mapped is safe on POSIX: the mapping keeps the old inode alive.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import IO, Iterator


def fsync_dir(folder: str) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, fsync: bool = True) -> Iterator[IO[bytes]]:
    """Open a temporary file next to ``path`` for binary writing; on success, replace ``path``.

    Example::

        with atomic_write("model.safetensors") as f:
            f.write(data)
    """
    target = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        # Keep the permissions a plain open() would have given (mkstemp uses 0600).
        if os.path.exists(target):
            os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if fsync:
        fsync_dir(folder)
