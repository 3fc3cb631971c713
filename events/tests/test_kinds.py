"""The vocabulary of kinds is one list: docs/events.md names every kind, and nothing else."""

import re
from pathlib import Path

from django.conf import settings

from events.kinds import FAMILIES, KINDS

DOC = Path(settings.BASE_DIR) / "docs" / "events.md"


def test_the_docs_table_lists_every_kind_and_no_other():
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", DOC.read_text(), flags=re.MULTILINE))

    assert documented == set(KINDS), f"missing: {set(KINDS) - documented}, unknown: {documented - set(KINDS)}"


def test_every_kind_is_a_family_and_an_action():
    for kind in KINDS:
        family, action = kind.split(".")
        assert family in FAMILIES and re.fullmatch(r"[a-z_]+", action), kind
