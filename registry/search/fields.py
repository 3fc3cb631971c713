"""The allow-list: every field a query or an ordering may name, and the column behind it.

Nothing outside this table is reachable from the query language. The three JSON dictionaries
take a key (`hp.lr`); the other fields are plain columns or relations of MLModel.
"""

from dataclasses import dataclass

from registry.search.errors import query_error

# What kind of value a field holds decides its operators (see compiler.py).
JSON, TEXT, INTEGER, DATETIME, VISIBILITY, RELATION, TAG, ALIAS, BOOLEAN = (
    "json",
    "text",
    "integer",
    "datetime",
    "visibility",
    "relation",
    "tag",
    "alias",
    "boolean",
)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    column: str  # the ORM path; for a relation, the id
    name_column: str = ""  # a relation's name, matched by quoted strings
    optional: bool = False  # may be blank, so `exists` means "not blank"
    aliases: tuple[str, ...] = ()
    nullable: bool = False  # NULL where a joined row is missing: ordered last both ways


FIELDS = (
    Field("hyperparameters", JSON, "hyperparameters", aliases=("hp",)),
    Field("parameters", JSON, "parameters", aliases=("params",)),
    Field("metrics", JSON, "metrics", aliases=("m",)),
    Field("id", INTEGER, "id"),
    Field("name", TEXT, "name"),
    Field("version", INTEGER, "version"),
    Field("tag", TAG, "tags__name"),
    Field("alias", ALIAS, "aliases__name"),  # a version holds several, as it holds tags
    Field("user", TEXT, "uploader__login"),
    Field("project", RELATION, "project_id", name_column="project__name"),
    Field("workspace", RELATION, "project__workspace_id", name_column="project__workspace__name"),
    Field("registered_model", RELATION, "registered_model_id", name_column="registered_model__name"),
    Field("dataset", TEXT, "dataset_name", optional=True),
    Field("branch", TEXT, "git_branch", optional=True, aliases=("git.branch",)),
    Field("commit", TEXT, "git_commit", optional=True, aliases=("git.commit",)),
    Field("git.remote", TEXT, "git_remote_url", optional=True),
    Field("git.dirty", BOOLEAN, "git_dirty", optional=True),  # null: the client did not say
    Field("visibility", VISIBILITY, "private"),
    Field("created", DATETIME, "created"),
    Field("size", INTEGER, "file_size"),
    # What the formats app read from the version's files (formats.models.VersionFacts).
    Field("format", TEXT, "format_facts__format", nullable=True),
    Field("format.params", INTEGER, "format_facts__params", nullable=True),
    # The worst verdict of its model files: alias rules ask for `format.verdict = "safe"`.
    Field("format.verdict", TEXT, "format_facts__verdict", nullable=True),
)

# The first words of the fields whose names hold a dot (`git.remote`): after one of these, the
# word after the dot names the field, where after `hp.` it would be a JSON key.
NAMESPACES = frozenset(name.partition(".")[0] for f in FIELDS for name in (f.name, *f.aliases) if "." in name)

# The models' JSON dictionaries, in this order everywhere they are listed or counted.
JSON_SECTIONS = tuple(field.name for field in FIELDS if field.kind == JSON)
_BY_NAME = {name: field for field in FIELDS for name in (field.name, *field.aliases)}
_LISTED = ", ".join(f"{f.name} ({', '.join(f.aliases)})" if f.aliases else f.name for f in FIELDS)


def field_named(word: str, offset: int) -> Field:
    """The field a (case-insensitive) name or alias stands for."""
    field = _BY_NAME.get(word.lower())
    if field is None:
        raise query_error(offset, f"Unknown field '{word}'", hint=f"expected one of {_LISTED}")
    return field


def is_field(word: str) -> bool:
    return word.lower() in _BY_NAME
