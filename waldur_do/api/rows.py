"""Lists rendered from `.values()` rows, by functions compiled from the list's DRF serializer.

A list page through a DRF serializer builds a model object per row and then runs DRF's generic machinery
per field (`get_attribute`, `to_representation`, a `reverse()`-based link): 15,600 field calls for a page
of 300 droplets, three quarters of the request (BENCHMARKS.md). The serializer stays what it is, the
source of the schema, of validation and of writes, and of retrieve's and every write's answer; for a list,
`RowRenderer` reads the serializer's fields once and turns each readable field into

- the `.values()` columns it needs (`project.customer.name` is the column `project__customer__name`), and
- a function from a row to what DRF's `to_representation` gives for that field: the column itself where
  the database already holds exactly that (a `CharField` read from a text column, an `IntegerField` from an
  integer column, …), a link filled into a URL template resolved once per request (`reverse()` with a
  placeholder uuid, as the serializer's own link fields do), a date formatted as DRF's DATETIME_FORMAT,
  or else the DRF field's own `to_representation`.

What cannot be read from columns (a `SerializerMethodField`, a model property, a constant) is declared by
the list next to its serializer, with `computed=`; a field that is neither compiles to an error, so a field
added to a serializer cannot be silently missing from its list. Nested lists of a many-to-many relation
(an image's regions) are read with one query per page, in the related model's order. `?field=` selects
fields exactly as `RestrictedFieldsMixin` does, and only their columns are read.

tests/droplets/test_read_path.py proves both paths give the same output for every field, role and
`field=` selection of every list that uses it.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from rest_framework import serializers
from rest_framework.fields import ISO_8601
from rest_framework.settings import api_settings

from .fields import URL_PLACEHOLDER
from .serializers import requested_fields

Row = Mapping[str, Any]
# Per request (and page): a field's function row -> value, or the values its expression uses.
Binder = Callable[[Any, list], Any]


_NOTHING = object()


@dataclass(frozen=True)
class Field:
    """How one field is read: the columns it needs, and one of: the column itself (`column`), a constant
    (`value`), an `expression` of the column (`{c}`) and of the values `bind(request, rows)` returns for the
    request (`{a0}`, `{a1}`, …), or else the function row -> value that `bind(request, rows)` returns."""

    columns: tuple[str, ...]
    bind: Binder | None = None
    column: str | None = None
    value: Any = _NOTHING
    expression: str | None = None


def constant(value) -> Field:
    """A field whose value never changes (`service_name`, the marketplace placeholders)."""
    return Field((), value=value)


def from_columns(columns: Iterable[str], compute: Callable[..., Any]) -> Field:
    """A field computed from columns, `compute(*values)`, e.g. a model property."""
    columns = tuple(columns)
    pick = itemgetter(*columns)
    if len(columns) == 1:
        return Field(columns, lambda request, rows: lambda row: compute(pick(row)))
    return Field(columns, lambda request, rows: lambda row: compute(*pick(row)))


def per_request(columns: Iterable[str], bind: Callable[[Any], Callable[[Row], Any]]) -> Field:
    """A field that depends on who asks: `bind(request)` returns the function row -> value."""
    return Field(tuple(columns), lambda request, rows: bind(request))


class RowRenderer:
    """Renders the rows of a list as `serializer_class` would render its objects."""

    def __init__(self, serializer_class, *, computed: Mapping[str, Field] | None = None, prefix: str = ""):
        self.serializer_class = serializer_class
        self.computed = dict(computed or {})
        self.prefix = prefix  # put before every column: the child of a nested list reads `region__name`
        if prefix and computed:
            raise ImproperlyConfigured("the child of a nested list cannot have computed fields")
        self._fields = None

    @property
    def fields(self) -> dict[str, Field]:
        """The readable fields in the serializer's order, compiled on first use (when apps are ready)."""
        if self._fields is None:
            self._fields = self._compile()
        return self._fields

    def select(self, request) -> "Selection":
        """The fields this request renders: all, or those of `?field=` as RestrictedFieldsMixin keeps them."""
        wanted = requested_fields(request, self.fields)
        return Selection(
            [(name, field) for name, field in self.fields.items() if wanted is None or name in wanted]
        )

    def _compile(self) -> dict[str, Field]:
        serializer = self.serializer_class(context={})
        model = serializer.Meta.model
        unknown = set(self.computed) - set(serializer.fields)
        if unknown:
            raise ImproperlyConfigured(f"{self.serializer_class.__name__} has no fields {sorted(unknown)}")
        compiled = {}
        for name, field in serializer.fields.items():
            if field.write_only:
                continue
            if name in self.computed:
                compiled[name] = self.computed[name]
            else:
                compiled[name] = self._compile_field(model, name, field)
        return compiled

    def _compile_field(self, model, name, field) -> Field:
        where = f"{self.serializer_class.__name__}.{name}"
        if isinstance(field, serializers.ListSerializer):
            return _nested_many(model, field, where, self.prefix)
        if isinstance(field, serializers.HyperlinkedIdentityField):
            return _link(field, self.prefix + "uuid")
        if field.source == "*" or isinstance(
            field, serializers.SerializerMethodField | serializers.Serializer
        ):
            raise ImproperlyConfigured(f"{where} is not read from columns: declare it in `computed`")
        model_field = _model_field(model, field.source_attrs, where)
        column = self.prefix + "__".join(field.source_attrs)
        if isinstance(field, serializers.HyperlinkedRelatedField):
            if not model_field.is_relation:
                raise ImproperlyConfigured(f"{where} links to a column that is not a relation")
            return _link(field, f"{column}__uuid")
        if _column_is_the_representation(field, model_field):
            return Field((column,), column=column)
        if isinstance(field, serializers.UUIDField) and field.uuid_format == "hex":
            return Field((column,), column=column, expression="(None if {c} is None else {c}.hex)")
        if isinstance(field, serializers.UUIDField):
            convert = field.to_representation
        elif isinstance(field, serializers.DateTimeField):
            return _datetime(field, column)
        elif _drf_representation(field, serializers.ListField) and _drf_representation(
            field.child, serializers.CharField
        ):
            convert = _texts
        else:
            convert = field.to_representation
        return Field(
            (column,),
            lambda request, rows: (convert,),
            column=column,
            expression="(None if {c} is None else {a0}({c}))",
        )


