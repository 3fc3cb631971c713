import django_filters
from django.db.models import Q

from accounts.models import User


class UserFilterSet(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Search")

    class Meta:
        model = User
        fields = []

    def filter_search(self, qs, name, value):
        return qs.filter(Q(login__icontains=value) | Q(full_name__icontains=value))
