"""Spans are collected in memory during a step and written with its checkpoint.

Writing a span per model or tool call would add a database round trip to the hot path;
a step's spans are instead inserted in one statement inside the checkpoint transaction.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from tracing.ids import new_span_id
from tracing.models import Span

COST_ATTRIBUTE = "tollgate.cost_usd"
# A span's events (OpenTelemetry span events: name, attributes) are kept in its attributes
# under this key, as a list of {"name", "attributes"}; OTLP export sends them as real events.
EVENTS_ATTRIBUTE = "tollgate.span.events"
# The event a tool span carries for each detector that fired on its result (injection/inspector.py).
DETECTION_EVENT = "injection.detected"
# A tool span's `tollgate.tool.status` when people decided the call does not run (rejected,
# expired, cancelled, or a critical action a person must take): not an error of the tool.
TOOL_STATUS_ATTRIBUTE = "tollgate.tool.status"
TOOL_DECLINED = "declined"


def root_span_id(trace_id: str) -> str:
    """The task's `invoke_agent` span id, known before that span is written at the end."""
    return hashlib.sha256(f"{trace_id}:root".encode()).hexdigest()[:16]


def model_span_id(trace_id: str, step_index: int) -> str:
    """A step's model-call span id, known before it is written: the next step's span refers to it
    (tracing/prompts.py). One per step: a replayed step's first delivery wrote no spans."""
    return hashlib.sha256(f"{trace_id}:model:{step_index}".encode()).hexdigest()[:16]


@dataclass
class SpanBuffer:
    trace_pk: int
    parent_span_id: str
    spans: list[Span] = field(default_factory=list)

    def add(
        self,
        *,
        name: str,
        kind: str,
        started_at: datetime,
        ended_at: datetime,
        attributes: dict[str, Any],
        step_index: int | None = None,
        error: bool = False,
        input: Any = None,
        output: Any = None,
        span_id: str | None = None,
        parent_span_id: str | None = None,
    ) -> Span:
        span = Span(
            trace_id=self.trace_pk,
            span_id=span_id or new_span_id(),
            parent_span_id=self.parent_span_id if parent_span_id is None else parent_span_id,
            name=name,
            kind=kind,
            step_index=step_index,
            status=Span.Status.ERROR if error else Span.Status.OK,
            started_at=started_at,
            ended_at=ended_at,
            duration_ms=(ended_at - started_at).total_seconds() * 1000,
            attributes=attributes,
            input=input,
            output=output,
        )
        self.spans.append(span)
        return span

    def flush(self) -> None:
        """Insert the buffered spans in one statement with one parameter.

        bulk_create binds 14 parameters a span and compiles its SQL every time; on a step's
        handful of spans that cost more than the insert itself (bench/trace_bench.py).
        """
        if self.spans:
            sql, params = self.insert_statement()
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
            self.spans = []

    def insert_statement(self) -> tuple[str, list[Any]]:
        """The statement flush() sends, for a caller that sends it with a write of its own (in
        one WITH statement) rather than in a transaction of two; the buffer keeps its spans."""
        return _INSERT, [self.rows_json()]

    def rows_json(self) -> str:
        """The buffered spans as the one parameter of spans_insert_sql."""
        rows = [{column: getattr(span, column) for column in _COLUMNS} for span in self.spans]
        return json.dumps(rows, cls=_Encoder)


def spans_insert_new(spans: list[Span]) -> set[str]:
    """Insert the spans a trace does not have yet (by span id); returns the ids inserted.

    For spans sent from outside, where a retried export repeats spans already stored.
    """
    if not spans:
        return set()
    rows = [{column: getattr(span, column) for column in _COLUMNS} for span in spans]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT + _NEW_ONLY, [json.dumps(rows, cls=_Encoder)])
        return {row[0] for row in cursor.fetchall()}


class _Encoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        # Django's encoder cuts datetimes to milliseconds; span timestamps keep microseconds.
        if isinstance(o, datetime):
            return o.isoformat()
        return super().default(o)


_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "step_index",
    "status",
    "started_at",
    "ended_at",
    "duration_ms",
    "attributes",
    "input",
    "output",
)


def spans_insert_sql(placeholder: str = "%s") -> str:
    """The INSERT of the spans in SpanBuffer.rows_json, bound at `placeholder` (a named one,
    such as "%(spans)s", for a statement of a caller's whose parameters are named)."""
    return f"""
INSERT INTO tracing_span ({", ".join(_COLUMNS)})
SELECT {", ".join(_COLUMNS)} FROM jsonb_to_recordset({placeholder}::jsonb) AS row(
    trace_id bigint, span_id text, parent_span_id text, name text, kind text, step_index integer,
    status text, started_at timestamptz, ended_at timestamptz, duration_ms double precision,
    attributes jsonb, input jsonb, output jsonb
)
"""  # noqa: S608 - the column names are the constants above; the rows are one bound parameter


_INSERT = spans_insert_sql()
_NEW_ONLY = "ON CONFLICT (trace_id, span_id) DO NOTHING RETURNING span_id"
