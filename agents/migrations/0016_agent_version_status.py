"""AgentVersion.status: candidate (waiting for the agent's required eval suites), current (made
current once), rejected. Every existing version was made current when it was created, so all
existing rows are `current`."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("agents", "0015_tool_compensation")]

    operations = [
        migrations.AddField(
            model_name="agentversion",
            name="status",
            field=models.CharField(
                choices=[("candidate", "Candidate"), ("current", "Current"), ("rejected", "Rejected")],
                default="current",
                max_length=10,
            ),
        ),
    ]
