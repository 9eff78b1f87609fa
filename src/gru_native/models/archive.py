"""Reading a gru_native file's .npz archive one entry at a time. The entries are known by name
before anything is inflated, and each entry's .npy header (dtype and shape) is read on its own,
so the caller checks both against what it expects before an array's data is read: a small
hostile file cannot make loading inflate gigabytes it never needed."""

from __future__ import annotations

import contextlib
import errno
import math
import os
import stat
import zipfile
import zlib

import numpy as np

# What reading a damaged or foreign archive raises (zipfile, zlib, numpy's .npy reader).
READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
               ValueError, MemoryError, NotImplementedError, RuntimeError)


class ArchiveError(ValueError):
    """A file that is not a readable .npz archive of plain arrays; the message names the file."""


def open_regular_file(path):
    """`path` opened for binary reading; ValueError when it is not a regular file (reading a
    FIFO blocks until a writer comes, a device may never end). Opened without blocking, then
    checked, so that a FIFO put in its place after a check cannot block either. A missing
    file, a directory or a file we may not read raises the OSError open() raises."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(mode):
            raise ArchiveError(f"cannot read {path!r}: not a regular file (a FIFO, a device or "
                               "a socket)")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class Archive:
    """The arrays of the .npz archive at `path`: `names` (the entries' names without '.npy'),
    `header(name)` (dtype, shape) read from the entry's .npy header alone, `read(name)` the
    array. A context manager; ValueError for anything that is not a readable archive."""

    def __init__(self, path):
        self.path = path
        self._file = open_regular_file(path)
        try:
            magic = self._file.read(4)
            self._file.seek(0)
            if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
                what = "an empty file" if not magic else "not a zip archive"
                raise ArchiveError(f"cannot read {path!r}: {what}, not a gru_native file (a "
                                   "NumPy .npz archive)")
            with _read_errors(path):
                self._zip = zipfile.ZipFile(self._file)  # reads the list of entries only
            self._entries = {}
            for info in self._zip.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if name in self._entries:
                    raise ArchiveError(f"cannot read {path!r}: it holds two entries named "
                                       f"{name!r}")
                self._entries[name] = info
        except BaseException:
            self._file.close()
            raise
        self.names = set(self._entries)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._zip.close()
        self._file.close()

    def header(self, name):
        """(dtype, shape) of entry `name`, from its .npy header (a few hundred bytes at most)."""
        info = self._entries[name]
        read_header = None
        with _read_errors(self.path), self._zip.open(info) as f:
            is_npy = info.filename.endswith(".npy") and f.read(6) == np.lib.format.MAGIC_PREFIX
            if is_npy:
                version = tuple(f.read(2))
                read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                               (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is not None:
                shape, _, dtype = read_header(f)
                header_size = f.tell()
        where = f"cannot read {self.path!r}: its entry {info.filename!r}"
        if not is_npy:
            raise ArchiveError(f"{where} is not a NumPy array")
        if read_header is None:
            raise ArchiveError(f"{where} has .npy format version {version}, not 1.0 or 2.0")
        if dtype.hasobject:
            raise ArchiveError(f"{where} holds Python objects (Object arrays are never unpickled)")
        # the archive's own record of the entry's size bounds what reading it can inflate
        if info.file_size != header_size + dtype.itemsize * math.prod(shape):
            raise ArchiveError(f"{where} is {info.file_size} bytes, but its header declares an "
                               f"array of shape {shape} and dtype {dtype}")
        return dtype, shape

    def read(self, name):
        """The array of entry `name`: call `header` and check it first."""
        with _read_errors(self.path), self._zip.open(self._entries[name]) as f:
            return np.lib.format.read_array(f, allow_pickle=False)


@contextlib.contextmanager
def _read_errors(path):
    """Turns what reading a damaged archive raises into a ValueError naming the file."""
    try:
        yield
    except READ_ERRORS as e:
        raise ArchiveError(f"cannot read {path!r}: not a gru_native file, or a truncated or "
                           f"corrupted one ({reason(e)})") from e


class Arrays:
    """What `Archive` gives, over arrays already in memory (a pickled model's state)."""

    def __init__(self, arrays):
        self._arrays = {name: np.asarray(a) for name, a in arrays.items()}
        self.names = set(self._arrays)

    def header(self, name):
        a = self._arrays[name]
        if a.dtype.hasobject:
            raise ValueError(f"its entry {name!r} holds Python objects, not numbers")
        return a.dtype, a.shape

    def read(self, name):
        return self._arrays[name]


def reason(error):
    """An exception as one short line: its type and the first line of its message."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if len(text) > 200:
        text = text[:200] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
