"""Task.history_task/history_messages (a session's next task refers to the earlier conversation
instead of copying it); ModelPrice.free (an explicitly free model), and the current prices of the common OpenAI and
Anthropic models (USD per million tokens), so that a common model name is priced out of the box.

Snapshot names are covered by globs: "openai/gpt-4o-2024-08-06" matches "openai/gpt-4o-20*",
and an exact name or a longer glob wins over a shorter one (agents/providers/pricing.py).
OpenAI bills no separate cache write, so its cache-write rate is the input rate; Anthropic
bills a 5-minute cache write at 1.25 times and a cache read at 0.1 times the input rate.
"""

from datetime import UTC, datetime
from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q

VALID_FROM = datetime(2025, 1, 1, tzinfo=UTC)
# model: (input, cached input read, cache write, output), from the providers' price pages.
PRICES = {
    # OpenAI
    "openai/gpt-5": ("1.25", "0.125", "1.25", "10.00"),
    "openai/gpt-5-20*": ("1.25", "0.125", "1.25", "10.00"),
    "openai/gpt-5-mini*": ("0.25", "0.025", "0.25", "2.00"),
    "openai/gpt-5-nano*": ("0.05", "0.005", "0.05", "0.40"),
    "openai/gpt-4.1-20*": ("2.00", "0.50", "2.00", "8.00"),
    "openai/gpt-4.1-mini-20*": ("0.40", "0.10", "0.40", "1.60"),
    "openai/gpt-4.1-nano*": ("0.10", "0.025", "0.10", "0.40"),
    "openai/gpt-4o-20*": ("2.50", "1.25", "2.50", "10.00"),
    "openai/gpt-4o-mini-20*": ("0.15", "0.075", "0.15", "0.60"),
    "openai/o1": ("15.00", "7.50", "15.00", "60.00"),
    "openai/o1-20*": ("15.00", "7.50", "15.00", "60.00"),
    "openai/o3": ("2.00", "0.50", "2.00", "8.00"),
    "openai/o3-20*": ("2.00", "0.50", "2.00", "8.00"),
    "openai/o3-mini*": ("1.10", "0.55", "1.10", "4.40"),
    "openai/o4-mini*": ("1.10", "0.275", "1.10", "4.40"),
    "openai/gpt-4-turbo*": ("10.00", "10.00", "10.00", "30.00"),
    "openai/gpt-3.5-turbo*": ("0.50", "0.50", "0.50", "1.50"),
    # Anthropic (the 4.x families are already priced by 0002's globs; 4.5 Opus is cheaper)
    "anthropic/claude-opus-4-5*": ("5.00", "0.50", "6.25", "25.00"),
    "anthropic/claude-3-7-sonnet*": ("3.00", "0.30", "3.75", "15.00"),
    "anthropic/claude-3-5-sonnet*": ("3.00", "0.30", "3.75", "15.00"),
    "anthropic/claude-3-5-haiku*": ("0.80", "0.08", "1.00", "4.00"),
    "anthropic/claude-3-opus*": ("15.00", "1.50", "18.75", "75.00"),
    "anthropic/claude-3-haiku*": ("0.25", "0.03", "0.30", "1.25"),
}


def add_prices(apps, schema_editor):
    ModelPrice = apps.get_model("agents", "ModelPrice")
    for model, (inp, cached, write, out) in PRICES.items():
        ModelPrice.objects.get_or_create(
            model=model,
            valid_from=VALID_FROM,
            defaults={
                "input_usd_per_mtok": Decimal(inp),
                "cached_input_usd_per_mtok": Decimal(cached),
                "cache_write_usd_per_mtok": Decimal(write),
                "output_usd_per_mtok": Decimal(out),
            },
        )


def mark_zero_rows_free(apps, schema_editor):
    """Rows an admin left at zero were "free" before; they stay so, now explicitly."""
    ModelPrice = apps.get_model("agents", "ModelPrice")
    ModelPrice.objects.filter(input_usd_per_mtok=0, output_usd_per_mtok=0).update(
        free=True, cached_input_usd_per_mtok=0, cache_write_usd_per_mtok=0
    )


class Migration(migrations.Migration):
    dependencies = [("agents", "0012_external_work")]
    operations = [
        migrations.AddField(
            model_name="modelprice",
            name="free",
            field=models.BooleanField(
                default=False, help_text="the model costs nothing, on purpose (all rates zero)"
            ),
        ),
        migrations.RunPython(mark_zero_rows_free, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="modelprice",
            name="input_usd_per_mtok",
            field=models.DecimalField(decimal_places=6, default=0, max_digits=12),
        ),
        migrations.AlterField(
            model_name="modelprice",
            name="cached_input_usd_per_mtok",
            field=models.DecimalField(decimal_places=6, default=0, max_digits=12),
        ),
        migrations.AlterField(
            model_name="modelprice",
            name="cache_write_usd_per_mtok",
            field=models.DecimalField(decimal_places=6, default=0, max_digits=12),
        ),
        migrations.AlterField(
            model_name="modelprice",
            name="output_usd_per_mtok",
            field=models.DecimalField(decimal_places=6, default=0, max_digits=12),
        ),
        migrations.AddConstraint(
            model_name="modelprice",
            constraint=models.CheckConstraint(
                condition=(
                    Q(
                        free=True,
                        input_usd_per_mtok=0,
                        cached_input_usd_per_mtok=0,
                        cache_write_usd_per_mtok=0,
                        output_usd_per_mtok=0,
                    )
                    | Q(free=False, input_usd_per_mtok__gt=0)
                    | Q(free=False, output_usd_per_mtok__gt=0)
                ),
                name="model_price_free_or_priced",
                violation_error_message=(
                    "give the model a non-zero input or output rate, or mark it free with all rates zero"
                ),
            ),
        ),
        migrations.AddConstraint(
            model_name="modelprice",
            constraint=models.CheckConstraint(
                condition=Q(
                    input_usd_per_mtok__gte=0,
                    cached_input_usd_per_mtok__gte=0,
                    cache_write_usd_per_mtok__gte=0,
                    output_usd_per_mtok__gte=0,
                ),
                name="model_price_not_negative",
            ),
        ),
        migrations.RunPython(add_prices, migrations.RunPython.noop),
        migrations.AddField(
            model_name="task",
            name="history_task",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="+",
                to="agents.task",
            ),
        ),
        migrations.AddField(
            model_name="task",
            name="history_messages",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
