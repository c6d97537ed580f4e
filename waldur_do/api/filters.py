import django_filters


class OrderingFilter(django_filters.OrderingFilter):
    """`?o=name` / `?o=-created`. An empty value keeps the default order, and ties are broken by the primary
    key, so that consecutive pages never overlap or skip rows."""

    def filter(self, qs, value):
        ordering = [self.get_ordering_value(param) for param in value or () if param]
        if not ordering:
            return qs
        return qs.order_by(*ordering, "pk")


class NamedFilterSet(django_filters.FilterSet):
    """Waldur's pair on named objects: `name` matches a part, case-insensitively; `name_exact` the whole."""

    name = django_filters.CharFilter(lookup_expr="icontains")
    name_exact = django_filters.CharFilter(field_name="name")
