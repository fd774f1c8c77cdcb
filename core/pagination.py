"""One pagination style for every list: opaque cursors over (created, id), newest first.

A page holds the rows strictly after the cursor in the list's order, and the order is total
(the id breaks ties between equal timestamps), so a row inserted while a client pages never
shifts the rows it has yet to see: nothing is seen twice, nothing that existed is skipped.
Newest first puts new rows at the top of page one, where a poller looks; `order=oldest`
walks forward and reaches rows inserted meanwhile at the end.

Cursors are signed (django.core.signing): a client can hand one back but not forge one, so a
tampered cursor is a 422, never a query on values the API did not produce.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, QueryDict
from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from core.errors import Invalid

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
Order = Literal["newest", "oldest"]
_SIGNER = signing.Signer(salt="tollgate.pagination")
M = TypeVar("M", bound=Model)


def _utc(value: datetime) -> datetime:
    # Year 1 at +14:00 is before year 1 in UTC: refused here rather than by the database.
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("out of range") from exc


Instant = Annotated[AwareDatetime, AfterValidator(_utc)]


class PageQuery(Schema):
    """The query parameters every list takes, with `created` bounds."""

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: Annotated[str, StringConstraints(max_length=300)] | None = Field(
        default=None, description="`next` of the previous page, as it was given"
    )
    order: Order = Field(default="newest", description="newest (the default) or oldest first")
    created_after: Instant | None = Field(default=None, description="only rows created at or after this")
    created_before: Instant | None = Field(default=None, description="only rows created before this")


@dataclass(frozen=True)
class Page(Generic[M]):
    items: list[M]
    cursor: str | None


def page_of(rows: QuerySet[M], query: PageQuery, *, created_field: str = "created_at") -> Page[M]:
    """One page of `rows` in (created, id) order after `query.cursor`, within the created range."""
    if query.created_after is not None:
        rows = rows.filter(**{f"{created_field}__gte": query.created_after})
    if query.created_before is not None:
        rows = rows.filter(**{f"{created_field}__lt": query.created_before})
    newest = query.order == "newest"
    if query.cursor is not None:
        created, pk = _cursor_decode(query.cursor, rows.model)
        beyond = "lt" if newest else "gt"
        rows = rows.filter(
            Q(**{f"{created_field}__{beyond}": created}) | Q(**{created_field: created, f"pk__{beyond}": pk})
        )
    sign = "-" if newest else ""
    found = list(rows.order_by(f"{sign}{created_field}", f"{sign}pk")[: query.limit + 1])
    items = found[: query.limit]
    more = len(found) > query.limit
    return Page(
        items=items, cursor=_cursor_encode(getattr(items[-1], created_field), items[-1].pk) if more else None
    )


def next_link(request: HttpRequest, cursor: str | None) -> str | None:
    """The request's own URL with `cursor` replaced: every filter of this page carries over."""
    if cursor is None:
        return None
    params: QueryDict = request.GET.copy()
    params["cursor"] = cursor
    return f"{request.path}?{params.urlencode()}"


def _cursor_encode(created: datetime, pk: Any) -> str:
    return _SIGNER.sign_object([created.isoformat(), str(pk)])


def _cursor_decode(text: str, model: type[Model]) -> tuple[datetime, Any]:
    try:
        created_text, pk_text = _SIGNER.unsign_object(text)
        return datetime.fromisoformat(created_text), model._meta.pk.to_python(pk_text)
    except (signing.BadSignature, ValidationError, ValueError, TypeError) as exc:
        raise Invalid(
            "cursor is not one this API gave out; pass `next` as it was given", field="cursor"
        ) from exc
