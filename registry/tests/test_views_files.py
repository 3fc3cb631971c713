"""Web UI: a version's files on the model page (registry/web/files.py, templates/registry/_files.html).

Folder versions come from factories.folder_version: the rows an upload session writes (blobs
stored once per SHA-256, one manifest entry per file, the digest of registry/manifests.py).
"""

import hashlib
import re
from html import unescape

from django.urls import reverse

from registry import manifests
from registry.tests.factories import folder_version, upload
from registry.web import files as web_files

CHECKPOINT = {
    "config.json": b"{}",
    "tokenizer/vocab.txt": b"a\nb\n",
    "tokenizer/merges.txt": b"x" * 3000,
    "weights/model 1.bin": b"hello\n",
    "weights/shards/00.safetensors": b"\x00" * 5000,
    "README&notes.md": b"# hi",
}


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def page(client, user, model):
    client.force_login(user)
    response = client.get(reverse("registry:model_detail", args=[model.pk]))
    assert response.status_code == 200
    return response.content.decode()


def tree_html(html: str) -> str:
    return html[html.index('id="files"') : html.index("</section>", html.index('id="files"'))]


def test_a_folder_version_shows_its_files_as_a_tree(client, project, bob, carol):
    model = folder_version(bob, project, CHECKPOINT)
    html = page(client, carol, model)  # a viewer reads it
    tree = tree_html(html)

    # Folders first, then files, each by name; every file once, with its own link, size and hash.
    names = [unescape(n) for n in re.findall(r'class="file-tree__name"[^>]*>([^<]+)<', tree)]
    assert names == [
        "tokenizer/",
        "merges.txt",
        "vocab.txt",
        "weights/",
        "shards/",
        "00.safetensors",
        "model 1.bin",
        "README&notes.md",
        "config.json",
    ]
    for content in CHECKPOINT.values():
        assert tree.count(f">{sha(content)}</code>") == 1  # the full SHA-256 is the text, clipped by CSS
        assert f'title="SHA-256 {sha(content)}"' in tree
    # Sizes: readable, and exact on hover; a folder adds up what it holds.
    assert '<span class="file-tree__size" title="3000 bytes">2.9\xa0KB</span>' in tree
    assert re.search(r'weights/</span> <span class="muted small">2 files · <span title="5006 bytes">', tree)
    assert "6 files" in tree and f'title="{sum(map(len, CHECKPOINT.values()))} bytes"' in tree
    # A small tree opens every folder; <details> needs no script to read.
    assert tree.count("<details open>") == 3

    # The aside names the folder, its count and the digest, which the manifest recomputes.
    digest = manifests.digest(manifests.manifest_of((p, len(c), sha(c)) for p, c in CHECKPOINT.items()))
    assert model.digest == digest and f'<code class="hash" id="digest">sha256:{digest}</code>' in html
    assert '<h2 id="file-h">Folder</h2>' in html and 'href="#files">6 files</a>' in html
    assert "Download (zip)</a>" in html


def test_each_file_links_to_its_api_download_with_the_path_quoted(client, project, bob):
    files = {"weights/model 1.bin": b"a", "odd %#;name.bin": b"b", "é/ü.txt": b"c"}
    model = folder_version(bob, project, files)
    tree = tree_html(page(client, bob, model))
    base = f"/api/v1/models/{model.pk}/files/"
    links = re.findall(r'<a class="file-tree__name" href="([^"]+)" download="([^"]+)"', tree)
    assert sorted(links) == sorted(
        [
            (base + "weights/model%201.bin", "model 1.bin"),
            (base + "odd%20%25%23%3Bname.bin", "odd %#;name.bin"),
            (base + "%C3%A9/%C3%BC.txt", "ü.txt"),
        ]
    )
    # Each link is the file: the route takes the quoting back off (the page's session suffices).
    for url, name in links:
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body == next(data for path, data in files.items() if path.endswith(name))


