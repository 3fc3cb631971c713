"""Events as the sentences timelines show (events/sentences.py)."""

import pytest

from events.kinds import KINDS
from events.models import Event
from events.sentences import field_label, sentence


def event(kind, subject_name="resnet50 v3", before=None, after=None, **fields):
    return Event(kind=kind, subject_name=subject_name, before=before, after=after, **fields)


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        (event("model.created", after={"private": False}), "Uploaded resnet50 v3"),
        (event("model.created", after={"private": True}), "Uploaded resnet50 v3 (private)"),
        (
            event(
                "model.updated",
                before={"metrics": {}, "git_branch": ""},
                after={"metrics": {"a": 1}, "git_branch": "main"},
            ),
            "Changed metrics, git branch of resnet50 v3",
        ),
        (event("model.deleted"), "Deleted resnet50 v3"),
        (event("model.visibility_changed", after={"private": True}), "Made resnet50 v3 private"),
        (event("model.visibility_changed", after={"private": False}), "Made resnet50 v3 public"),
        (
            event("model.tags_changed", before={"tags": ["a", "b"]}, after={"tags": ["b", "c", "d"]}),
            "Added tags c, d and removed tag a of resnet50 v3",
        ),
        (
            event("alias.set", "resnet50@production", after={"alias": "production", "version": 3, "model_id": 9}),
            "Pointed @production of resnet50 at v3",
        ),
        (
            event(
                "alias.moved",
                "resnet50@production",
                before={"alias": "production", "version": 2, "model_id": 8},
                after={"alias": "production", "version": 3, "model_id": 9},
            ),
            "Moved @production of resnet50 from v2 to v3",
        ),
        (
            event("alias.removed", "resnet50@staging", before={"alias": "staging", "version": 2, "model_id": 8}),
            "Removed @staging from resnet50 v2",
        ),
        (event("registered_model.updated", "resnet50"), "Changed the model card of resnet50"),
        (event("registered_model.deleted", "resnet50"), "Deleted resnet50 with all its versions"),
        (
            event("project.renamed", "cnn", before={"name": "cnns"}, after={"name": "cnn"}),
            "Renamed project cnns to cnn",
        ),
        (
            event("membership.added", "bob", after={"user_id": 2, "login": "bob", "role": "member"}),
            "Added bob as member",
        ),
        (
            event("membership.removed", "bob", before={"user_id": 2, "login": "bob", "role": "member"}, actor_id=2),
            "Left the workspace (was member)",
        ),
        (
            event("membership.role_changed", "bob", before={"role": "member"}, after={"role": "owner"}),
            "Changed bob's role from member to owner",
        ),
        (event("token.created", "CI"), "Created API token CI"),
    ],
)
def test_each_kind_reads_as_a_sentence(made, expected):
    assert sentence(made) == expected


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_of_the_vocabulary_gets_a_sentence_even_with_odd_values(kind):
    """A kind added to events/kinds.py later reads as its meaning; before/after of an
    unexpected shape never break a timeline."""
    for before, after in ((None, None), ({"x": 1}, {"x": [1, 2]}), ({"tags": None}, {"version": None})):
        text = sentence(event(kind, "thing", before=before, after=after))
        assert text and text[0].isupper()


def test_a_kind_without_its_own_sentence_reads_as_its_meaning_with_the_subject():
    assert sentence(event("promotion.opened", "resnet50@production")) == (
        "A promotion request was opened (resnet50@production)"
    )


@pytest.mark.parametrize(
    ("field", "label"),
    [("git_remote_url", "git remote"), ("git_dirty", "uncommitted changes"), ("dataset_name", "dataset")],
)
def test_a_changed_field_is_named_as_people_say_it(field, label):
    assert field_label(field) == label
