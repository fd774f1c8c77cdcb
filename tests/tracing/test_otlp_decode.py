"""An OTLP/JSON export with any value of the wrong type decodes or is refused, never raises else."""

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tracing.ingest.decode import OtlpSpan, UndecodableExport, export_decode


def attribute(key: str, value: dict) -> dict:
    return {"key": key, "value": value}


NESTED_LIST = {"arrayValue": {"values": [{}]}}
SPAN_PATH = ("resourceSpans", 0, "scopeSpans", 0, "spans", 0)
EXPORT: dict = {
    "resourceSpans": [
        {
            "resource": {"attributes": [attribute("service.name", {"stringValue": "svc"})]},
            "scopeSpans": [
                {
                    "scope": {"name": "test"},
                    "spans": [
                        {
                            "traceId": "ab" * 16,
                            "spanId": "cd" * 8,
                            "parentSpanId": "ef" * 8,
                            "name": "chat m",
                            "startTimeUnixNano": "1700000000000000000",
                            "endTimeUnixNano": "1700000001000000000",
                            "status": {"code": 2},
                            "attributes": [
                                attribute("gen_ai.usage.input_tokens", {"intValue": "5"}),
                                attribute("ratio", {"doubleValue": 1.5}),
                                attribute(
                                    "nested", {"kvlistValue": {"values": [attribute("list", NESTED_LIST)]}}
                                ),
                            ],
                            "links": [{"traceId": "ab" * 16, "spanId": "cd" * 8}],
                        }
                    ],
                }
            ],
        }
    ]
}
WRONG_VALUES = ("x", "zz", -1, 2**70, 1.5, 1e308, None, True, [], {}, [1], [None], {"a": 1})


def paths(node: Any, path: tuple = ()) -> Iterator[tuple]:
    yield path
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from paths(child, (*path, key))


def replaced(path: tuple, value: Any) -> Any:
    if not path:
        return value
    export = copy.deepcopy(EXPORT)
    parent = export
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return export


def decoded_or_refused(export: Any) -> None:
    """export_decode answers spans, or UndecodableExport (a 400): anything else is a 500."""
    try:
        spans = export_decode(json.dumps(export).encode(), content_type="application/json")
    except UndecodableExport:
        return
    assert all(isinstance(span, OtlpSpan) for span in spans)


def test_the_valid_export_decodes():
    (span,) = export_decode(json.dumps(EXPORT).encode(), content_type="application/json")
    assert (span.trace_id, span.span_id, span.error) == ("ab" * 16, "cd" * 8, True)


@pytest.mark.parametrize("path", list(paths(EXPORT)), ids=lambda path: ".".join(map(str, path)) or "body")
def test_a_wrong_value_anywhere_is_decoded_or_refused(path):
    for value in WRONG_VALUES:
        decoded_or_refused(replaced(path, value))


@pytest.mark.parametrize("depth", [10, 100, 300])
def test_deeply_nested_values_are_refused_or_cut(depth):
    value: dict = {"stringValue": "x"}
    for _ in range(depth):
        value = {"arrayValue": {"values": [value]}}
    decoded_or_refused(replaced((*SPAN_PATH, "attributes"), [attribute("deep", value)]))
