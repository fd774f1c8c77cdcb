from django.db import migrations

# A user-day key was the end user's bare name (from the tasks API or the budget API's `user`),
# which any account could name, another account's `owner-<pk>` included. Keys are now always
# under the session's account (spend.owner_user_key); the ledger's rows move with them, so that
# today's counters, rebuilt from the ledger under the new keys, still hold today's spend.
# A row whose session is gone keeps its key (no live counter is rebuilt from it).
UNDER_OWNER = """
UPDATE guards_spendrecord AS r SET user_key = 'owner-' || s.owner_id || '/' || r.user_key
FROM agents_session AS s
WHERE s.id = r.session_id AND r.user_key <> 'owner-' || s.owner_id;
"""

BARE = """
UPDATE guards_spendrecord AS r SET user_key = substr(r.user_key, length('owner-' || s.owner_id || '/') + 1)
FROM agents_session AS s
WHERE s.id = r.session_id AND starts_with(r.user_key, 'owner-' || s.owner_id || '/');
"""


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0001_initial"),
        ("guards", "0002_alerts"),
    ]

    operations = [migrations.RunSQL(UNDER_OWNER, BARE)]
