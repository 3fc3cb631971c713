"""Query text to tokens. Every token keeps its offset so errors can say where they are."""

import re
from dataclasses import dataclass
from datetime import date, datetime

from maisie_site.storable import unstorable_at
from registry.search.errors import QueryError, query_error

MAX_QUERY_LENGTH = 2000  # characters; enough for ~100 conditions, and bounds the work of a bad one

# The kinds of token; keywords (and, or, not, in, like, exists, true, false, null) are WORDs that
# the parser compares case-insensitively.
WORD, KEY, STRING, NUMBER, DATE, OP, LPAREN, RPAREN, COMMA, DOT, MINUS, EOF = (
    "word",
    "key",
    "string",
    "number",
    "date",
    "operator",
    "(",
    ")",
    ",",
    ".",
    "-",
    "end",
)

_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d]\w*")
# A bare part of a key path: letters, digits and _, then also / and - (`val/acc`, `train-loss`).
# The language has no arithmetic, so a - inside a key is never a minus; a part that starts with
# - or / (or holds any other character) is written in backquotes. See docs/search.md.
BARE_KEY = re.compile(r"\w[\w/-]*")
# Where a key that needs backquotes ends, for the message that shows it backquoted.
_KEY_RUN = re.compile(r"[^\s.=!<>(),`\"']+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?(?![\w.:+-])")
# A leading digit is required so that `hp.5` reads as the key "5", never as the number .5.
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")
_PUNCTUATION = {"(": LPAREN, ")": RPAREN, ",": COMMA, ".": DOT}
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "`": "`", "n": "\n", "t": "\t", "r": "\r"}
# Kept as written so a `like` pattern can match a literal % or _ ("50\%").
_LIKE_ESCAPES = {"%", "_"}
_INT_RANGE = range(-(2**63) + 1, 2**63)


@dataclass(frozen=True)
class Token:
    kind: str
    value: object
    offset: int
    text: str  # as written, for messages

    def describe(self) -> str:
        if self.kind == EOF:
            return "the end of the text"
        shown = self.text if len(self.text) <= 30 else self.text[:27] + "..."
        return f"'{shown}'"


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_QUERY_LENGTH:
        raise query_error(
            MAX_QUERY_LENGTH, f"The query is {len(text)} characters long; the limit is {MAX_QUERY_LENGTH}, reached"
        )
    _refuse_unstorable_characters(text, 0)
    tokens: list[Token] = []
    position = 0
    while True:
        space = _WHITESPACE.match(text, position)
        if space:
            position = space.end()
        if position >= len(text):
            tokens.append(Token(EOF, None, position, ""))
            return tokens
        after_dot = bool(tokens) and tokens[-1].kind == DOT
        try:
            token = _next_token(text, position, after_dot)
        except QueryError as error:
            raise _with_backquoted_key(error, text, tokens, position) from None
        tokens.append(token)
        position += len(token.text)


def spell_key(parts: tuple[str, ...]) -> str:
    """A key path as the query language reads it: bare parts where they may be, else backquoted.

    The inverse of what the lexer and parser read after `hp.`; keypaths.join is the catalogue's
    spelling, which the language reads too except for parts that need backquotes only here
    (a space, a colon, a leading -).
    """
    return ".".join(
        part if BARE_KEY.fullmatch(part) else "`" + part.replace("\\", "\\\\").replace("`", "\\`") + "`"
        for part in parts
    )


def key_run(text: str, start: int) -> str:
    """The characters from `start` that someone meant as one part of a key (up to a space,
    an operator, a dot or a parenthesis), for showing it backquoted."""
    run = _KEY_RUN.match(text, start)
    return run.group() if run else ""


def _with_backquoted_key(error: QueryError, text: str, tokens: list[Token], position: int) -> QueryError:
    """The error of a character a bare key cannot hold, showing the key written in backquotes."""
    if not error.message.startswith("Unexpected character") or not tokens:
        return error
    last = tokens[-1]
    if last.kind == KEY and last.offset + len(last.text) == position and not last.text.startswith("`"):
        start = last.offset  # `m.f1@5`: the part began as a bare key
    elif last.kind == DOT:
        start = position  # `m.@home`
    else:
        return error
    chain = len(tokens) - 1 if last.kind == DOT else len(tokens) - 2
    while chain >= 2 and tokens[chain - 1].kind == KEY and tokens[chain - 2].kind == DOT:
        chain -= 2
    if chain < 1 or tokens[chain - 1].kind != WORD:
        return error
    written = text[tokens[chain - 1].offset : start] + spell_key((key_run(text, start),))
    return query_error(
        position,
        f"Unexpected character '{text[position]}' in a key",
        hint=f"write it as {written}",
    )


