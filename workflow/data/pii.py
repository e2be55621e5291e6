"""PII scan: emails, phone numbers, card numbers (Luhn-checked, an issuer's prefix and length, written
as cards are), IP addresses and API-key-like strings.

The scan runs over raw blocks of a JSONL file rather than line by line: one table lookup and one
`flatnonzero` in numpy find the few bytes a match must contain (a digit, `@`, `-`, `_`, `K`, `z`),
and regexes run only in small windows around them. Matched values are never returned whole:
`mask` keeps a few characters so a reviewer can recognise the kind of value, not the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("email", "phone", "card", "ip", "api_key")

# Besides the digits, the bytes a match must contain: "@" (email) and the key anchors below.
_MARKS = b"@-_Kz"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_IP = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])")
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){11,18}(?!\d)")
_PHONE = re.compile(r"(?<!\d)(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,4}(?!\d)")
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
_KEY = re.compile(
    r"sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|github_pat_[A-Za-z0-9_]{40,}|hf_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}"
    r"|-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"
)
# Byte sequences that must sit just before an anchor byte for a key to start there.
_KEY_ANCHORS: dict[int, tuple[tuple[bytes, bytes], ...]] = {
    ord("-"): ((b"sk", b""), (b"xoxb", b""), (b"xoxp", b""), (b"xoxa", b""), (b"xoxr", b""), (b"xoxs", b""),
               (b"", b"----BEGIN")),
    ord("_"): ((b"ghp", b""), (b"gho", b""), (b"ghu", b""), (b"ghs", b""), (b"ghr", b""), (b"github", b"pat_"),
               (b"hf", b"")),
    ord("K"): ((b"A", b"IA"),),
    ord("z"): ((b"AI", b""),),
}


@dataclass(frozen=True)
class Match:
    """One finding: byte offset in the scanned block, kind, and the value already masked."""

    offset: int
    kind: str
    masked: str


# Issuer (IIN) prefix ranges and the lengths each network issues: a Luhn-valid run outside them is
# a number of another kind (digit puzzles, ids), not a card.
_IIN: tuple[tuple[int, int, frozenset[int]], ...] = (
    (4, 4, frozenset({13, 16, 19})),  # Visa
    (51, 55, frozenset({16})), (2221, 2720, frozenset({16})),  # Mastercard
    (34, 34, frozenset({15})), (37, 37, frozenset({15})),  # American Express
    (300, 305, frozenset({14, 16, 19})), (36, 36, frozenset({14, 16, 19})), (38, 39, frozenset({16, 19})),  # Diners
    (6011, 6011, frozenset(range(16, 20))), (644, 649, frozenset(range(16, 20))), (65, 65, frozenset(range(16, 20))),
    (3528, 3589, frozenset(range(16, 20))),  # JCB
    (62, 62, frozenset(range(16, 20))),  # UnionPay
    (5018, 5018, frozenset(range(12, 20))), (5020, 5020, frozenset(range(12, 20))),
    (5038, 5038, frozenset(range(12, 20))), (6304, 6304, frozenset(range(12, 20))),
    (6759, 6759, frozenset(range(12, 20))), (6761, 6763, frozenset(range(12, 20))),  # Maestro
)
# How card numbers are written with separators: groups of four (the last may be shorter), or the
# 4-6-5 / 4-6-4 grouping of American Express and Diners.
_GROUPS = re.compile(r"\d{4}(?:([ -])\d{4}(?:\1\d{4}(?:\1\d{1,4}(?:\1\d{1,3})?)?)?)?|\d{4}([ -])\d{6}\2\d{4,5}")


def plausible_card(value: str) -> bool:
    """A Luhn-valid digit run written like a card number: an issuer's prefix and length, and either
    no separators or the usual groups."""
    digits = re.sub(r"\D", "", value)
    if not (12 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_ok(digits)):
        return False
    if not any(low <= int(digits[:len(str(low))]) <= high and len(digits) in lengths for low, high, lengths in _IIN):
        return False
    return value.isdigit() or _GROUPS.fullmatch(value) is not None


def luhn_ok(digits: str) -> bool:
    """True when a string of digits passes the Luhn checksum that card numbers carry."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def mask(kind: str, value: str) -> str:
    """A recognisable but unusable form of a matched value (never the whole value)."""
    if kind == "email":
        local, _, domain = value.partition("@")
        tld = domain.rsplit(".", 1)[-1]
        return f"{local[:1]}***@{domain[:1]}***.{tld}"
    if kind in ("phone", "card"):
        digits = re.sub(r"\D", "", value)
        keep = 4 if kind == "card" else 2
        return "*" * (len(digits) - keep) + digits[-keep:]
    if kind == "ip":
        return value.split(".", 1)[0] + ".*.*.*"
    if kind == "api_key":
        prefix = re.match(r"-----BEGIN|[A-Za-z]+[-_]|[A-Z]{4}", value)
        return (prefix.group(0) if prefix else value[:2]) + "***"
    return value[:1] + "***"  # names, places, ids found by Presidio


def _near(raw: np.ndarray, pos: np.ndarray, before: bytes, after: bytes) -> np.ndarray:
    """Mask of anchor positions with `before` just before them and `after` just after."""
    keep = (pos >= len(before)) & (pos + len(after) < raw.size)
    for i, byte in enumerate(before):
        keep[keep] &= raw[pos[keep] - len(before) + i] == byte
    for i, byte in enumerate(after):
        keep[keep] &= raw[pos[keep] + 1 + i] == byte
    return keep


