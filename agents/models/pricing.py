from django.db import models
from django.db.models import Q


class ModelPrice(models.Model):
    """USD per million tokens for a model (or a glob of models), valid from a date on.

    A model with no row here cannot be configured or run: its calls could not be metered, so
    every cost ceiling would be off for it. A model that really costs nothing (a local Ollama,
    an internal endpoint) gets a row marked `free`, whose rates are all zero.
    """

    model = models.CharField(max_length=200, help_text="exact name or glob, e.g. sim/*")
    input_usd_per_mtok = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    cached_input_usd_per_mtok = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    cache_write_usd_per_mtok = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    output_usd_per_mtok = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    free = models.BooleanField(
        default=False, help_text="the model costs nothing, on purpose (all rates zero)"
    )
    valid_from = models.DateTimeField()

    class Meta:
        ordering = ["model", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["model", "valid_from"], name="model_price_unique_from"),
            # All-zero rates are a price only when an admin says so; otherwise they are a
            # forgotten price, which would switch the cost ceilings off unnoticed.
            models.CheckConstraint(
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
            models.CheckConstraint(
                condition=Q(
                    input_usd_per_mtok__gte=0,
                    cached_input_usd_per_mtok__gte=0,
                    cache_write_usd_per_mtok__gte=0,
                    output_usd_per_mtok__gte=0,
                ),
                name="model_price_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} from {self.valid_from:%Y-%m-%d}"
