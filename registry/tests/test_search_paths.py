"""Keys as people write them: nested paths (hp.optimizer.lr), literal dots in backquotes, / and - in
bare keys, the backquoted spelling in errors, and the git.* fields (issue 18)."""

import pytest

from registry.search.compiler import compile_query
from registry.search.errors import QueryError
from registry.search.expressions import NUMBER, STRING, pg_typed_value
from registry.search.fields import FIELDS, NAMESPACES
from registry.search.lexer import spell_key
from registry.search.parser import parse_ordering, parse_query


def target(text):
    return parse_query(text).target


@pytest.mark.parametrize(
    ("text", "path", "key"),
    [
        ("hp.optimizer.lr > 0.001", ("optimizer", "lr"), "optimizer.lr"),
        ("hp.`optimizer.lr` > 0.001", ("optimizer.lr",), "`optimizer.lr`"),
        ("hp.`a.b`.c = 1", ("a.b", "c"), "`a.b`.c"),
        ("hp.model.encoder.layers = 12", ("model", "encoder", "layers"), "model.encoder.layers"),
        ("m.val/acc > 0.7", ("val/acc",), "val/acc"),
        ("m.train-loss < 1", ("train-loss",), "train-loss"),
        ("m.eval.val/acc-top1 > 0.7", ("eval", "val/acc-top1"), "eval.val/acc-top1"),
        ("m.`-x` = 1", ("-x",), "-x"),
        ("hp.`a``b` = 1", ("a`b",), "`a``b`"),
        ("hp.optimizer . lr = 1", ("optimizer", "lr"), "optimizer.lr"),
    ],
)
def test_a_key_is_a_path_split_at_dots_outside_backquotes(text, path, key):
    assert target(text).path == path
    # .key is the key catalogue's spelling (registry/keypaths.py), what warnings and columns name
    assert target(text).key == key


def test_a_minus_after_a_key_is_still_an_operator_and_a_sign():
    comparison = parse_query("m.train-loss>-1")
    assert (comparison.target.path, comparison.operator, comparison.values[0].value) == (("train-loss",), ">", -1)


def test_ordering_takes_nested_keys_and_the_minus_of_descending():
    terms = parse_ordering("-hp.optimizer.lr,m.val/acc")
    assert [(t.target.path, t.descending) for t in terms] == [(("optimizer", "lr"), True), (("val/acc",), False)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("m.f1@5 > 0.3", "Unexpected character '@' in a key at offset 4; write it as m.`f1@5`."),
        ("m.eval.f1@5 > 0.3", "Unexpected character '@' in a key at offset 9; write it as m.eval.`f1@5`."),
        ("m.@home = 1", "Unexpected character '@' in a key at offset 2; write it as m.`@home`."),
        ("m.-x > 1", "Expected a key after 'm.' at offset 2, found '-'; write it as m.`-x`."),
        (
            "m.val acc > 0.7",
            "Expected an operator (= != < <= > >= in like exists) at offset 6, found 'acc'; "
            "write a key with a space as m.`val acc`.",
        ),
        ("hp.optimizer. = 1", "Expected a key after 'hp.optimizer.' at offset 14, found '='."),
    ],
)
def test_a_key_that_needs_backquotes_is_shown_backquoted_in_the_error(text, message):
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    assert str(caught.value) == message


def test_a_path_deeper_than_sixteen_parts_is_refused():
    with pytest.raises(QueryError, match="at most 16 parts"):
        parse_query("hp." + ".".join("k" * 17) + " = 1")


@pytest.mark.parametrize(
    ("parts", "spelled"),
    [
        (("optimizer", "lr"), "optimizer.lr"),
        (("a.b", "c"), "`a.b`.c"),
        (("val acc",), "`val acc`"),
        (("-x",), "`-x`"),
        (("back`quote\\",), "`back\\`quote\\\\`"),
        (("val/acc", "train-loss"), "val/acc.train-loss"),
    ],
)
def test_spell_key_writes_what_the_parser_reads_back(parts, spelled):
    assert spell_key(parts) == spelled
    assert target(f"hp.{spelled} exists").path == parts


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("git.remote = 'x'", "git.remote"),
        ("GIT.Remote like '%x'", "git.remote"),
        ("git.dirty = true", "git.dirty"),
        ("git.branch = 'main'", "branch"),
        ("git.commit = 'abc'", "commit"),
    ],
)
def test_git_fields_are_named_with_a_dot_and_are_not_json_keys(text, field):
    node = target(text)
    assert (node.field.name, node.path) == (field, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("git.dirty = 1", "'git.dirty' compares with true or false at offset 12, found '1'."),
        ("git.dirty > true", "'git.dirty' cannot be used with > at offset 10; git.dirty takes = != in and exists."),
        ("git = 1", "Expected '.' and a field after 'git' at offset 4, found '='."),
    ],
)
def test_git_fields_refuse_what_they_cannot_compare(text, message):
    with pytest.raises(QueryError) as caught:
        compile_query(text)
    assert str(caught.value) == message


def test_an_unknown_git_field_is_an_unknown_field():
    with pytest.raises(QueryError, match=r"^Unknown field 'git\.foo' at offset 0"):
        compile_query("git.foo = 1")


def test_a_namespace_is_a_field_itself_only_where_the_parser_says_so():
    names = {name.lower() for field in FIELDS for name in (field.name, *field.aliases)}
    assert {"git", "format"} == NAMESPACES
    # `format` alone is the format's name; `format.params` the field under it (docs/formats.md).
    assert NAMESPACES & names == {"format"}


def test_a_top_level_key_keeps_the_sql_its_expression_indexes_were_made_from():
    sql, params = pg_typed_value('"metrics"', (), "f1", NUMBER)
    assert sql == ("""(CASE WHEN jsonb_typeof("metrics" -> %s) = 'number' THEN ("metrics" ->> %s)::numeric END)""")
    assert params == ("f1", "f1")
    # a string is one key as stored, a dot and all; a tuple is a path
    assert pg_typed_value('"metrics"', (), "a.b", NUMBER)[1] == ("a.b", "a.b")
    assert pg_typed_value('"metrics"', (), ("a.b",), NUMBER) == pg_typed_value('"metrics"', (), "a.b", NUMBER)


def test_a_nested_key_chains_arrows_so_no_step_reads_a_list():
    sql, params = pg_typed_value('"hyperparameters"', (), ("optimizer", "name"), STRING)
    assert sql == (
        """(CASE WHEN jsonb_typeof("hyperparameters" -> %s -> %s) = 'string' """
        """THEN ("hyperparameters" -> %s ->> %s) COLLATE "C" END)"""
    )
    assert params == ("optimizer", "name", "optimizer", "name")
