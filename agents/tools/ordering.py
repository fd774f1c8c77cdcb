"""A deterministic order for collections a tool returns.

A search fanned out over shards or replicas answers in whatever order they replied; the model
should see the same order each time so that identical calls give identical prompts (loop
detection and prompt caching compare them) and a replayed session reads the same.
"""

import json
import math
from typing import Any


def result_order(data: Any) -> Any:
    """`data` with its collections of results sorted.

    A top-level list is sorted, and so are the lists of records (objects) directly inside a
    top-level object, the usual `{"items": [...], "total": n}` envelope. Deeper lists, and
    lists of plain values inside an object (a coordinate pair, an embedding), are structure
    whose order means something and are left alone.
    """
    if isinstance(data, list):
        return _sorted(data)
    if isinstance(data, dict):
        return {key: _sorted(value) if _is_record_list(value) else value for key, value in data.items()}
    return data


def _is_record_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _sorted(items: list[Any]) -> list[Any]:
    if _ids_comparable(items):
        # The canonical form breaks ties between records that share an id.
        return sorted(items, key=lambda item: (item["id"], _canonical(item)))
    return sorted(items, key=_canonical)


def _ids_comparable(items: list[Any]) -> bool:
    if not items or not all(isinstance(item, dict) and "id" in item for item in items):
        return False
    ids = [item["id"] for item in items]
    # bool is an int subclass but never a real id; NaN compares false with everything, so a
    # sort would depend on the input order; numbers and strings do not compare at all.
    numeric = all(isinstance(i, int | float) and not isinstance(i, bool) and math.isfinite(i) for i in ids)
    return numeric or all(isinstance(i, str) for i in ids)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
