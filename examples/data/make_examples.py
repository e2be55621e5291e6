"""Regenerate the example datasets (seeded, so the files are reproducible): python examples/data/make_examples.py

A synthetic support-ticket classifier: each ticket mentions one problem whose wording decides its
label. Small enough for the tiny local model (`cairn tiny-model`) to learn in seconds on a CPU.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SYSTEM = "Classify the support ticket: billing, shipping, account or technical."
PROBLEMS = {
    "billing": ["my card was charged twice", "the invoice shows the wrong price", "I want a refund",
                "the payment failed", "cancel my subscription plan", "I was charged after I cancel"],
    "shipping": ["my package arrived late", "the order was lost", "the tracking has no update",
                 "the box arrived damaged", "the courier lost my delivery", "ship to a new address"],
    "account": ["I cannot login", "please reset my password", "my account is locked",
                "change the email on my profile", "two factor sign in is broken for me", "my username is wrong"],
    "technical": ["the app crash after the update", "the page is slow loading", "an error is on the screen",
                  "the server is broken", "the install failed", "the app is slow since the update"],
}
OPENERS = ["", "Hi, ", "Hello, ", "Please help, ", "Hi there, "]
CLOSERS = ["", " today.", " again.", " since yesterday.", " this week.", ". Please help.", ". Thanks."]


def ticket(rng: random.Random) -> tuple[str, str]:
    label = rng.choice(sorted(PROBLEMS))
    text = rng.choice(OPENERS) + rng.choice(PROBLEMS[label]) + rng.choice(CLOSERS)
    return text[0].upper() + text[1:], label


def chat(text: str, label: str) -> dict:
    return {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text},
                         {"role": "assistant", "content": label}]}


def pair(rng: random.Random, text: str, label: str) -> dict:
    wrong = rng.choice([other for other in sorted(PROBLEMS) if other != label])
    return {"prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}],
            "chosen": [{"role": "assistant", "content": label}],
            "rejected": [{"role": "assistant", "content": wrong}]}


def write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def main() -> None:
    rng = random.Random(7)
    seen: set[str] = set()
    tickets: list[tuple[str, str]] = []
    while len(tickets) < 280:
        text, label = ticket(rng)
        if text not in seen:  # no ticket appears in two splits
            seen.add(text)
            tickets.append((text, label))
    here = Path(__file__).parent
    write(here / "tickets-train.jsonl", [chat(*t) for t in tickets[:160]])
    write(here / "tickets-eval.jsonl", [chat(*t) for t in tickets[160:184]])
    write(here / "tickets-test.jsonl", [chat(*t) for t in tickets[184:216]])
    write(here / "tickets-preference.jsonl", [pair(rng, *t) for t in tickets[216:280]])


if __name__ == "__main__":
    main()