def test_the_api_takes_the_pages_session_for_reads(client, project, bob):
    """Why the page links to the API: its GETs accept the browser's session (no token needed)."""
    model = folder_version(bob, project, CHECKPOINT)
    client.force_login(bob)
    response = client.get(reverse("api:model-detail", args=[model.pk]))
    assert response.status_code == 200 and response.json()["data"]["id"] == model.pk


def test_a_file_link_downloads_the_file_with_the_session(client, project, bob):
    model = folder_version(bob, project, CHECKPOINT)
    client.force_login(bob)
    response = client.get(web_files.file_url(model.pk, "weights/model 1.bin"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content if response.streaming else [response.content]) == b"hello\n"
    response = client.get(web_files.file_url(model.pk, "odd %#;name.bin"))
    assert response.status_code == 404  # not in this version's manifest


def test_an_outsider_gets_a_404_not_the_files(client, project, bob, eve):
    model = folder_version(bob, project, CHECKPOINT)
    client.force_login(eve)
    response = client.get(reverse("registry:model_detail", args=[model.pk]))
    assert response.status_code == 404 and b"merges.txt" not in response.content


def test_a_big_tree_opens_its_top_level_only(client, project, bob):
    files = {f"shard-{i:03}/part.bin": bytes([i]) for i in range(web_files.OPEN_ALL_UP_TO + 1)}
    files["top/deeper/x.bin"] = b"x"
    tree = tree_html(page(client, bob, folder_version(bob, project, files)))
    assert tree.count("<details open>") == len(files)  # every top folder, not top/deeper/
    assert tree.count("<details>") == 1


def test_a_deep_path_renders(client, project, bob):
    """A path may be ~500 folders deep (1,024 bytes): the tree is flat rows, not a recursive include."""
    deep = "/".join(["d"] * 500) + "/f.bin"
    assert len(deep.encode()) <= 1024
    tree = tree_html(page(client, bob, folder_version(bob, project, {deep: b"deep", "a.bin": b"a"})))
    assert tree.count("<details") == 500 and tree.count("</details>") == 500
    assert ">f.bin</a>" in tree


def test_past_the_limit_the_page_lists_the_first_files_and_says_so(client, project, bob, monkeypatch):
    monkeypatch.setattr(web_files, "SHOWN_FILES", 3)
    files = {f"f{i}.bin": bytes([i]) for i in range(5)}
    tree = tree_html(page(client, bob, folder_version(bob, project, files)))
    assert re.findall(r'download="([^"]+)"', tree) == ["f0.bin", "f1.bin", "f2.bin"]
    assert "The first 3 of 5 files, in path order." in tree
    assert "5 files" in tree  # the heading counts them all


def test_a_one_file_version_keeps_its_file_card_and_shows_its_digest(client, project, bob):
    hello = sha(b"hello\n")
    model = upload(bob, project, name="resnet", content=b"hello\n")
    html = page(client, bob, model)
    assert 'id="files"' not in html  # one file: the aside says it all
    assert '<h2 id="file-h">File</h2>' in html and f'id="sha256">{hello}</code>' in html
    assert model.digest == manifests.digest(manifests.for_one_file("resnet.pt", 6, hello))
    assert f"sha256:{model.digest}</code>" in html
    assert ">Download</a>" in html


def test_the_upload_page_offers_a_folder_only_with_its_script(client, project, bob):
    """The folder and several-files inputs are hidden and nameless: without JavaScript the form
    posts its one `file` as before; upload.js shows them and sends them through the session API."""
    client.force_login(bob)
    html = client.get(reverse("registry:model_upload")).content.decode()
    block = html[html.index("data-upload-many") : html.index("</div>", html.index("upload-many__choices") + 30)]
    assert "hidden" in html[html.index("data-upload-many") - 40 : html.index("data-upload-many") + 30]
    assert 'id="id_folder" webkitdirectory multiple' in block and 'id="id_files" multiple' in block
    assert "name=" not in block
    assert f'data-uploads-url="{reverse("api:upload-list")}"' in html
    assert 'src="/static/vendor/js-sha256-1.0.0/sha256.min.js"' in html
    assert 'name="file"' in html and "required" in html[html.index('name="file"') - 80 : html.index('name="file"') + 80]
