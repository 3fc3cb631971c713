"""File-system storage whose `save()` returns only once the stored file would survive a power loss.

`services.model_upload` commits the model's row right after the file is stored. With Django's
`FileSystemStorage` the bytes and the new directory entry may still sit in the page cache at
that point, so a crash after the 201 could leave a committed row whose file is missing or
truncated. Here the file's data is fsynced after the move, then every directory from the file's
own up to the storage root (or up to the first one that existed, when the root itself was just
created), so the entry and the folders made for it are on disk too.
"""

import os

from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible


def fsync_path(path: str) -> None:
    """fsync a file or a directory by name. A read-only descriptor is enough on POSIX systems:
    fsync flushes the inode, however it was opened, so the file is not reread or rewritten."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _first_existing(directory: str) -> str:
    while not os.path.isdir(directory) and os.path.dirname(directory) != directory:
        directory = os.path.dirname(directory)
    return directory


@deconstructible(path="registry.storage.DurableFileSystemStorage")
class DurableFileSystemStorage(FileSystemStorage):
    def _save(self, name, content):
        # Folders this save creates need their own entries synced in their parents. Every level
        # up to the root is synced, not only the ones created here: another upload may have made
        # the folder a moment ago and not synced its parent yet. A folder already on disk costs
        # next to nothing to fsync.
        top = os.path.commonpath([self.location, _first_existing(os.path.dirname(self.path(name)))])
        name = super()._save(name, content)
        full_path = self.path(name)
        # A spooled upload has started the disk writes of all but its last few MiB while it
        # arrived (`HashingSpool`), so this mostly waits for the tail.
        fsync_path(full_path)
        directory = os.path.dirname(full_path)
        while True:
            fsync_path(directory)
            if directory == top or os.path.dirname(directory) == directory:
                break
            directory = os.path.dirname(directory)
        return name
