"""Write several files all-or-nothing: the one place where the kit's writers touch the disk.

A change of several migration files (a move writes three, a breakdown three) must
never be left half-written: a project with one file of a three-file change can
neither migrate nor be planned again. :func:`write_all` writes every new content
to a temporary file beside its target first; only when all of them are written
and flushed does it move them into place, and if moving one fails it puts back
what was there before (or removes what it created), so that either every file
of the change is in place, or none is and the error says why.

Depends on the standard library only, so any writer (and any project) can use it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path

__all__ = ["WriteError", "write_all"]


class WriteError(OSError):
    """A change could not be written; no file of it was left behind."""


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def write_all(files: Mapping[Path, str], *, overwrite: bool = False, encoding: str = "utf-8") -> list[Path]:
    """Write every ``path -> text`` of ``files``, or none of them.

    Missing parent folders are created (and removed again on failure). With
    ``overwrite`` false (the default) an existing target is refused before
    anything is written. Returns the paths written, in the order given.

    Raises :class:`WriteError` naming the file that failed and why; the files
    and folders are then exactly as they were before the call.
    """
    targets = [Path(p) for p in files]
    texts = [files[p] for p in files]
    folders = [str(p) for p in targets if p.is_dir()]
    if folders:
        raise WriteError(f"{', '.join(folders)}: a folder stands there; nothing was written.")
    if not overwrite:
        taken = [str(p) for p in targets if p.exists()]
        if taken:
            verb = "exists" if len(taken) == 1 else "exist"
            raise WriteError(f"{', '.join(taken)} already {verb}; nothing was written.")

    made_dirs: list[Path] = []
    temps: list[Path] = []
    moved: list[tuple[Path, Path | None]] = []  # (target, backup of what it replaced)
    try:
        for target, text in zip(targets, texts, strict=True):
            missing = [d for d in reversed(target.parents) if not d.exists()]
            for folder in missing:
                try:
                    folder.mkdir()
                except OSError as exc:
                    reason = _describe(exc)
                    raise WriteError(f"Cannot create folder {folder}: {reason}; nothing written.") from exc
                made_dirs.append(folder)
            try:
                fd, name = tempfile.mkstemp(prefix=f".{target.name[:100]}.", suffix=".tmp", dir=target.parent)
            except OSError as exc:
                raise WriteError(f"Cannot write {target}: {_describe(exc)}; nothing was written.") from exc
            temps.append(Path(name))
            try:
                with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as exc:
                raise WriteError(f"Cannot write {target}: {_describe(exc)}; nothing was written.") from exc
            if target.exists():
                with contextlib.suppress(OSError):
                    os.chmod(name, target.stat().st_mode & 0o7777)
            else:
                os.chmod(name, 0o666 & ~_umask())
        for target, temp in zip(targets, temps, strict=True):
            backup: Path | None = None
            try:
                if target.exists():
                    backup = target.with_name(f".{target.name[:100]}.{uuid.uuid4().hex}.bak")
                    os.replace(target, backup)
                os.replace(temp, target)
            except OSError as exc:
                if backup is not None and backup.exists() and not target.exists():
                    os.replace(backup, target)
                temp.unlink(missing_ok=True)
                raise WriteError(f"Cannot write {target}: {_describe(exc)}; nothing was written.") from exc
            moved.append((target, backup))
    except BaseException:
        for target, backup in reversed(moved):
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, target)
                else:
                    target.unlink()
        for temp in temps:
            temp.unlink(missing_ok=True)
        for folder in reversed(made_dirs):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    for _target, backup in moved:
        if backup is not None:
            backup.unlink(missing_ok=True)
    return targets


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