@dataclass(frozen=True)
class Selection:
    """Some fields of a list, in order: the columns they read, and the page's rows rendered."""

    fields: list[tuple[str, Field]]

    def values(self, queryset) -> models.QuerySet:
        """The queryset's rows as dicts of the columns these fields need (no model objects, no prefetch)."""
        columns = dict.fromkeys(column for _, field in self.fields for column in field.columns)
        return queryset.prefetch_related(None).values(*columns)

    def render(self, rows: list, request) -> list[dict]:
        shape, arguments = [], []
        for name, field in self.fields:
            if field.expression is not None:
                given = field.bind(request, rows) if field.bind else ()
                shape.append((name, field.column, "expression", field.expression, len(given)))
                arguments.extend(given)
            elif field.column is not None:
                shape.append((name, field.column, "column", None, 0))
            elif field.value is not _NOTHING:
                shape.append((name, None, "constant", None, 1))
                arguments.append(field.value)
            else:
                shape.append((name, None, "function", None, 1))
                arguments.append(field.bind(request, rows))
        return _row_function(tuple(shape))(rows, *arguments)


@lru_cache(maxsize=256)
def _row_function(shape):
    """The function `(rows, *arguments) -> [dict, ...]` for fields of this shape: one dict display per row,
    the keys in order, a column read as `row[column]`, a constant as it is, an expression written out,
    anything else by its function.
    Generated once per shape (the full list and each `?field=` selection in use): a dict display costs a
    fraction of a loop over (name, function) pairs, and the page's rows are most of a list's cost."""
    arguments, items = [], []
    for name, column_name, kind, expression, count in shape:
        names = [f"a{len(arguments) + n}" for n in range(count)]
        arguments.extend(names)
        if kind == "expression":
            value = expression.format(c=f"row[{column_name!r}]", **{f"a{n}": a for n, a in enumerate(names)})
        elif kind == "column":
            value = f"row[{column_name!r}]"
        elif kind == "constant":
            value = names[0]
        else:
            value = f"{names[0]}(row)"
        items.append(f"{name!r}: {value}")
    source = f"def render({', '.join(['rows', *arguments])}):\n"
    source += f"    return [{{{', '.join(items)}}} for row in rows]\n"
    namespace = {}
    exec(compile(source, f"<rows {len(shape)} fields>", "exec"), namespace)
    return namespace["render"]


def _texts(items):
    """ListField(child=CharField-like).to_representation, without a method call per item."""
    return [item if type(item) is str else None if item is None else str(item) for item in items]


