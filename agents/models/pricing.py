from django.db import models


class ModelPrice(models.Model):
    """USD per million tokens for a model (or a glob of models), valid from a date on."""

    model = models.CharField(max_length=200, help_text="exact name or glob, e.g. sim/*")
    input_usd_per_mtok = models.DecimalField(max_digits=12, decimal_places=6)
    cached_input_usd_per_mtok = models.DecimalField(max_digits=12, decimal_places=6)
    cache_write_usd_per_mtok = models.DecimalField(max_digits=12, decimal_places=6)
    output_usd_per_mtok = models.DecimalField(max_digits=12, decimal_places=6)
    valid_from = models.DateTimeField()

    class Meta:
        ordering = ["model", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["model", "valid_from"], name="model_price_unique_from")
        ]

    def __str__(self) -> str:
        return f"{self.model} from {self.valid_from:%Y-%m-%d}"