def _digit_spans(dpos: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """Byte spans of digit runs (gaps of up to 3 separators) long enough to be a phone, card or IP,
    with the number of digits in each."""
    breaks = np.flatnonzero(np.diff(dpos) > 3)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [dpos.size - 1]))
    count = ends - starts + 1
    span = dpos[ends] - dpos[starts] + 1
    for i in np.flatnonzero((count >= 7) | ((count >= 4) & (span >= 7))):
        yield int(dpos[starts[i]]), int(dpos[ends[i]]) + 1, int(count[i])


def _window(block: bytes, start: int, end: int) -> str:
    return block[start:end].decode("utf-8", "replace")


# What a phone match may hold besides digits: deleting these leaves its digits.
_PHONE_MARKS = str.maketrans("", "", "+() .-")


def _classify_digits(text: str, base: int, digits: int) -> Iterator[Match]:
    """Matches in one window of `digits` digits; the regexes that cannot match are skipped (digit
    puzzles and tables make many windows)."""
    taken: list[tuple[int, int]] = []
    if "." in text:
        for match in _IP.finditer(text):
            taken.append(match.span())
            yield Match(base + match.start(), "ip", mask("ip", match.group()))
    if digits >= 12:
        for match in _CARD.finditer(text):
            if plausible_card(match.group()):
                taken.append(match.span())
                yield Match(base + match.start(), "card", mask("card", match.group()))
    for match in _PHONE.finditer(text):
        value = match.group()
        n_digits = len(value.translate(_PHONE_MARKS))
        if not 7 <= n_digits <= 15 or _DATE.fullmatch(value) or any(
            s < match.end() and match.start() < e for s, e in taken
        ):
            continue
        # Bare digit strings are ids and amounts more often than phones: want a + or separators.
        if value.isdigit() and not 10 <= n_digits <= 11:
            continue
        yield Match(base + match.start(), "phone", mask("phone", value))


def _nonzero_bytes(flags: np.ndarray) -> np.ndarray:
    """Offsets of the nonzero bytes of a uint8/bool array, found 8 bytes at a time."""
    whole = flags.size // 8
    hit = np.flatnonzero(flags[:whole * 8].view(np.uint64))
    found = []
    if hit.size:
        rows, cols = np.nonzero(flags[:whole * 8].reshape(-1, 8)[hit])
        found.append(hit[rows] * 8 + cols)
    if flags.size > whole * 8:
        found.append(np.flatnonzero(flags[whole * 8:]) + whole * 8)
    return np.concatenate(found) if found else np.empty(0, dtype=np.intp)


def candidates(block: bytes) -> np.ndarray:
    """Offsets of the bytes a match must contain (digits and `_MARKS`). numpy compares the whole
    block a few times (vectorised, several times faster than a `bytes.translate` table lookup),
    and the flags are searched 8 bytes at a time: a nonzero 64-bit word has a candidate in it,
    and only those few words are looked at byte by byte."""
    raw = np.frombuffer(block, dtype=np.uint8)
    flags = (raw - np.uint8(48)) < 10
    for mark in _MARKS:
        flags |= raw == mark
    return _nonzero_bytes(flags)


def scan_block(block: bytes) -> list[Match]:
    """Every PII match in a block of UTF-8 text, in order of offset."""
    pos = candidates(block)
    if pos.size == 0:
        return []
    kinds = np.frombuffer(block, dtype=np.uint8)[pos]
    found: list[Match] = []
    is_digit = (kinds >= 48) & (kinds <= 57)
    dpos = pos[is_digit]
    if dpos.size >= 4:
        for start, end, digits in _digit_spans(dpos):
            # Two bytes before the first digit take in a leading "+" or "("; spans are more than
            # three bytes apart, so a window never sees the tail of the previous number.
            lo = max(0, start - 2)
            found.extend(_classify_digits(_window(block, lo, end + 1), lo, digits))
    for at in pos[kinds == ord("@")]:
        lo = max(0, int(at) - 64)
        text = _window(block, lo, int(at) + 256)
        for match in _EMAIL.finditer(text):
            if match.start() <= int(at) - lo < match.end():
                found.append(Match(lo + match.start(), "email", mask("email", match.group())))
                break
    raw = np.frombuffer(block, dtype=np.uint8)
    for anchor, patterns in _KEY_ANCHORS.items():
        apos = pos[kinds == anchor]
        if apos.size == 0:
            continue
        hit = np.zeros(apos.size, dtype=bool)
        for before, after in patterns:
            hit |= _near(raw, apos, before, after)
        for p in apos[hit]:
            lo = max(0, int(p) - 8)
            for match in _KEY.finditer(_window(block, lo, int(p) + 120)):
                if match.start() <= int(p) - lo < match.end():
                    found.append(Match(lo + match.start(), "api_key", mask("api_key", match.group())))
                    break
    found.sort(key=lambda m: m.offset)
    return found


def scan_text(text: str) -> list[Match]:
    """`scan_block` for one string (offsets are in UTF-8 bytes)."""
    return scan_block(text.encode("utf-8"))


def empty_summary() -> dict[str, Any]:
    return {"counts": dict.fromkeys(KINDS, 0), "examples_with_pii": 0, "samples": []}