def _next_token(text: str, position: int, after_dot: bool) -> Token:
    char = text[position]
    if char == "`":
        value, end = _quoted(text, position)
        return Token(KEY, value, position, text[position:end])
    if after_dot and (match := BARE_KEY.match(text, position)):
        return Token(KEY, match.group(), position, match.group())
    if char in "\"'":
        value, end = _quoted(text, position)
        return Token(STRING, value, position, text[position:end])
    if match := _DATE.match(text, position):
        return Token(DATE, _date(match.group(), position), position, match.group())
    if match := _NUMBER.match(text, position):
        return _number(text, match, position)
    if char == "-":
        return Token(MINUS, "-", position, "-")
    if match := _WORD.match(text, position):
        return Token(WORD, match.group(), position, match.group())
    for operator in _OPERATORS:
        if text.startswith(operator, position):
            return Token(OP, operator, position, operator)
    if char in _PUNCTUATION:
        return Token(_PUNCTUATION[char], char, position, char)
    raise query_error(position, f"Unexpected character '{char}'")


def _quoted(text: str, start: int) -> tuple[str, int]:
    """A string in quotes ("…", '…') or a key in backquotes, with backslash escapes."""
    quote = text[start]
    what = "key" if quote == "`" else "string"
    parts: list[str] = []
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == quote and quote == "`" and text[position + 1 : position + 2] == "`":
            # A doubled backquote is one, as in the catalogue's spelling (registry/keypaths.py).
            parts.append("`")
            position += 2
            continue
        if char == quote:
            return "".join(parts), position + 1
        if char != "\\":
            parts.append(char)
            position += 1
            continue
        escaped = text[position + 1 : position + 2]
        if escaped in _ESCAPES:
            parts.append(_ESCAPES[escaped])
            position += 2
        elif escaped in _LIKE_ESCAPES:
            parts.append("\\" + escaped)
            position += 2
        elif escaped == "u":
            parts.append(_unicode_escape(text, position))
            position += 6
        else:
            raise query_error(
                position,
                f"Unknown escape '\\{escaped}' in a {what}; expected one of "
                "\\\\ \\\" \\' \\` \\n \\t \\r \\% \\_ or \\uXXXX",
            )
    raise query_error(start, f"Unterminated {what}: expected a closing {quote} for the one")


def _unicode_escape(text: str, position: int) -> str:
    digits = text[position + 2 : position + 6]
    if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
        raise query_error(position, "Expected four hex digits after \\u")
    char = chr(int(digits, 16))
    _refuse_unstorable_characters(char, position)
    return char


def _refuse_unstorable_characters(text: str, offset: int) -> None:
    # PostgreSQL cannot hold NUL in text and UTF-8 cannot hold a lone surrogate: refuse them here
    # rather than let the database fail on them (the same rule as stored text, storable.py).
    index = unstorable_at(text)
    if index is not None:
        raise query_error(offset + index, f"Character U+{ord(text[index]):04X} is not allowed")


def _number(text: str, match: re.Match, position: int) -> Token:
    written = match.group()
    end = match.end()
    if end < len(text) and (text[end].isalnum() or text[end] == "_"):
        raise query_error(position, "Expected a number", found=f"'{written}{text[end]}'")
    if re.fullmatch(r"-?\d+", written):
        value: int | float = int(written)
        if value not in _INT_RANGE:
            raise query_error(position, "Whole numbers must lie within ±9223372036854775807", found=f"'{written}'")
    else:
        value = float(written)
        if value in (float("inf"), float("-inf")):
            raise query_error(position, "Number out of range", found=f"'{written}'")
    return Token(NUMBER, value, position, written)


def _date(written: str, position: int) -> date | datetime:
    """A `date` for a whole day (2024-01-31), a `datetime` for an instant (2024-01-31T12:00Z)."""
    try:
        if "T" not in written:
            return date.fromisoformat(written)
        return datetime.fromisoformat(written.replace("Z", "+00:00"))
    except ValueError:
        raise query_error(position, "Expected a real date (YYYY-MM-DD)", found=f"'{written}'") from None
