"""Vocabulary guards, after NetBox's test_missing_filters: one source, and a test per place that lists it.

The search language's allow-list (registry/search/fields.py) is the source: its JSON fields are
the models' sections (hyperparameters, parameters, metrics) with their aliases (hp, params, m),
and its other fields are what queries and sorts may name. Lists that can derive from it do
(keystats.SECTIONS, the table's SECTIONS and labels, the search indexes' short names); every
other place that must name each section or field is checked here, so adding one to the source
and missing a place fails a test that says which.
"""

import re
from pathlib import Path

from django.db import models

from registry import keystats
from registry.api.serializers import (
    MLModelSerializer,
    MLModelUpdateSerializer,
    MLModelUploadSerializer,
    ProjectSerializer,
)
from registry.filtersets import KeysFilter, MLModelFilterSet
from registry.models import MLModel, ProjectKeyCount
from registry.search import indexes
from registry.search.fields import FIELDS, JSON, JSON_SECTIONS, field_named
from registry.web import keys
from registry.web.forms import ModelEditForm, ModelUploadForm
from registry.web.table_state import FIXED_ORDERING

REPO = Path(__file__).resolve().parents[2]
JSON_FIELDS = [field for field in FIELDS if field.kind == JSON]
SECTIONS = [field.name for field in JSON_FIELDS]
FIRST_ALIASES = {field.name: field.aliases[0] for field in JSON_FIELDS}


def test_the_models_json_columns_are_the_search_languages_json_fields():
    columns = [field.name for field in MLModel._meta.get_fields() if isinstance(field, models.JSONField)]

    assert columns == SECTIONS


def test_keystats_and_the_table_list_the_sections_of_the_search_language_in_its_order():
    assert list(JSON_SECTIONS) == SECTIONS
    assert list(keystats.SECTIONS) == SECTIONS
    assert list(keys.SECTIONS) == SECTIONS


def test_the_table_has_a_label_and_a_short_name_for_every_section():
    assert list(keys.SECTION_LABELS) == SECTIONS
    assert list(keys.SECTION_SHORT) == SECTIONS


def test_the_table_reads_every_name_and_alias_of_every_section():
    for field in JSON_FIELDS:
        for name in (field.name, *field.aliases):
            assert keys.split_key(f"{name}.lr") == (field.name, "lr"), name


def test_the_search_indexes_are_named_by_each_sections_first_alias():
    assert indexes.FIELDS == FIRST_ALIASES
    assert indexes.KeyIndex("metrics", "f1", 1).name.startswith(f"{indexes.PREFIX}{FIRST_ALIASES['metrics']}_")


def test_the_charts_shorten_each_section_to_its_first_alias():
    script = (REPO / "static" / "maisie" / "charts.js").read_text()

    shortened = dict(re.findall(r'replace\(/\^(\w+)\\\./, "(\w+)\."\)', script))

    assert shortened == FIRST_ALIASES


def test_the_model_filterset_has_a_keys_filter_for_every_section():
    filtered = [f.field_name for f in MLModelFilterSet.base_filters.values() if isinstance(f, KeysFilter)]

    assert sorted(filtered) == sorted(SECTIONS)


def test_the_api_shows_lists_and_writes_every_section():
    assert set(SECTIONS) <= set(MLModelSerializer().fields)
    assert {f"all_{section}" for section in SECTIONS} <= set(ProjectSerializer().fields)
    assert set(SECTIONS) <= set(MLModelUploadSerializer().fields)
    assert set(SECTIONS) <= set(MLModelUpdateSerializer().fields)


def test_the_web_forms_write_every_section():
    assert set(SECTIONS) <= set(ModelUploadForm.base_fields)
    assert set(SECTIONS) <= set(ModelEditForm.base_fields)


def test_the_key_counts_section_column_holds_every_section_name():
    assert max(len(section) for section in SECTIONS) <= ProjectKeyCount._meta.get_field("section").max_length


def test_the_tables_sortable_columns_are_fields_of_the_search_language():
    for name in FIXED_ORDERING:
        assert field_named(name, 0).name == name


def test_docs_search_md_documents_every_field_and_alias():
    text = (REPO / "docs" / "search.md").read_text()
    table = text.split("\n## Fields\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ")[0] for line in table.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([^`]+)`", row)}
    expected = set()
    for field in FIELDS:
        names = (field.name, *field.aliases)
        expected |= {f"{name}.<key>" for name in names} if field.kind == JSON else set(names)

    assert expected - documented == set(), "fields of registry/search/fields.py missing from docs/search.md"
