"""The search language's syntax: tokens, precedence, spellings, and every syntax error's message."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from registry.search.errors import QueryError
from registry.search.lexer import MAX_QUERY_LENGTH
from registry.search.parser import MAX_DEPTH, MAX_ORDER_TERMS, parse_ordering, parse_query
from registry.search.syntax import And, Comparison, Not, Or


def condition(text: str) -> Comparison:
    node = parse_query(text)
    assert isinstance(node, Comparison), node
    return node


def shape(node) -> str:
    """A compact picture of a tree: fields by name, and/or/not as functions."""
    if isinstance(node, And):
        return "and(" + ", ".join(shape(child) for child in node.children) + ")"
    if isinstance(node, Or):
        return "or(" + ", ".join(shape(child) for child in node.children) + ")"
    if isinstance(node, Not):
        return f"not({shape(node.child)})"
    return node.target.field.name


def error_of(text: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    return caught.value


# ----------------------------------------------------------------------------- structure


def test_a_blank_query_is_no_condition():
    assert parse_query("") is None
    assert parse_query("   \n\t") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('name = "a" or version = 1 and size = 2', "or(name, and(version, size))"),
        ('(name = "a" or version = 1) and size = 2', "and(or(name, version), size)"),
        ('not name = "a" and size = 2', "and(not(name), size)"),
        ('not (name = "a" and size = 2)', "not(and(name, size))"),
        ('name = "a" and version = 1 and size = 2', "and(name, version, size)"),
        ('name = "a" or version = 1 or size = 2', "or(name, version, size)"),
        ('not not name = "a"', "not(not(name))"),
        ('((name = "a"))', "name"),
    ],
)
def test_and_binds_tighter_than_or_and_not_tightest(text, expected):
    assert shape(parse_query(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        'name = "a" AND version = 1 OR NOT size = 2',
        'name = "a" And version = 1 oR nOt size = 2',
    ],
)
def test_keywords_ignore_case(text):
    assert shape(parse_query(text)) == "or(and(name, version), not(size))"


@pytest.mark.parametrize("operator", ["=", "!=", "<", "<=", ">", ">="])
def test_each_comparison_operator_is_read(operator):
    node = condition(f"hp.lr {operator} 1")
    assert node.operator == operator
    assert [v.value for v in node.values] == [1]


@pytest.mark.parametrize("text", ["hp.lr<1", "hp.lr  <   1", "hp.lr\n<\t1"])
def test_spaces_around_operators_are_optional(text):
    assert condition(text).operator == "<"


def test_in_takes_a_list_of_values():
    node = condition('hp.opt in ("adam", 3, true, null)')
    assert node.operator == "in"
    assert [v.value for v in node.values] == ["adam", 3, True, None]


@pytest.mark.parametrize("text", ['hp.opt IN ("a")', 'hp.opt In ("a")'])
def test_in_ignores_case(text):
    assert condition(text).operator == "in"


def test_like_takes_a_quoted_pattern():
    node = condition('name LIKE "res%"')
    assert (node.operator, node.values[0].value) == ("like", "res%")


def test_exists_takes_no_value():
    node = condition("hp.lr EXISTS")
    assert (node.operator, node.values) == ("exists", ())


@pytest.mark.parametrize(
    ("text", "operator"),
    [("hp.lr not exists", "exists"), ('name not like "a%"', "like"), ("hp.lr NOT IN (1, 2)", "in")],
)
def test_not_before_in_like_or_exists_negates_the_condition(text, operator):
    node = parse_query(text)
    assert isinstance(node, Not)
    assert node.child.operator == operator


# ----------------------------------------------------------------------------- fields and keys


@pytest.mark.parametrize(
    ("prefix", "field"),
    [
        ("hyperparameters", "hyperparameters"),
        ("hp", "hyperparameters"),
        ("HP", "hyperparameters"),
        ("HyperParameters", "hyperparameters"),
        ("parameters", "parameters"),
        ("params", "parameters"),
        ("PARAMS", "parameters"),
        ("metrics", "metrics"),
        ("m", "metrics"),
        ("M", "metrics"),
    ],
)
def test_json_prefixes_and_their_aliases_ignore_case(prefix, field):
    node = condition(f"{prefix}.lr = 1")
    assert (node.target.field.name, node.target.key) == (field, "lr")


@pytest.mark.parametrize(
    "name", ["id", "name", "version", "tag", "user", "project", "workspace", "dataset", "branch", "commit"]
)
def test_every_plain_field_is_known_in_any_case(name):
    assert condition(f'{name.upper()} = "x"').target.field.name == name


@pytest.mark.parametrize("name", ["visibility", "created", "size"])
def test_the_other_plain_fields_are_known(name):
    assert condition(f'{name} = "x"').target.field.name == name


def test_keys_keep_their_case():
    assert condition("hp.LR = 1").target.key == "LR"
    assert condition("hp.lr = 1").target.key == "lr"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("hp.learning_rate = 1", "learning_rate"),
        ("hp.0 = 1", "0"),
        ("hp.1e5 = 1", "1e5"),
        ("hp.größe = 1", "größe"),
        ("hp.`learning rate` = 1", "learning rate"),
        ("hp.`a.b` = 1", "a.b"),
        ("hp.`` = 1", ""),
        ('hp.`say "hi"` = 1', 'say "hi"'),
        ("hp.`back\\`quote` = 1", "back`quote"),
        ("hp.`back\\\\slash` = 1", "back\\slash"),
        ("hp . lr = 1", "lr"),
    ],
)
def test_keys_are_bare_words_or_backquoted(text, key):
    assert condition(text).target.path == (key,)


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("3", 3),
        ("-3", -3),
        ("0.5", 0.5),
        ("-0.25", -0.25),
        ("1e-3", 0.001),
        ("2.5E+2", 250.0),
        ("9223372036854775807", 2**63 - 1),
    ],
)
def test_numbers(written, value):
    literal = condition(f"hp.x = {written}").values[0]
    assert (literal.kind, literal.value) == ("number", value)
    assert type(literal.value) is type(value)


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ('"adam"', "adam"),
        ("'adam'", "adam"),
        ('"it\'s"', "it's"),
        ("'say \"hi\"'", 'say "hi"'),
        (r'"a\"b"', 'a"b'),
        (r"'a\'b'", "a'b"),
        (r'"a\\b"', "a\\b"),
        (r'"line\nbreak\ttab\rreturn"', "line\nbreak\ttab\rreturn"),
        (r'"caf\u00e9"', "café"),
        (r'"50\%"', "50\\%"),
        (r'"a\_b"', "a\\_b"),
        ('""', ""),
        ('"ünïcödé ☃ 😀"', "ünïcödé ☃ 😀"),
    ],
)
def test_quoted_strings_with_escapes(written, value):
    literal = condition(f"hp.x = {written}").values[0]
    assert (literal.kind, literal.value) == ("string", value)


@pytest.mark.parametrize(
    ("written", "kind", "value"),
    [("true", "boolean", True), ("FALSE", "boolean", False), ("Null", "null", None), ("TRUE", "boolean", True)],
)
def test_true_false_and_null_ignore_case(written, kind, value):
    literal = condition(f"hp.x = {written}").values[0]
    assert (literal.kind, literal.value) == (kind, value)


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("2024-01-31", date(2024, 1, 31)),
        ("2024-01-31T12:30", datetime(2024, 1, 31, 12, 30)),
        ("2024-01-31T12:30:15Z", datetime(2024, 1, 31, 12, 30, 15, tzinfo=UTC)),
        ("2024-01-31T12:30:15.5+02:00", datetime(2024, 1, 31, 12, 30, 15, 500000, tzinfo=timezone(timedelta(hours=2)))),
    ],
)
def test_iso_dates(written, value):
    literal = condition(f"created > {written}").values[0]
    assert (literal.kind, literal.value) == ("date", value)


def test_offsets_point_at_each_part():
    node = condition('hp.lr >= "x"')
    assert (node.target.offset, node.offset, node.values[0].offset) == (0, 6, 9)


# ----------------------------------------------------------------------------- syntax errors

VALUE = "Expected a value (a number, a quoted string, true, false or null)"
FIELD = "Expected a field (such as name, hp.lr or metrics.accuracy)"
END = "found the end of the text"
FIELDS = (
    "hyperparameters (hp), parameters (params), metrics (m), id, name, version, tag, alias, user, project, "
    "workspace, registered_model, dataset, branch (git.branch), commit (git.commit), git.remote, git.dirty, "
    "visibility, created, size, format, format.params, format.verdict"
)


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("name", f"Expected an operator (= != < <= > >= in like exists) at offset 4, {END}.", 4),
        ('name "a"', "Expected an operator (= != < <= > >= in like exists) at offset 5, found '\"a\"'.", 5),
        ("= 3", f"{FIELD} at offset 0, found '='.", 0),
        ("foo = 1", f"Unknown field 'foo' at offset 0; expected one of {FIELDS}.", 0),
        ('name = "a" and bar = 1', f"Unknown field 'bar' at offset 15; expected one of {FIELDS}.", 15),
        ("hp = 1", "Expected '.' and a key after 'hp' at offset 3, found '='.", 3),
        ("hp.", f"Expected a key after 'hp.' at offset 3, {END}.", 3),
        ("hp.= 1", "Expected a key after 'hp.' at offset 3, found '='.", 3),
        ('name.x = "a"', "'name' has no keys; only hp., params. and m. do at offset 4.", 4),
        ("hp.lr >", f"{VALUE} at offset 7, {END}.", 7),
        ("hp.lr > )", f"{VALUE} at offset 8, found ')'.", 8),
        (
            "hp.opt = adam",
            f"{VALUE} at offset 9, found 'adam'; quote text, as in \"adam\".",
            9,
        ),
        ('(name = "a"', f"Expected ')' to close the '(' at offset 0, or 'and' or 'or' at offset 11, {END}.", 11),
        ('name = "a")', "Expected 'and', 'or' or the end of the query at offset 10, found ')'.", 10),
        ('name = "a" xor size = 1', "Expected 'and', 'or' or the end of the query at offset 11, found 'xor'.", 11),
        ('name = "a" and', f"{FIELD} at offset 14, {END}.", 14),
        ("not", f"{FIELD} at offset 3, {END}.", 3),
        ("()", f"{FIELD} at offset 1, found ')'.", 1),
        ('name = "abc', 'Unterminated string: expected a closing " for the one at offset 7.', 7),
        ("name = 'abc", "Unterminated string: expected a closing ' for the one at offset 7.", 7),
        ("hp.`abc = 1", "Unterminated key: expected a closing ` for the one at offset 3.", 3),
        (
            r'name = "a\qb"',
            "Unknown escape '\\q' in a string; expected one of "
            "\\\\ \\\" \\' \\` \\n \\t \\r \\% \\_ or \\uXXXX at offset 9.",
            9,
        ),
        (r'name = "\u12"', "Expected four hex digits after \\u at offset 8.", 8),
        (r'name = "\u0000"', "Character U+0000 is not allowed at offset 8.", 8),
        (r'name = "\ud800"', "Character U+D800 is not allowed at offset 8.", 8),
        ('name = "a\x00"', "Character U+0000 is not allowed at offset 9.", 9),
        ("name = $", "Unexpected character '$' at offset 7.", 7),
        ("name ; 1", "Unexpected character ';' at offset 5.", 5),
        ("hp.x in 1", "Expected '(' and a list of values after in at offset 8, found '1'.", 8),
        ("hp.x in ()", f"{VALUE} at offset 9, found ')'.", 9),
        ("hp.x in (1,", f"{VALUE} at offset 11, {END}.", 11),
        ("hp.x in (1 2)", "Expected ',' or ')' in the list of values at offset 11, found '2'.", 11),
        ("hp.x like 3", "Expected a quoted pattern after like at offset 10, found '3'.", 10),
        ("hp.x not = 3", "Expected in, like or exists after 'not' at offset 9, found '='.", 9),
        ("hp.x = 12abc", "Expected a number at offset 7, found '12a'.", 7),
        (
            "hp.x = 99999999999999999999",
            "Whole numbers must lie within ±9223372036854775807 at offset 7, found '99999999999999999999'.",
            7,
        ),
        ("hp.x = 1e999", "Number out of range at offset 7, found '1e999'.", 7),
        ("created > 2024-02-30", "Expected a real date (YYYY-MM-DD) at offset 10, found '2024-02-30'.", 10),
        ("hp.x = -", f"{VALUE} at offset 7, found '-'.", 7),
    ],
)
def test_syntax_errors_say_what_was_expected_and_where(text, message, offset):
    error = error_of(text)
    assert str(error) == message
    assert error.offset == offset


def test_long_tokens_are_shortened_in_messages():
    error = error_of('name = "a" ' + "x" * 100)
    assert str(error) == f"Expected 'and', 'or' or the end of the query at offset 11, found '{'x' * 27}...'."


def test_a_query_over_the_length_limit_is_refused_before_reading_it():
    text = 'name = "' + "a" * MAX_QUERY_LENGTH + '"'
    error = error_of(text)
    assert str(error) == (
        f"The query is {len(text)} characters long; the limit is {MAX_QUERY_LENGTH}, "
        f"reached at offset {MAX_QUERY_LENGTH}."
    )
    assert error.offset == MAX_QUERY_LENGTH


def test_a_query_at_the_length_limit_is_read():
    text = 'name = "' + "a" * (MAX_QUERY_LENGTH - 9) + '"'
    assert len(text) == MAX_QUERY_LENGTH
    assert condition(text).values[0].value == "a" * (MAX_QUERY_LENGTH - 9)


def test_parentheses_nest_up_to_the_depth_limit():
    text = "(" * MAX_DEPTH + "size = 1" + ")" * MAX_DEPTH
    assert shape(parse_query(text)) == "size"


def test_parentheses_deeper_than_the_limit_are_refused():
    text = "(" * (MAX_DEPTH + 1) + "size = 1" + ")" * (MAX_DEPTH + 1)
    error = error_of(text)
    assert str(error) == f"Parentheses and 'not' nest deeper than {MAX_DEPTH} levels at offset {MAX_DEPTH}."


def test_nots_count_towards_the_depth_limit():
    assert shape(parse_query("not " * MAX_DEPTH + "size = 1")).count("not") == MAX_DEPTH
    error = error_of("not " * (MAX_DEPTH + 1) + "size = 1")
    assert error.offset == 4 * MAX_DEPTH


def test_a_thousand_open_parentheses_are_an_error_not_a_crash():
    assert "nest deeper" in str(error_of("(" * 1000))


# ----------------------------------------------------------------------------- ordering


def test_ordering_reads_fields_with_optional_minus():
    terms = parse_ordering("-metrics.accuracy, created,-NAME , hp.`learning rate`")
    assert [(t.target.field.name, t.target.key, t.descending) for t in terms] == [
        ("metrics", "accuracy", True),
        ("created", None, False),
        ("name", None, True),
        ("hyperparameters", "learning rate", False),
    ]


def test_a_blank_ordering_is_none():
    assert parse_ordering("") == []
    assert parse_ordering("  ") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,", f"{FIELD} at offset 5, {END}."),
        ("-", f"{FIELD} at offset 1, {END}."),
        ("--name", f"{FIELD} at offset 1, found '-'."),
        ("name name", "Expected ',' or the end of the ordering at offset 5, found 'name'."),
        ("name desc", "Expected ',' or the end of the ordering at offset 5, found 'desc'."),
        ("foo", f"Unknown field 'foo' at offset 0; expected one of {FIELDS}."),
        ("m.", f"Expected a key after 'm.' at offset 2, {END}."),
    ],
)
def test_ordering_errors_say_what_was_expected_and_where(text, message):
    with pytest.raises(QueryError) as caught:
        parse_ordering(text)
    assert str(caught.value) == message


def test_ordering_takes_a_limited_number_of_fields():
    assert len(parse_ordering(",".join(["name"] * MAX_ORDER_TERMS))) == MAX_ORDER_TERMS
    with pytest.raises(QueryError) as caught:
        parse_ordering(",".join(["name"] * (MAX_ORDER_TERMS + 1)))
    offset = len("name,") * MAX_ORDER_TERMS - 1
    assert str(caught.value) == f"At most {MAX_ORDER_TERMS} fields can order models, more given at offset {offset}."
