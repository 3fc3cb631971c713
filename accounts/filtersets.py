import django_filters
from django.db.models import Q
from django.db.models.functions import Lower

from accounts.models import User


class UserFilterSet(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Search")
    # Exact, in any case: how an owner finds someone to invite outside the people they already
    # share a workspace with (UserViewSet widens its scope to the exact match, no further).
    login = django_filters.CharFilter(method="filter_login", label="Login (exact, any case)")
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact", label="Email (exact, any case)")

    class Meta:
        model = User
        fields = []

    def filter_search(self, qs, name, value):
        return qs.filter(Q(login__icontains=value) | Q(full_name__icontains=value))

    def filter_login(self, qs, name, value):
        return qs.alias(login_lower=Lower("login")).filter(login_lower=value.strip().lower())
