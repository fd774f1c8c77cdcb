"""AgentVersion.status `draft` (passed its checks, not made current) and created_as_draft (a
version added by POST /agents/{name}/versions). No existing version was created as a draft."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("agents", "0018_redundant_indexes")]

    operations = [
        migrations.AddField(
            model_name="agentversion",
            name="created_as_draft",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="agentversion",
            name="status",
            field=models.CharField(
                choices=[
                    ("candidate", "Candidate"),
                    ("draft", "Draft"),
                    ("current", "Current"),
                    ("rejected", "Rejected"),
                ],
                default="current",
                max_length=10,
            ),
        ),
    ]
