"""The write paths of saved views: the web views (saved_views/views.py, the project table) call these."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.http import QueryDict
from django.utils.text import slugify

from registry import rules
from registry.models import Project
from saved_views.models import DEFAULT_SLUG, MAX_QUERY_LENGTH, LastView, SavedView, view_query


def _check_query(query: str) -> None:
    if len(query) > MAX_QUERY_LENGTH:
        raise ValidationError(f"A view's query string holds at most {MAX_QUERY_LENGTH} characters.")


def can_delete(user, view: SavedView, *, edits_project: bool | None = None) -> bool:
    """Its creator, and whoever may edit the project (its workspace's owners, its creator, staff).
    `edits_project`: that answer for the view's project, when the caller has it already."""
    if view.created_by_id is not None and view.created_by_id == user.pk:
        return True
    return rules.can_edit_project(user, view.project) if edits_project is None else edits_project


def _check_visible(user, project: Project) -> None:
    if not Project.objects.visible_to(user).filter(pk=project.pk).exists():
        raise PermissionDenied("Only the members of the project's workspace use its views.")


@transaction.atomic
def saved_view_create(*, user, project: Project, name: str, query: str, default: bool = False) -> SavedView:
    """A named view of the project, shared with its workspace; `default` makes it the project's
    default view (for whoever may edit the project), in place of the one before."""
    _check_visible(user, project)
    if default and not rules.can_edit_project(user, project):
        raise PermissionDenied("Only the project's owners set its default view.")
    name = (name or "").strip()
    slug = slugify(name)[:100]
    if not name or not slug:
        raise ValidationError({"name": "Give the view a name with a letter or a digit."})
    if len(name) > 100:
        raise ValidationError({"name": "A view's name holds at most 100 characters."})
    if slug == DEFAULT_SLUG or slug.isdigit():
        raise ValidationError({"name": f"“{name}” would be read as a view's id or as the default view: pick another."})
    # Re-encoded as the page writes it: the stored text becomes a redirect's query string.
    query = view_query(QueryDict(query))
    _check_query(query)
    # The project's row lock: two saves of the same name, or two defaults, queue here.
    Project.objects.select_for_update().filter(pk=project.pk).first()
    if SavedView.objects.filter(project=project, slug=slug).exists():
        raise ValidationError({"name": f"The project has a view named “{name}” already."})
    if default:
        SavedView.objects.filter(project=project, is_default=True).update(is_default=False)
    return SavedView.objects.create(
        project=project, name=name, slug=slug, query=query, is_default=default, created_by=user
    )


@transaction.atomic
def saved_view_set_default(*, user, view: SavedView, default: bool = True) -> SavedView:
    """Make the view the project's default (or no longer); the project's owners only."""
    if not rules.can_edit_project(user, view.project):
        raise PermissionDenied("Only the project's owners set its default view.")
    Project.objects.select_for_update().filter(pk=view.project_id).first()
    if default:
        SavedView.objects.filter(project_id=view.project_id, is_default=True).exclude(pk=view.pk).update(
            is_default=False
        )
    view.is_default = default
    view.save(update_fields=["is_default"])
    return view


def saved_view_delete(*, user, view: SavedView) -> None:
    if not can_delete(user, view):
        raise PermissionDenied("Only the view's creator and the project's owners delete it.")
    view.delete()


def last_view_remember(*, user, project: Project, query: str) -> None:
    """Keep the view the user has of the project now: one upsert, the caller having shown it
    (so the user sees the project). A query string over the limit is not kept.

    Every page view of a project writes here, so on PostgreSQL the write does not wait for its
    WAL to reach the disk (`synchronous_commit` off for this transaction only): a crash may
    forget the last second's views, nothing else. It halved the upsert's time on a busy machine
    (docs/performance.md, Web UI, "the project table's columns and views").
    """
    if not user.is_authenticated or len(query) > MAX_QUERY_LENGTH:
        return

    def upsert():
        LastView.objects.bulk_create(
            [LastView(user=user, project=project, query=query)],
            update_conflicts=True,
            unique_fields=["user", "project"],
            update_fields=["query", "updated"],
        )

    if connection.vendor != "postgresql":
        upsert()
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        upsert()
