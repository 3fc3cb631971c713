"""One FilterSet per resource, shared by the API viewsets and the HTML list views.

Relations take repeated values (`?project=1&project=2`) or a comma list (`?project=1,2`);
free text is one `search` filter; JSON dictionaries are filtered by key presence through one
declared mechanism (`KeysFilter`), never through `Meta.fields`.
"""

import django_filters
from django import forms
from django.db.models import Q
from django_filters.widgets import QueryArrayWidget
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from maisie_site.storable import validate_text
from registry import keypaths
from registry.models import MLModel, Project, Tag, Workspace
from registry.search.expressions import JSONHasKey
from registry.search.filters import OrderingFilter, QueryFilter


class _ListField(forms.Field):
    """A list of strings from repeated and/or comma-separated query parameters."""

    widget = QueryArrayWidget

    def to_python(self, value):
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        return [part.strip() for item in values for part in str(item).split(",") if part.strip()]

    def validate(self, value):
        super().validate(value)
        for item in value:
            validate_text(item)  # a NUL would reach the database as a tag name or key to compare


class _IdListField(_ListField):
    def to_python(self, value):
        items = super().to_python(value)
        try:
            return [int(item) for item in items]
        except ValueError:
            raise forms.ValidationError("Enter whole numbers separated by commas.") from None


class IdListFilter(django_filters.Filter):
    """`?project=1&project=2` or `?project=1,2`: rows whose `field_name` is any of them."""

    field_class = _IdListField

    def filter(self, qs, value):
        if not value:
            return qs
        # No row has an id past 64 bits; SQLite would overflow on one instead of matching nothing.
        return qs.filter(**{f"{self.field_name}__in": [v for v in value if -(2**63) <= v < 2**63]})


class ListFilter(django_filters.Filter):
    """`?tag=a&tag=b` or `?tag=a,b`: a list of strings for a `method` to use."""

    field_class = _ListField


class KeysFilter(django_filters.Filter):
    """Models whose JSON dictionary `field_name` has every one of the given keys.

    A key is a path (`optimizer.lr`, registry/keypaths.py), as in the search language; a model
    holding the top-level key exactly as written (`"optimizer.lr"` itself, from before keys were
    paths) matches too, so the published client's `hyperparam=` finds what it always found.
    """

    field_class = _ListField

    def filter(self, qs, value):
        # The search language's key test: Django's has_keys cannot reach a key holding a double
        # quote on SQLite, and `hp.optimizer.lr exists` and `?hyperparam=optimizer.lr` agree.
        for key in value or ():
            try:
                path = keypaths.split(key)
            except keypaths.KeyPathError:
                path = (key,)
            condition = Q(JSONHasKey(self.field_name, path))
            if path != (key,):
                condition |= Q(JSONHasKey(self.field_name, key))
            qs = qs.filter(condition)
        return qs


class SearchFilter(django_filters.CharFilter):
    """Case-insensitive substring search over the name."""

    def __init__(self, **kwargs):
        super().__init__(field_name="name", lookup_expr="icontains", label="Search", **kwargs)


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, building its form class once per FilterSet class.

    django-filter makes a new form class (a metaclass run over every field) for each FilterSet
    it builds, that is, for each request: 5 % of a list request's CPU. The fields depend on the
    class alone (none here takes choices from the request), and each form still gets copies."""

    _form_classes: dict[type, type] = {}

    def get_form_class(self):
        cls = type(self)
        form_class = FilterSet._form_classes.get(cls)
        if form_class is None:
            form_class = FilterSet._form_classes[cls] = super().get_form_class()
        return form_class


class WorkspaceFilterSet(FilterSet):
    search = SearchFilter()

    class Meta:
        model = Workspace
        fields = []


class ProjectFilterSet(FilterSet):
    search = SearchFilter()
    workspace = IdListFilter(field_name="workspace_id")

    class Meta:
        model = Project
        fields = []


class TagFilterSet(FilterSet):
    search = SearchFilter()
    workspace = IdListFilter(field_name="workspace_id")

    class Meta:
        model = Tag
        fields = []


# The filters whose fields ProjectUploaderCount has too (registry/keystats.py keeps its rows):
# a list narrowed only by these takes its total from those rows (registry/listing.py).
SCOPE_FILTERS = ("workspace", "project", "projects", "user")


class MLModelFilterSet(FilterSet):
    search = SearchFilter()
    workspace = IdListFilter(field_name="project__workspace_id")
    project = IdListFilter(field_name="project_id")
    projects = IdListFilter(field_name="project_id", label="Projects (old comma form)")
    user = IdListFilter(field_name="uploader_id")
    tag = ListFilter(method="filter_tags", label="Tag (name or id)")
    hyperparam = KeysFilter(field_name="hyperparameters")
    param = KeysFilter(field_name="parameters")
    metric = KeysFilter(field_name="metrics")
    name = django_filters.CharFilter(field_name="name")
    # The search language (registry/search, docs/search.md), beside the filters above.
    q = QueryFilter(label="Query")
    ordering = OrderingFilter(label="Ordering")

    class Meta:
        model = MLModel
        fields = []

    @extend_schema_field(OpenApiTypes.STR)
    def filter_tags(self, qs, name, value):
        """Models carrying every tag given, each named or given by id."""
        for tag in value:
            # A tag may be named "2024": digits match that name as well as that id.
            condition = Q(tags__name=tag) | Q(tags__id=int(tag)) if tag.isdecimal() else Q(tags__name=tag)
            qs = qs.filter(pk__in=MLModel.objects.filter(condition).values("pk"))
        return qs
