"""A view of a project's model table is its query string (`registry/web/table_state.py` reads it);
these rows keep one, never results: whoever opens it sees what their own visibility allows.

`SavedView`: a named view of a project, shared with everyone who sees the project (its workspace's
members and staff); one of them may be the project's default. `LastView`: the view a user last
had of a project, restored when they come back through a link without view parameters.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.http import QueryDict

from registry.models import Project

# Not part of a view: where the user was in it, the export format, and the view's own name.
NOT_IN_A_VIEW = ("page", "format", "view", "csrfmiddlewaretoken")
MAX_QUERY_LENGTH = 4000
# `?view=default` is the project's default view, so no saved view is named so.
DEFAULT_SLUG = "default"


def view_query(params: QueryDict) -> str:
    """The query string of the view that `params` (a request's GET) shows."""
    data = params.copy()
    for name in NOT_IN_A_VIEW:
        data.pop(name, None)
    return data.urlencode()


class SavedViewQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Views of the projects the user sees: a workspace's members (and staff) share them."""
        return self.filter(project__in=Project.objects.visible_to(user))

    def named(self, name: str):
        """The view `name` names: its slug, or its id."""
        return self.filter(Q(slug=name) | Q(pk=int(name))) if name.isdigit() else self.filter(slug=name)


class SavedView(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    query = models.TextField(blank=True, max_length=MAX_QUERY_LENGTH)
    is_default = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    objects = SavedViewQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "slug"], name="savedview_unique_slug"),
            models.UniqueConstraint(
                fields=["project"], condition=Q(is_default=True), name="savedview_one_default_per_project"
            ),
            models.CheckConstraint(condition=~Q(slug=DEFAULT_SLUG), name="savedview_slug_not_default"),
        ]

    def __str__(self):
        return self.name


class LastViewQuerySet(models.QuerySet):
    def query_of(self, user, project) -> str:
        """The query string of the user's last view of the project ("" if none)."""
        if not user.is_authenticated:
            return ""
        return self.filter(user_id=user.pk, project_id=project.pk).values_list("query", flat=True).first() or ""


class LastView(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    query = models.TextField(blank=True, max_length=MAX_QUERY_LENGTH)
    updated = models.DateTimeField(auto_now=True)

    objects = LastViewQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="lastview_unique_user_project")]

    def __str__(self):
        return f"{self.user_id} on {self.project_id}: ?{self.query}"


def remembered_query(user, project) -> str:
    """What a link without view parameters shows the user: their last view of the project, else
    the project's default view ("" for the built-in default)."""
    last = LastView.objects.query_of(user, project)
    if last:
        return last
    return SavedView.objects.filter(project=project, is_default=True).values_list("query", flat=True).first() or ""
