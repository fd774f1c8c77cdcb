"""The risk policy: tools' default tiers refined by rules with CEL conditions."""
