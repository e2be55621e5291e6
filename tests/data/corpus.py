"""Seeded synthetic chat examples with planted exact and near duplicates."""

from __future__ import annotations

import random
from typing import Any

from tests.data.conftest import chat

WORDS = ("order refund parcel invoice account delivery address payment warranty return label courier "
         "tracking damaged missing late early discount coupon receipt support agent manager store online "
         "shipping customs battery screen cable charger laptop phone tablet speaker camera printer").split()


def paragraph(rng: random.Random, words: int = 60) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def near_copy(rng: random.Random, text: str, changes: int = 1) -> str:
    words = text.split()
    for _ in range(changes):
        words[rng.randrange(len(words))] = "changed"
    return " ".join(words)


def corpus(n: int, seed: int = 0, label: bool = False) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """`n` distinct examples, then for every tenth one an exact copy and a near copy appended.

    Returns the rows and {index of copy: index of original}.
    """
    rng = random.Random(seed)
    rows = [chat(user=paragraph(rng, 12), answer=paragraph(rng), **({"label": "ab"[i % 4 == 0]} if label else {}))
            for i in range(n)]
    copies: dict[int, int] = {}
    for i in range(0, n, 10):
        copies[len(rows)] = i
        rows.append(rows[i])
        near = chat(user=rows[i]["messages"][1]["content"], answer=near_copy(rng, rows[i]["messages"][2]["content"]),
                    **({"label": rows[i]["label"]} if label else {}))
        copies[len(rows)] = i
        rows.append(near)
    return rows, copies
