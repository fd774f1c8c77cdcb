import copy
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from agents.models import ModelPrice, Tool
from agents.providers.pricing import price_table_reset
from agents.services.catalog import tool_update
from agents.tools.compensation import compensation_check
from core.errors import Invalid


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


class ToolCompensationForm(forms.ModelForm):
    class Meta:
        model = Tool
        fields = ["compensation", "compensation_arguments"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        candidate = copy.copy(self.instance)
        candidate.compensation = data.get("compensation")
        candidate.compensation_arguments = data.get("compensation_arguments") or {}
        try:
            compensation_check(candidate)
        except Invalid as exc:
            raise forms.ValidationError(exc.message) from exc
        return data


@admin.register(Tool)
class ToolAdmin(admin.ModelAdmin):
    """Only a tool's compensation is edited here (docs/undo.md); the rest has its own pages and
    services (REST, the policy's tiers, trust), which audit and version every change."""

    form = ToolCompensationForm
    list_display = ["name", "kind", "risk_tier", "compensation"]
    fields = ["name", "kind", "risk_tier", "compensation", "compensation_arguments"]
    readonly_fields = ["name", "kind", "risk_tier"]
    search_fields = ["name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Tool | None = None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        compensation = form.cleaned_data.get("compensation")
        tool_update(
            actor=request.user,
            name=obj.name,
            compensation=compensation.name if compensation else None,
            compensation_arguments=form.cleaned_data.get("compensation_arguments") or {},
        )
