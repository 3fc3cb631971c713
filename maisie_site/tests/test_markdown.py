"""Model cards: Markdown in, HTML that is safe in a page out (maisie_site/markdown.py)."""

import re

import pytest

from maisie_site.markdown import render, sanitise


def tags_in(html: str) -> set[str]:
    return {name.lower() for name in re.findall(r"<\s*([a-zA-Z][a-zA-Z0-9]*)", html)}


def test_it_renders_the_markdown_a_model_card_is_written_in():
    html = render(
        "# ResNet-50\n\nTrained on **ImageNet** with `lr=0.1`.\n\n- top-1: 76.1\n- top-5: 92.9\n\n"
        "| metric | value |\n|---|--:|\n| accuracy | 0.93 |\n\n~~old~~ [paper](https://arxiv.org/abs/1512.03385)\n\n"
        "```\npip install maisie\n```\n\n> a quote\n"
    )
    assert "<h3>ResNet-50</h3>" in html  # below the page's h1 and the card's h2
    assert "<strong>ImageNet</strong>" in html and "<code>lr=0.1</code>" in html
    assert "<li>top-1: 76.1</li>" in html
    assert "<table>" in html and "<td>accuracy</td>" in html
    assert "<s>old</s>" in html
    assert '<a href="https://arxiv.org/abs/1512.03385" rel="noopener noreferrer nofollow">paper</a>' in html
    assert "<pre><code>pip install maisie\n</code></pre>" in html
    assert "<blockquote>" in html


def test_an_empty_card_renders_as_nothing():
    assert render("") == "" and render("  \n ") == ""


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "Hello <script src=https://evil.example/x.js></script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)" onclick="alert(1)">click</a>',
        "<iframe src=https://evil.example></iframe>",
        '<div style="position:fixed;inset:0">cover</div>',
        "<svg onload=alert(1)></svg>",
        "<!-- a comment --><style>body{display:none}</style>",
    ],
)
def test_raw_html_is_shown_as_text_never_as_markup(text):
    html = render(text)
    assert tags_in(html) <= {"p"}
    assert "&lt;" in html  # the user's markup is there, escaped


@pytest.mark.parametrize(
    "link",
    [
        "[x](javascript:alert(1))",
        "[x](JavaScript:alert(1))",
        "[x](  javascript:alert(1))",
        "[x](java&#115;cript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "![x](javascript:alert(1))",
        "<javascript:alert(1)>",
    ],
)
def test_links_to_scripts_and_data_are_not_made(link):
    html = render(link)
    assert "href=" not in html and "src=" not in html
    assert not re.search(r"<a\b|<img\b", html)


def test_safe_links_and_images_keep_only_their_safe_attributes():
    html = render('[docs](https://example.org "Docs") ![chart](/static/chart.png) [mail](mailto:ml@example.org)')
    assert 'href="https://example.org"' in html and 'title="Docs"' in html
    assert '<img src="/static/chart.png" alt="chart">' in html
    assert 'href="mailto:ml@example.org"' in html


def test_the_sanitiser_removes_scripts_event_attributes_styles_and_script_links():
    """The second layer alone, fed HTML as if the Markdown renderer had let it through."""
    html = sanitise(
        '<p onclick="steal()" style="color:red" class="message" id="main">hi'
        "<script>alert(1)</script><style>p{}</style>"
        '<a href="javascript:alert(1)" onmouseover="x()">j</a>'
        '<img src="data:image/svg+xml,<svg onload=alert(1)>" onerror="alert(1)">'
        '<iframe src="https://evil.example"></iframe><form action="/x"><input name="q"></form>'
        '<object data="x"></object></p>'
    )
    assert tags_in(html) <= {"p", "a", "img"}
    for forbidden in ("onclick", "onmouseover", "onerror", "style", "class=", "id=", "javascript:", "data:", "alert"):
        assert forbidden not in html
    assert html.startswith("<p>hi")


def test_headings_go_no_deeper_than_h6():
    assert "<h6>deep</h6>" in render("###### deep")
