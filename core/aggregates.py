"""SQL aggregates Django does not ship, so that percentiles are computed by PostgreSQL, not by
loading every row into Python."""

from typing import Any

from django.db.models import Aggregate, FloatField


class PercentileCont(Aggregate):
    """PostgreSQL's `percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)`: the value at
    `fraction` of the ordered values, interpolated linearly between neighbours (the same as
    `statistics.quantiles(..., method="inclusive")`). The expression is read as a float."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be from 0 to 1")
        # A float from code, never from a client: safe to place in the SQL as a literal.
        super().__init__(expression, fraction=repr(float(fraction)), **extra)
