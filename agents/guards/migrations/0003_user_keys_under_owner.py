from django.db import migrations

# A user-day key was the end user's bare name (from the tasks API or the budget API's `user`),
# which any account could name, another account's `owner-<pk>` included. Keys are now always
# under the session's account (spend.owner_user_key); the ledger's rows move with them, so that
# today's counters, rebuilt from the ledger under the new keys, still hold today's spend.
# A row whose session is gone keeps its key (no live counter is rebuilt from it).
# Only the rows a counter can still be rebuilt from move: a counter spans one UTC day, and its
# keys live at most two days. Older rows keep their old keys: the ledger is written by every
# step, and one UPDATE over a year of it would lock and rewrite every row while it ran.
RECENT = "r.at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '2 days'"
UNDER_OWNER = f"""
UPDATE guards_spendrecord AS r SET user_key = 'owner-' || s.owner_id || '/' || r.user_key
FROM agents_session AS s
WHERE s.id = r.session_id AND r.user_key <> 'owner-' || s.owner_id AND {RECENT};
"""

BARE = f"""
UPDATE guards_spendrecord AS r SET user_key = substr(r.user_key, length('owner-' || s.owner_id || '/') + 1)
FROM agents_session AS s
WHERE s.id = r.session_id AND starts_with(r.user_key, 'owner-' || s.owner_id || '/') AND {RECENT};
"""


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0001_initial"),
        ("guards", "0002_alerts"),
    ]

    operations = [migrations.RunSQL(UNDER_OWNER, BARE)]
