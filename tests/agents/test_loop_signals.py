"""The loop rules on hand-made outputs: what counts as a repeat, and what is progress."""

import json

import numpy as np

from agents.guards.loop_signals import (
    OutputRecord,
    loop_similarities,
    output_text,
    previous_output,
    repeated_tool_call,
    result_values,
)

A = np.array([1.0, 0.0, 0.0], dtype=np.float32)
B = np.array([0.0, 1.0, 0.0], dtype=np.float32)
NEAR_A = np.array([0.96, 0.28, 0.0], dtype=np.float32)  # cosine 0.96 with A


def record(vector, values=()):
    return OutputRecord(vector=vector, result_values=frozenset(values))


def test_k_outputs_each_repeating_the_one_before_are_a_loop():
    records = [record(A), record(NEAR_A), record(A), record(NEAR_A)]
    # Each output's best match among the two before it.
    assert loop_similarities(records, threshold=0.9, window=3) == [0.96, 1.0, 1.0]
    assert loop_similarities(records[1:], threshold=0.9, window=3) is None  # only K outputs


def test_oscillating_between_two_outputs_repeats_the_one_two_back():
    records = [record(A), record(B), record(A), record(B), record(A)]
    assert loop_similarities(records, threshold=0.9, window=3) == [1.0, 1.0, 1.0]


def test_similar_outputs_that_bring_back_new_values_are_progress():
    pages = [record(A, {"page-1"}), record(A, {"page-2"}), record(A, {"page-3"}), record(A, {"page-4"})]
    assert loop_similarities(pages, threshold=0.9, window=3) is None


def test_one_dissimilar_output_in_the_window_breaks_the_loop():
    records = [record(A), record(A), record(B), record(A)]
    assert loop_similarities(records, threshold=0.9, window=3) is None


def conversation(*steps):
    """steps: (tool, arguments, result) per model call, after one user input."""
    messages = [{"role": "user", "content": "go"}]
    for n, (tool, arguments, result) in enumerate(steps):
        messages.append(
            {
                "role": "assistant",
                "content": f"step {n}",
                "tool_calls": [
                    {"id": f"c{n}", "function": {"name": tool, "arguments": json.dumps(arguments)}}
                ],
            }
        )
        messages.append(
            {"role": "tool", "tool_call_id": f"c{n}", "content": json.dumps(result, sort_keys=True)}
        )
    return messages


def test_the_same_call_and_result_n_times_whatever_the_key_order_is_a_repetition():
    messages = conversation(
        ("lookup", {"a": 1, "b": 2}, {"ok": False}),
        ("other", {}, {"ok": True}),
        ("lookup", {"b": 2, "a": 1}, {"ok": False}),
        ("lookup", {"a": 1, "b": 2}, {"ok": False}),
    )
    assert repeated_tool_call(messages, limit=3) == ("lookup", '{"a":1,"b":2}', 3)
    assert repeated_tool_call(messages, limit=4) is None


def test_a_different_result_or_an_earlier_task_does_not_count():
    polling = conversation(*[("job", {"id": 7}, {"progress": p}) for p in (10, 40, 70, 90)])
    assert repeated_tool_call(polling, limit=3) is None
    earlier_task = conversation(*[("job", {"id": 7}, {"state": "done"})] * 2)
    later = [
        *earlier_task,
        {"role": "user", "content": "again"},
        *conversation(("job", {"id": 7}, {"state": "done"}))[1:],
    ]
    assert repeated_tool_call(later, limit=3) is None


def test_the_embedded_text_is_the_content_and_the_canonical_call():
    messages = conversation(("search", {"q": "x", "n": 3}, {"hits": ["a", "b"]}))
    output = previous_output(messages)
    assert output_text(output.message) == 'step 0\ncall search {"n":3,"q":"x"}'
    assert len(result_values(output)) == 2  # "a" and "b"
