"""Model instances from hand-written SQL, for the few hot paths where compiling an ORM query
costs several times more CPU than running it (bench/gate_cpu.py: ~2.6 ms against ~0.3 ms for
the API token's lookup).

Only reads of whole rows by an indexed key belong here; everything else stays on the ORM.
"""

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


def row_columns(model: type[Model], alias: str) -> str:
    """`alias`."column", … for every concrete field of `model`, in the order row_instance reads."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(str(field.column))}" for field in model._meta.concrete_fields)


def row_table(model: type[Model]) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def row_insert(instance: Model) -> tuple[str, list[Any]]:
    """The INSERT of a new `instance` (every concrete field, its primary key set by its default)
    as SQL and parameters, prepared as the ORM's save() prepares them."""
    fields = instance._meta.concrete_fields
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    params = [field.get_db_prep_save(field.pre_save(instance, add=True), connection) for field in fields]
    return f"INSERT INTO {row_table(type(instance))} ({columns}) VALUES ({placeholders})", params  # noqa: S608


def row_instance(model: type[M], values: Sequence[Any]) -> M:
    """The instance of `model` whose columns (as row_columns lists them) are `values`."""
    fields = model._meta.concrete_fields
    converted = [_from_db(field, value) for field, value in zip(fields, values, strict=True)]
    return model.from_db(connection.alias, [field.attname for field in fields], converted)


def _from_db(field: Any, value: Any) -> Any:
    # What the ORM's compiler applies to a column read back (JSON fields decode here).
    converter = getattr(field, "from_db_value", None)
    return converter(value, None, connection) if converter is not None and value is not None else value
