"""The spend roll-up the Costs page reads instead of the model spans: per UTC hour, model and
conversation, the sum of the spans' `tollgate.cost_usd` and their count.

Kept by statement-level triggers on tracing_span, so every writer (the runtime's checkpoint,
OTLP ingestion, the gate API, the ORM, raw SQL) counts in the same statement and transaction as
the spans it writes, late spans for a past hour included; a deletion or an update takes its
spans' share back out, a TRUNCATE empties it (Django's test flush). Why triggers and this grain:
- an hour, not a day: the page's ranges start and end mid-hour, so it reads the spans of at most
  the two partial hours at the ends and the roll-up between them, for the 24 h page as well;
- the conversation as written, not its agent and user: the page joins the session at read time,
  as it did over the spans, so the figures cannot drift from them (a renamed agent, a session
  made after its spans); and a row is written only by its own session's steps, where a row per
  (day, agent, user, model) would be a lock every concurrent step of one agent queues on until
  its checkpoint commits;
- race-safe: INSERT ... ON CONFLICT DO UPDATE adds to the committed row under its row lock, and
  one statement's rows are upserted in key order, so two writers never deadlock on them;
- `key` is the sha256 of [model, conversation]: both come from span attributes (up to 32,000
  characters from an OTLP exporter), too long for a btree entry, and NULL is not "".
`spend` is an unbounded numeric: the sums keep every digit and scale of the spans'. (A sum a
span was deleted or updated out of is equal in value but keeps that span's decimal places, 0.530
for 0.53; no code updates or deletes spans.)

The existing spans are counted here, in id ranges of BACKFILL_CHUNK (PostgreSQL memory bounded
by the chunk; nothing reaches Python), with a progress line a chunk. It runs in the migration's
transaction after the triggers are created: CREATE TRIGGER holds a lock that makes span writers
wait until it commits, so no span is counted twice or missed (on a year of history, 2.6M spans,
the writers wait for the whole pass).
"""

from typing import Any

from django.db import migrations

BACKFILL_CHUNK = 100_000

# The calls of `source` (a relation of tracing_span rows) summed per (hour, model, conversation)
# and added to the roll-up `sign` times. The page's read (tracing/costs.py) selects the same
# spans: model spans that carry a cost.
_UPSERT = """
INSERT INTO tracing_spendhour AS total (hour, key, model, conversation, spend, calls)
SELECT hour, sha256(convert_to(jsonb_build_array(model, conversation)::text, 'UTF8')), model, conversation,
       {sign} * coalesce(sum(cost), 0), {sign} * count(*)
FROM (
    SELECT date_trunc('hour', started_at, 'UTC') AS hour,
           attributes ->> 'gen_ai.request.model' AS model,
           attributes ->> 'gen_ai.conversation.id' AS conversation,
           (attributes ->> 'tollgate.cost_usd')::numeric AS cost
    FROM {source}
    WHERE kind = 'model' AND attributes ? 'tollgate.cost_usd'
) AS calls
GROUP BY hour, model, conversation
ORDER BY 1, 2
ON CONFLICT (hour, key) DO UPDATE SET spend = total.spend + excluded.spend, calls = total.calls + excluded.calls
"""

CREATE = f"""
CREATE TABLE tracing_spendhour (
    hour timestamptz NOT NULL,
    key bytea NOT NULL,
    model text,
    conversation text,
    spend numeric NOT NULL,
    calls bigint NOT NULL,
    PRIMARY KEY (hour, key)
);
CREATE FUNCTION tracing_spendhour_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        {_UPSERT.format(sign="-1", source="old_spans")};
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {_UPSERT.format(sign="1", source="new_spans")};
    END IF;
    RETURN NULL;
END;
$$;
CREATE FUNCTION tracing_spendhour_clear() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE tracing_spendhour;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tracing_spendhour_insert AFTER INSERT ON tracing_span
    REFERENCING NEW TABLE AS new_spans FOR EACH STATEMENT EXECUTE FUNCTION tracing_spendhour_count();
CREATE TRIGGER tracing_spendhour_update AFTER UPDATE ON tracing_span
    REFERENCING OLD TABLE AS old_spans NEW TABLE AS new_spans
    FOR EACH STATEMENT EXECUTE FUNCTION tracing_spendhour_count();
CREATE TRIGGER tracing_spendhour_delete AFTER DELETE ON tracing_span
    REFERENCING OLD TABLE AS old_spans FOR EACH STATEMENT EXECUTE FUNCTION tracing_spendhour_count();
CREATE TRIGGER tracing_spendhour_truncate AFTER TRUNCATE ON tracing_span
    FOR EACH STATEMENT EXECUTE FUNCTION tracing_spendhour_clear();
"""

DROP = """
DROP TRIGGER tracing_spendhour_truncate ON tracing_span;
DROP TRIGGER tracing_spendhour_delete ON tracing_span;
DROP TRIGGER tracing_spendhour_update ON tracing_span;
DROP TRIGGER tracing_spendhour_insert ON tracing_span;
DROP FUNCTION tracing_spendhour_clear();
DROP FUNCTION tracing_spendhour_count();
DROP TABLE tracing_spendhour;
"""

_BACKFILL = _UPSERT.format(sign="1", source="(SELECT kind, started_at, attributes FROM tracing_span WHERE id >= %s AND id < %s) AS chunk")


def backfill(apps: Any, schema_editor: Any) -> None:
    """Count the spans written before the triggers, a chunk of ids at a time."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM tracing_span")
        low, high = cursor.fetchone()
        if low is None:
            return
        for start in range(low, high + 1, BACKFILL_CHUNK):
            cursor.execute(_BACKFILL, [start, start + BACKFILL_CHUNK])
            done = min(start + BACKFILL_CHUNK - 1, high)
            share = (done - low + 1) / (high - low + 1)
            print(f"  spend roll-up: span ids {low}..{done} of {high} counted ({share:.0%})", flush=True)


class Migration(migrations.Migration):
    dependencies = [
        ("tracing", "0005_alert_alert_state_recent"),
    ]

    operations = [
        migrations.RunSQL(CREATE, DROP),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
