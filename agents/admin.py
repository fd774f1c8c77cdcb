from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

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

    # After each change this process's next lookup reads the table again; workers within
    # seconds (PRICE_CACHE_TTL_S).
    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        price_table_reset()

    def delete_model(self, request: HttpRequest, obj: ModelPrice) -> None:
        super().delete_model(request, obj)
        price_table_reset()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ModelPrice]) -> None:
        # The changelist's "delete selected" action.
        super().delete_queryset(request, queryset)
        price_table_reset()
