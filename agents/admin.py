from django.contrib import admin

from agents.models import ModelPrice
from agents.providers.pricing import price_table_reset


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = [
        "model",
        "input_usd_per_mtok",
        "cached_input_usd_per_mtok",
        "cache_write_usd_per_mtok",
        "output_usd_per_mtok",
        "free",
        "valid_from",
    ]
    list_filter = ["free"]
    search_fields = ["model"]

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        price_table_reset()  # this process's next lookup sees the edit; workers within seconds
