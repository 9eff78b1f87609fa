"""Writing a gru_native file (a model archive, a backup's metadata): atomically over a regular
file, straight into a stream.

A regular file (or a new one) is written to a temporary file next to it, flushed to disk, then
renamed over it, so a crash or a kill in the middle of a save leaves the previous file as it
was. The temporary file's name, `.<target>.<pid>.<random>.tmp`, says which process wrote it:
the next save to the same target removes those whose process is gone (a killed save's
leftovers). A character device or a FIFO is written to as open() would, never replaced by a
rename (saving to /dev/null as root would otherwise put a regular file in its place)."""

from __future__ import annotations

import io
import os
import re
import secrets
import stat

import numpy as np


def write_archive(filepath, arrays):
    """Write `arrays` as an .npz archive to `filepath` (str or os.PathLike, any file name)."""
    path = os.path.realpath(os.fsdecode(os.fspath(filepath)))  # through a symlink, as open()
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is None or stat.S_ISREG(mode) or stat.S_ISDIR(mode):  # a directory: the rename says so
        _write_atomically(path, lambda f: np.savez(f, **arrays))
    elif stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        with open(path, "wb") as f:
            np.savez(_Stream(f), **arrays)
    else:
        raise ValueError(f"cannot save to {path!r}: it is a block device or a socket, not a "
                         "regular file")


class _Stream:
    """A file written in one pass: without tell() and seek(), zipfile never seeks back (a
    device such as /dev/null seeks, but its tell() always says 0, which corrupts the archive)."""

    def __init__(self, f):
        self._f = f

    def write(self, data):
        return self._f.write(data)

    def flush(self):
        self._f.flush()

    def read(self, size=-1):  # np.savez knows a file object from a path by this attribute
        raise io.UnsupportedOperation("a stream being saved to is not read")


def _remove_orphans(directory, name):
    """Remove the temporary files a killed save to `name` left in `directory` (those whose
    writing process is gone). POSIX only: elsewhere a process id cannot be probed safely."""
    if os.name != "posix":
        return
    pattern = re.compile(re.escape(f".{name[:100]}.") + r"(\d+)\.[0-9a-f]{12}\.tmp\Z")
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        match = pattern.match(entry)
        if match and not _process_alive(int(match.group(1))):
            try:
                os.unlink(os.path.join(directory, entry))
            except OSError:  # another save removed it first, or we may not
                pass


def _process_alive(pid):
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OverflowError:  # not a process id at all
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _create_temporary(directory, name):
    """A new file next to the target, created as open(path, 'wb') would create the target (mode
    0o666 less the umask); returns (fd, path)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        path = os.path.join(directory, f".{name[:100]}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file in {directory!r}")


def _fsync_directory(directory):
    """Make the rename durable (POSIX); best effort where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text(filepath, text):
    """Write `text` (UTF-8) to the regular file `filepath`, atomically."""
    path = os.path.realpath(os.fsdecode(os.fspath(filepath)))
    _write_atomically(path, lambda f: f.write(text.encode("utf-8")))


def _write_atomically(path, write):
    """write(f) into a temporary file in the same directory, flushed and fsynced, then renamed
    over the target. Whatever happens before the rename (an exception, a kill, a full disk),
    the previous file is untouched; on an exception the temporary file is removed."""
    directory, name = os.path.split(path)
    _remove_orphans(directory, name)
    fd, temporary = _create_temporary(directory, name)
    try:
        try:
            mode = os.stat(path).st_mode & 0o7777  # an existing file keeps its permissions
        except OSError:
            mode = None
        with os.fdopen(fd, "wb") as f:
            fd = None
            if mode is not None:
                try:
                    os.chmod(temporary, mode)
                except OSError:
                    pass
            write(f)  # a file object: np.savez would append '.npz' to a path
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    _fsync_directory(directory)
