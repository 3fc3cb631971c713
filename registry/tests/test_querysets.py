"""registry.querysets: `with_related()` brings each model's project and uploader; `attach_tags`
loads a page's tags in one query."""

from registry.models import MLModel
from registry.querysets import attach_tags
from registry.tests.factories import upload


def test_a_page_gets_its_tags_in_name_order_in_one_query(project, alice, django_assert_num_queries):
    upload(alice, project, name="a", tags=["zeta", "alpha"])
    upload(alice, project, name="b", tags=["mid"])
    upload(alice, project, name="c")
    with django_assert_num_queries(2):  # the models with project and uploader, then the tags
        models = attach_tags(list(MLModel.objects.with_related().order_by("name")))
        shown = {m.name: ([t.name for t in m.tag_list], m.project.name, m.uploader.login) for m in models}
    assert shown == {
        "a": (["alpha", "zeta"], "resnets", "alice"),
        "b": (["mid"], "resnets", "alice"),
        "c": ([], "resnets", "alice"),
    }


def test_models_sharing_a_tag_share_one_tag_object(project, alice):
    upload(alice, project, name="a", tags=["prod"])
    upload(alice, project, name="b", tags=["prod"])
    first, second = attach_tags(list(MLModel.objects.order_by("name")))
    assert first.tag_list[0] is second.tag_list[0]
    assert first.tag_list[0].pk == second.tag_list[0].pk and first.tag_list[0].name == "prod"


def test_a_model_a_join_returns_twice_has_its_tags_both_times(project, alice):
    upload(alice, project, name="a", tags=["prod", "gpu"])
    rows = attach_tags(list(MLModel.objects.filter(tags__name__in=["prod", "gpu"])))
    assert len(rows) == 2 and rows[0].pk == rows[1].pk
    assert [[t.name for t in row.tag_list] for row in rows] == [["gpu", "prod"], ["gpu", "prod"]]


def test_no_models_no_query(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        assert attach_tags([]) == []


def test_a_model_without_attached_tags_reads_them_in_the_same_order(project, alice):
    model = upload(alice, project, name="a", tags=["zeta", "alpha", "Beta"])
    fresh = MLModel.objects.get(pk=model.pk)
    assert [t.name for t in fresh.tag_list] == [t.name for t in attach_tags([model])[0].tag_list]


def test_tags_changed_after_a_fetch_show_on_the_next_fetch(project, alice):
    model = upload(alice, project, name="a", tags=["prod"])
    model.tags.clear()
    assert attach_tags([MLModel.objects.get(pk=model.pk)])[0].tag_list == []


def test_many_models_get_their_tags_in_batches(project, alice, monkeypatch, django_assert_num_queries):
    from registry import querysets

    monkeypatch.setattr(querysets, "_TAG_BATCH", 2)
    for i in range(5):
        upload(alice, project, name=f"m{i}", tags=[f"t{i}", "all"])
    with django_assert_num_queries(4):  # the models, then three batches of at most two
        models = attach_tags(list(MLModel.objects.order_by("name")))
    assert [[t.name for t in m.tag_list] for m in models] == [["all", f"t{i}"] for i in range(5)]
    assert len({id(m.tag_list[0]) for m in models}) == 1  # "all" is one object across the batches
