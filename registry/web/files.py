"""The model page's file tree: a version's manifest as folders and files (templates/registry/_files.html).

The tree is handed to the template as a flat list of rows (a folder opens, a file, a folder
closes) rather than nested nodes, so the template needs no recursive include: a manifest path may
be hundreds of folders deep, far past what recursive template rendering survives.
"""

from dataclasses import dataclass, field
from urllib.parse import quote

from django.urls import reverse

# A version holds up to 10,000 files (registry/manifests.py); the page lists this many, in path
# order, and points to the API's listing for the rest, so a huge manifest cannot make a huge page.
SHOWN_FILES = 1000
# Folders start open when the version has at most this many files; a bigger tree starts with its
# top level open only, so the page opens on an overview.
OPEN_ALL_UP_TO = 50
SHORT_SHA = 12


@dataclass
class Folder:
    name: str
    path: str
    size: int = 0
    count: int = 0
    folders: dict[str, "Folder"] = field(default_factory=dict)
    files: list["File"] = field(default_factory=list)


@dataclass(frozen=True)
class File:
    name: str
    path: str
    size: int
    sha256: str
    url: str

    @property
    def short_sha256(self) -> str:
        return self.sha256[:SHORT_SHA]


@dataclass(frozen=True)
class Row:
    kind: str  # "open" (a folder starts), "file", "close" (the folder ends)
    item: Folder | File | None = None
    depth: int = 0
    open: bool = False


@dataclass(frozen=True)
class FileTree:
    rows: list[Row]
    count: int  # the version's files, all of them
    shown: int  # the files in rows
    size: int  # the version's bytes, all of them

    @property
    def truncated(self) -> bool:
        return self.shown < self.count


def file_url(model_pk: int, path: str) -> str:
    """The API's download of one file (GET /api/v1/models/<id>/files/<path>). The API takes the
    web UI's session for reads (SessionAuthentication in settings.REST_FRAMEWORK), so the page
    links to it directly: one download path, with its Range, ETag and digest headers."""
    return reverse("api:model-files", args=[model_pk]) + quote(path, safe="/")  # as the API's _links.download


def file_tree(model) -> FileTree:
    """The version's files, folders first and then files in each folder, each by name."""
    entries = model.entries.select_related("blob").order_by("path")
    count, size = len(entries), sum(entry.blob.size for entry in entries)
    root = Folder(name="", path="")
    for entry in entries[:SHOWN_FILES]:
        *folders, name = entry.path.split("/")
        node = root
        for part in folders:
            child = node.folders.get(part)
            if child is None:
                child = node.folders[part] = Folder(name=part, path=f"{node.path}{part}/")
            node = child
        node.files.append(File(name, entry.path, entry.blob.size, entry.blob.sha256, file_url(model.pk, entry.path)))
    _add_up(root)
    open_all = count <= OPEN_ALL_UP_TO
    rows: list[Row] = []
    # Depth first without recursion: each stack item is a row to emit or a folder to expand.
    stack: list[tuple[Folder, int] | Row] = [(root, -1)]
    while stack:
        item = stack.pop()
        if isinstance(item, Row):
            rows.append(item)
            continue
        folder, depth = item
        if depth >= 0:
            rows.append(Row("open", folder, depth, open=open_all or depth == 0))
        later: list[tuple[Folder, int] | Row] = [(child, depth + 1) for _, child in sorted(folder.folders.items())]
        later += [Row("file", file, depth + 1) for file in sorted(folder.files, key=lambda f: f.name)]
        if depth >= 0:
            later.append(Row("close", folder, depth))
        stack.extend(reversed(later))
    return FileTree(rows=rows, count=count, shown=min(count, SHOWN_FILES), size=size)


def _add_up(root: Folder) -> None:
    """Each folder's size and file count, its subfolders' included (iteratively, deepest first)."""
    order: list[Folder] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        order.append(folder)
        pending.extend(folder.folders.values())
    for folder in reversed(order):
        folder.size = sum(f.size for f in folder.files) + sum(c.size for c in folder.folders.values())
        folder.count = len(folder.files) + sum(c.count for c in folder.folders.values())