def _model_field(model, attrs, where) -> models.Field:
    """The model field at the end of a dotted source, through non-nullable foreign keys only: DRF skips the
    key altogether when a nullable one is empty, where `.values()` would give None."""
    for index, attr in enumerate(attrs):
        try:
            model_field = model._meta.get_field(attr)
        except FieldDoesNotExist:
            raise ImproperlyConfigured(
                f"{where}: {attr!r} is not a model field (a property?): declare it in `computed`"
            ) from None
        if index < len(attrs) - 1:
            if not model_field.many_to_one or model_field.null:
                raise ImproperlyConfigured(f"{where} goes through {attr!r}: declare it in `computed`")
            model = model_field.related_model
    return model_field


def _column_is_the_representation(field, model_field) -> bool:
    """Whether DRF's to_representation of this column's value is the value itself: a text column for a
    CharField (`str(value)`), an integer column for an IntegerField, and so on. Only for DRF's own
    to_representation, not a subclass's."""
    if not model_field.concrete or model_field.is_relation or isinstance(model_field, models.JSONField):
        return False
    text = isinstance(model_field, models.CharField | models.TextField)
    if type(field) is serializers.ReadOnlyField:
        return True
    if _drf_representation(field, serializers.ChoiceField):
        return text and all(isinstance(key, str) for key in field.choices)
    if _drf_representation(field, serializers.CharField):
        return text
    if _drf_representation(field, serializers.BooleanField):
        return isinstance(model_field, models.BooleanField)
    if _drf_representation(field, serializers.IntegerField):
        return isinstance(model_field, models.IntegerField)
    if _drf_representation(field, serializers.FloatField):
        return isinstance(model_field, models.FloatField)
    return False


def _drf_representation(field, drf_class) -> bool:
    return isinstance(field, drf_class) and type(field).to_representation is drf_class.to_representation


def _link(field, column) -> Field:
    """The link field's URL for the row's uuid: the URL pattern resolved once per request, as the field's
    own get_url does (same reverse, same request host, same scheme), then the uuid filled in."""

    def bind(request, rows):
        template = field.reverse(field.view_name, kwargs={"uuid": URL_PLACEHOLDER}, request=request)
        start, _, end = template.partition(URL_PLACEHOLDER)
        return start, end

    return Field(
        (column,), bind, column=column, expression="(None if {c} is None else {a0} + {c}.hex + {a1})"
    )


def _datetime(field, column) -> Field:
    """DRF's DateTimeField.to_representation, with its time zone and format looked up once per request."""
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)

    def bind(request, rows):
        zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
        if output_format is None or output_format.lower() == ISO_8601:
            zone = None  # DRF's own rules, as for a naive datetime (USE_TZ off)
        return zone, output_format, field.to_representation

    expression = (
        "(None if not {c} else {a2}({c}) if {a0} is None or {c}.tzinfo is None"
        " else {c}.astimezone({a0}).strftime({a1}))"
    )
    return Field((column,), bind, column=column, expression=expression)


def _nested_many(model, field, where, prefix) -> Field:
    """A nested `many=True` serializer over a many-to-many field: one query for the whole page, through the
    relation's table, in the related model's default order (as the serializer's `.all()` sees it)."""
    source = field.source_attrs
    if len(source) != 1 or field.source == "*":
        raise ImproperlyConfigured(f"{where}: only a many-to-many field of the model itself can be nested")
    relation = _model_field(model, source, where)
    if not relation.many_to_many or not isinstance(relation, models.ManyToManyField):
        raise ImproperlyConfigured(f"{where} is not a many-to-many field of {model.__name__}")
    through = relation.remote_field.through
    owner = relation.m2m_field_name()  # the through table's foreign key to `model`
    target = relation.m2m_reverse_field_name()  # … and to the related model
    child = RowRenderer(type(field.child), prefix=f"{target}__")
    ordering = [
        f"-{target}__{key[1:]}" if key.startswith("-") else f"{target}__{key}"
        for key in relation.related_model._meta.ordering
    ]
    pk_column = prefix + "pk"

    def bind(request, rows):
        selection = child.select(None)
        related = (
            through.objects.filter(**{f"{owner}__in": [row[pk_column] for row in rows]})
            .order_by(*ordering)
            .values(f"{owner}_id", *(column for _, f in selection.fields for column in f.columns))
        )
        related = list(related)
        rendered = selection.render(related, request)
        by_owner = {}
        for row, item in zip(related, rendered, strict=True):
            by_owner.setdefault(row[f"{owner}_id"], []).append(item)
        return lambda row: by_owner.get(row[pk_column], [])

    return Field((pk_column,), bind)
