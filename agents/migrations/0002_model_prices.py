"""Starting prices (USD per million tokens); admins edit them in the console."""

from datetime import UTC, datetime
from decimal import Decimal

from django.db import migrations

VALID_FROM = datetime(2025, 1, 1, tzinfo=UTC)
# model: (input, cached input read, cache write, output), from the providers' price pages.
PRICES = {
    "openai/gpt-4o": ("2.50", "1.25", "2.50", "10.00"),
    "openai/gpt-4o-mini": ("0.15", "0.075", "0.15", "0.60"),
    "openai/gpt-4.1": ("2.00", "0.50", "2.00", "8.00"),
    "openai/gpt-4.1-mini": ("0.40", "0.10", "0.40", "1.60"),
    "anthropic/claude-sonnet-4*": ("3.00", "0.30", "3.75", "15.00"),
    "anthropic/claude-haiku-4*": ("1.00", "0.10", "1.25", "5.00"),
    "anthropic/claude-opus-4*": ("15.00", "1.50", "18.75", "75.00"),
    # The simulator is priced like a small hosted model so budgets and costs behave as in production.
    "sim/*": ("0.15", "0.075", "0.15", "0.60"),
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


class Migration(migrations.Migration):
    dependencies = [("agents", "0001_initial")]
    operations = [migrations.RunPython(add_prices, migrations.RunPython.noop)]
