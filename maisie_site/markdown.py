"""Markdown that users write (model cards) to HTML that is safe to put in a page.

Two layers, so that a gap in one is not a hole: markdown-it-py renders CommonMark (with tables
and strikethrough) with raw HTML off, so `<script>` in the text comes out as text and links
whose target is not http(s), mailto or relative are not made; then nh3 (the Rust `ammonia`
sanitiser) keeps only the tags and attributes listed here from whatever markdown-it wrote. No
`style` (the site's Content-Security-Policy would refuse it), no event attributes, no `class`
or `id` a card could use to dress up as the page around it.
"""

import functools

from django.utils.safestring import SafeString, mark_safe

TAGS = frozenset(
    {
        "a",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "strong",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# The card sits below the page's <h1> and its own <h2>: its `#` is an <h3>.
HEADING_SHIFT = 2


@functools.cache
def _parser():
    # markdown-it and nh3 are imported on the first card rendered, not at start: some 2 MB of RSS
    # in every worker otherwise, most of which (the API's) never render one (issue 16).
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


def _shift_headings(tokens) -> None:
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + HEADING_SHIFT)}"


def sanitise(html: str) -> str:
    """Only TAGS with ATTRIBUTES, links to URL_SCHEMES (or relative), marked as leaving the site."""
    import nh3

    return nh3.clean(
        html,
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        clean_content_tags={"script", "style"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render(text: str) -> SafeString:
    """`text` (Markdown) as sanitised HTML, ready for a template."""
    if not text or not text.strip():
        return mark_safe("")
    parser = _parser()
    tokens = parser.parse(text)
    _shift_headings(tokens)
    html = parser.renderer.render(tokens, parser.options, {})
    return mark_safe(sanitise(html))  # noqa: S308 (sanitised by nh3 just above)
