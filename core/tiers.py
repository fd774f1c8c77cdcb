from django.db import models


class RiskTier(models.TextChoices):
    """How much human oversight an action needs (DESIGN.md, "Risk tiers and approvals")."""

    LOW = "low", "Low: runs at once"
    MEDIUM = "medium", "Medium: runs after a cancellable delay"
    HIGH = "high", "High: waits for approval"
    CRITICAL = "critical", "Critical: never run by the agent"


def tier_rank(tier: str) -> int:
    """0 for low up to 3 for critical: how much oversight a tier asks for."""
    return RiskTier.values.index(tier)


def tier_max(*tiers: RiskTier) -> RiskTier:
    return max(tiers, key=tier_rank)
