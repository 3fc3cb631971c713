"""Reads: who may see what. Every list and lookup starts from `visible_to(user)`."""

from types import SimpleNamespace

from django.db import connections, models
from django.db.models import Exists, OuterRef, Q

from maisie_site.prepared import STAND_IN_INT, Prepared, PreparedList


def _is_staff(user) -> bool:
    return bool(user.is_authenticated and user.is_staff)


def _memberships(user, workspace_ref: str):
    from registry.models import Membership

    return Membership.objects.filter(workspace_id=OuterRef(workspace_ref), user_id=user.pk)


class WorkspaceQuerySet(models.QuerySet):
    def visible_to(self, user):
        if _is_staff(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(Exists(_memberships(user, "pk")))


class ProjectQuerySet(models.QuerySet):
    def visible_to(self, user):
        if _is_staff(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(Exists(_memberships(user, "workspace_id")))

    def with_model_summary(self, user):
        """Prefetch what the `all_*` lists need from the key and uploader counts: two queries a page."""
        return self.prefetch_related(*summary_prefetches(user))


class TagQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Tags of the user's workspaces, except those whose only uses are models hidden from the
        user (other people's private models): a tag's name says something about what it marks.
        Unused tags are the workspace's vocabulary and visible to its members. Staff see all."""
        from registry.models import MLModel

        if _is_staff(user):
            return self
        if not user.is_authenticated:
            return self.none()
        links = MLModel.tags.through.objects.filter(tag_id=OuterRef("pk"))
        seen = links.filter(Q(mlmodel__private=False) | Q(mlmodel__uploader_id=user.pk))
        return self.filter(Exists(_memberships(user, "workspace_id"))).filter(Q(Exists(seen)) | ~Exists(links))

    def suggestions(self, limit: int) -> list[str]:
        """The first `limit` distinct names, sorted: names repeat across workspaces."""
        return list(self.order_by("name").values_list("name", flat=True).distinct()[:limit])


class _UploadedQuerySet(models.QuerySet):
    """Rows with a project, an uploader and a private flag: models, and their key and uploader counts."""

    def visible_to(self, user):
        """Those in the user's workspaces, minus other people's private ones; staff see all."""
        if _is_staff(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(Exists(_memberships(user, "project__workspace_id"))).filter(
            Q(private=False) | Q(uploader_id=user.pk)
        )


class MLModelQuerySet(_UploadedQuerySet):
    def with_related(self):
        """Project, uploader and format facts (a LEFT JOIN: null until read) come with each model;
        tags are loaded for a page by `attach_tags`."""
        return self.select_related("uploader", "project", "format_facts")


def _visible_models(pk, *, user_pk=None):
    """`visible_to` of a signed-in user who is not staff (whose id is `user_pk`), or of staff."""
    from registry.models import MLModel

    user = SimpleNamespace(pk=user_pk, is_authenticated=True, is_staff=user_pk is None)
    return MLModel.objects.visible_to(user).with_related().filter(pk=pk).order_by()


# One query each, compiled once (maisie_site/prepared.py; bench/floor.py, the get by id): the
# SQL is `visible_to`'s own, so a model is found here exactly when the list would show it.
_member_model = Prepared(lambda user_pk, pk: _visible_models(pk, user_pk=user_pk), STAND_IN_INT, STAND_IN_INT - 1)
_staff_model = Prepared(_visible_models, STAND_IN_INT)
_BIGINT = range(-(2**63), 2**63)


def visible_model(user, pk):
    """The model `pk` (an id, or its text) with its project and uploader, if `user` may see it;
    else None: what `MLModel.objects.visible_to(user).with_related().filter(pk=pk).first()` gives."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    if pk not in _BIGINT or not user.is_authenticated:  # no such id can exist; anonymous see nothing
        return None
    if _is_staff(user):
        return _staff_model.first(pk)
    return _member_model.first(user.pk, pk)


def _visible_tags(user_pk=None):
    """`Tag.objects.visible_to` of a signed-in user who is not staff (whose id is `user_pk`), or of staff."""
    from registry.models import Tag

    return Tag.objects.visible_to(SimpleNamespace(pk=user_pk, is_authenticated=True, is_staff=user_pk is None))


# The tag list without filters (bench/floor.py's no-op), its page and its total compiled once:
# building and compiling the visibility rule's three subqueries for both was most of the request.
_member_tags = PreparedList(_visible_tags, STAND_IN_INT)
_staff_tags = PreparedList(_visible_tags)


def visible_tags(user):
    """The tags `user` may see, in their order, as rows a Paginator pages: what
    `Tag.objects.visible_to(user)` holds, read by statements compiled once (maisie_site/prepared.py)."""
    from registry.models import Tag

    if not user.is_authenticated:
        return Tag.objects.none()
    return _staff_tags.pages() if _is_staff(user) else _member_tags.pages(user.pk)


def tag_order() -> list[str]:
    """The order of a model's tags everywhere they are shown: Tag.Meta.ordering (it ends in the id)."""
    from registry.models import Tag

    return list(Tag._meta.ordering)


_TAG_BATCH = 1000  # the API's largest page


def attach_tags(models: list) -> list:
    """Each model's tags as `prefetched_tags` (read by `MLModel.tag_list`), one Tag object per
    distinct tag, in `tag_order()`: one query for a page of models. Returns `models`.

    `prefetch_related("tags")` built a Tag per (model, tag) pair and ran the prefetch machinery,
    and even a `values_list` of the link table cost more to compile than to run: on a page of 50
    models these were an eighth, then a tenth, of the request's CPU. So the SQL is written once
    from the models' own table and column names, with one bound parameter per model id."""
    from registry.models import Tag

    by_id: dict[int, list] = {}  # a list: a query that joins may return one model twice
    for model in models:
        model.prefetched_tags = []
        by_id.setdefault(model.pk, []).append(model)
    if not by_id:
        return models
    using = models[0]._state.db
    connection = connections[using]
    ids, links = list(by_id), []
    with connection.cursor() as cursor:
        # In batches: SQLite takes a limited number of parameters, and a list view is one batch.
        for start in range(0, len(ids), _TAG_BATCH):
            batch = ids[start : start + _TAG_BATCH]
            cursor.execute(_tag_links_sql(connection, len(batch)), batch)
            links += cursor.fetchall()
    tags: dict[int, Tag] = {}
    fields = ["id", "name", "description"]
    for model_id, tag_id, name, description in links:
        tag = tags.get(tag_id)
        if tag is None:
            tag = tags[tag_id] = Tag.from_db(using, fields, (tag_id, name, description))
        for model in by_id[model_id]:
            model.prefetched_tags.append(tag)
    return models


def _tag_links_sql(connection, count: int) -> str:
    """(model id, tag id, name, description) of the models given as `count` parameters."""
    from registry.models import MLModel, Tag

    quote = connection.ops.quote_name
    link = MLModel.tags.through._meta
    model_id, tag_id = (quote(link.get_field(name).column) for name in ("mlmodel", "tag"))
    tag = Tag._meta
    columns = [f"t.{quote(tag.get_field(name).column)}" for name in ("id", "name", "description")]
    order = [f"t.{quote(tag.get_field(name).column)}" for name in tag_order()]
    # Names from the models' _meta, quoted; the ids are bound parameters.
    return (
        f"SELECT l.{model_id}, {', '.join(columns)} FROM {quote(link.db_table)} l"  # noqa: S608
        f" INNER JOIN {quote(tag.db_table)} t ON t.{quote(tag.pk.column)} = l.{tag_id}"
        f" WHERE l.{model_id} IN ({', '.join(['%s'] * count)}) ORDER BY {', '.join(order)}"
    )


def attach_alias_names(models: list) -> list:
    """Each model's alias names, sorted, as `prefetched_alias_names` (read by the shape's
    `aliases`): one query for a page of models, written as attach_tags's is. Returns `models`.

    An alias on a version is shown to whoever may see the version: it names nothing else."""
    by_id: dict[int, list] = {}
    for model in models:
        model.prefetched_alias_names = []
        by_id.setdefault(model.pk, []).append(model)
    if not by_id:
        return models
    connection = connections[models[0]._state.db]
    ids, rows = list(by_id), []
    with connection.cursor() as cursor:
        for start in range(0, len(ids), _TAG_BATCH):
            batch = ids[start : start + _TAG_BATCH]
            cursor.execute(_alias_names_sql(connection, len(batch)), batch)
            rows += cursor.fetchall()
    for model_id, name in rows:  # in name order, so each model's list is sorted
        for model in by_id[model_id]:
            model.prefetched_alias_names.append(name)
    return models


def _alias_names_sql(connection, count: int) -> str:
    """(version id, alias name) of the models given as `count` parameters, by name."""
    from registry.models import Alias

    quote = connection.ops.quote_name
    alias = Alias._meta
    version, name = (quote(alias.get_field(field).column) for field in ("version", "name"))
    # Names from the model's _meta, quoted; the ids are bound parameters.
    return (
        f"SELECT {version}, {name} FROM {quote(alias.db_table)}"  # noqa: S608
        f" WHERE {version} IN ({', '.join(['%s'] * count)}) ORDER BY {name}"
    )


class ProjectCountQuerySet(_UploadedQuerySet):
    """ProjectKeyCount and ProjectUploaderCount rows (registry.keystats keeps them)."""


def summary_prefetches(user) -> list:
    """The key and uploader counts of a project that `user` may see, as `visible_key_counts` and
    `visible_uploader_counts`: rows, never models, so a project of 100,000 models costs its keys."""
    from django.db.models import Prefetch

    from registry.models import ProjectKeyCount, ProjectUploaderCount

    keys = ProjectKeyCount.objects.visible_to(user).only("project_id", "section", "key").order_by()
    uploaders = (
        ProjectUploaderCount.objects.visible_to(user)
        .select_related("uploader")
        .only("project_id", "uploader", "uploader__full_name")
        .order_by()
    )
    return [
        Prefetch("key_counts", queryset=keys, to_attr="visible_key_counts"),
        Prefetch("uploader_counts", queryset=uploaders, to_attr="visible_uploader_counts"),
    ]
