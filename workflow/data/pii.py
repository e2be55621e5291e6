"""PII scan: emails, card numbers (Luhn-checked, an issuer's prefix and length, written
as cards are), phone numbers written as phones are, IP addresses and API-key-like strings.

The scan runs over raw blocks of a JSONL file rather than line by line: one `bytes.translate` and
one `flatnonzero` find the few bytes a match must contain (a digit, `@`, `-`, `_`, `K`, `z`).
Digits are grouped into chains (digits with at most two of ` .-()` between them: no match spans
anything else), and what each kind needs is tested on whole numpy arrays, so the chains of numeric
data (coordinates, ids, decimals, grids of numbers: most of the digits of real eval files) never
reach a regex. Bytes regexes then run in the few chains left and in small windows around the
other marks. Matched values are never returned whole: `mask` keeps a few characters so a reviewer
can recognise the kind of value, not the value.
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

# The patterns of the scan are bytes patterns run over the raw block, so offsets are byte offsets.
_EMAIL = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_IP = re.compile(rb"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])")
_CARD = re.compile(rb"(?<!\d)(?<!\d\.)\d(?:[ -]?\d){11,18}(?!\d)(?!\.\d)")
_PHONE = re.compile(rb"(?<!\d)(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}(?!\d)")
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
_KEY = re.compile(
    rb"sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|gh[pousr]_[A-Za-z0-9]{30,}"
    rb"|github_pat_[A-Za-z0-9_]{40,}|hf_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}"
    rb"|-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"
)
# Byte sequences that must sit just before and just after an anchor byte for a key to be there.
_KEY_ANCHORS: dict[int, tuple[tuple[bytes, bytes], ...]] = {
    ord("-"): ((b"sk", b""), (b"xoxb", b""), (b"xoxp", b""), (b"xoxa", b""), (b"xoxr", b""), (b"xoxs", b""),
               (b"----", b"BEGIN")),
    ord("_"): ((b"ghp", b""), (b"gho", b""), (b"ghu", b""), (b"ghs", b""), (b"ghr", b""), (b"github", b"pat_"),
               (b"hf", b"")),
    ord("K"): ((b"A", b"IA"),),
    ord("z"): ((b"AI", b""),),
}




def _leads(patterns: tuple[tuple[bytes, bytes], ...]) -> np.ndarray:
    """A table over (byte before, byte after) an anchor: whether one of its patterns allows them."""
    table = np.zeros((256, 256), dtype=bool)
    for before, after in patterns:
        table[before[-1] if before else slice(None), after[0] if after else slice(None)] = True
    return table


_KEY_LEADS = {anchor: _leads(patterns) for anchor, patterns in _KEY_ANCHORS.items()}


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
    """The anchor positions with `before` just before them and `after` just after."""
    keep = pos[(pos >= len(before)) & (pos + len(after) < raw.size)]
    for i, byte in enumerate(before):
        keep = keep[raw[keep - len(before) + i] == byte]
    for i, byte in enumerate(after):
        keep = keep[raw[keep + 1 + i] == byte]
    return keep


# Bytes that may sit between two digits of one phone, card or IP match (the regexes allow no other).
_LINKS = np.zeros(256, dtype=bool)
_LINKS[list(b" .-()")] = True
_BRACKETS = np.zeros(256, dtype=bool)
_BRACKETS[list(b"()")] = True
# Bytes that glue a number to a word ("T091.420.46", "8700K", "24mm"): such a number is no phone.
_WORD = np.zeros(256, dtype=bool)
_WORD[list(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")] = True


@dataclass(frozen=True)
class _Chain:
    """Digits linked by at most two `_LINKS` bytes: block[start:end] holds `digits` of them. No
    phone, card or IP match spans anything else, so each chain is classified alone."""

    start: int
    end: int
    digits: int
    ip: bool  # three dots: may hold an IP
    phone: bool  # may be a phone number as a whole
    card: bool  # 12 digits or more, a run of 12 to 19 or of four among them: may hold a card number


def _chains(raw: np.ndarray, dpos: np.ndarray) -> list[_Chain]:
    """The chains of the digits at `dpos` that may hold a phone, card or IP. What each kind needs
    is tested here on whole arrays, so that the many chains of numeric data (decimals, coordinates,
    ids, lists and grids of numbers) never reach a regex: an IP needs three dots, a card 12 digits,
    a phone 7 to 15 digits not glued to a word, not one decimal number, not a list of single
    digits, and (as a bare run) 10 or 11 digits or a "+" before them."""
    last_byte = raw.size - 1
    # Runs of adjacent digits, then the gaps between one run's last digit and the next run's first.
    run = np.flatnonzero(np.concatenate(([True], np.diff(dpos) > 1)))
    run_first = dpos[run]
    length = np.diff(np.append(run, dpos.size))
    run_last = run_first + length - 1
    gap = run_first[1:] - run_last[:-1]
    # Two or three bytes apart: linked when the bytes between are all `_LINKS`.
    near = np.flatnonzero(gap <= 3)
    between = raw[run_last[near] + 1]
    ok = _LINKS[between]
    three = gap[near] == 3
    second = np.zeros(near.size, dtype=np.uint8)
    second[three] = raw[run_last[near[three]] + 2]
    ok[three] &= _LINKS[second[three]]
    linked = np.zeros(gap.size, dtype=bool)
    linked[near[ok]] = True
    dot_link = np.zeros(gap.size, dtype=bool)
    dot_link[near[ok & ~three & (between == ord("."))]] = True
    paren_link = np.zeros(gap.size, dtype=bool)
    paren_link[near[ok & (_BRACKETS[between] | _BRACKETS[second])]] = True
    # Chains as ranges of runs [starts, ends].
    breaks = np.flatnonzero(~linked)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.append(breaks, run.size - 1)

    def per_chain(flags: np.ndarray, links: bool = False) -> np.ndarray:
        """The sum of `flags` over the chain's runs (or, with `links`, over the gaps between them)."""
        total = np.concatenate(([0], np.cumsum(flags)))
        return total[ends + (0 if links else 1)] - total[starts]

    count = per_chain(length)
    long_enough = np.flatnonzero(count >= 4)
    starts, ends, count = starts[long_enough], ends[long_enough], count[long_enough]
    separators = ends - starts
    # Only the first run of a phone (a country or trunk code), a code in brackets ("+44 (0)20")
    # and the first group after a country code may be a single digit.
    single = length == 1
    later_singles = per_chain(single) - single[starts]
    dots = per_chain(dot_link, links=True)
    brackets = per_chain(paren_link, links=True) > 0
    # A card is a whole run of 12 to 19 digits or starts with a group of exactly four.
    card = (count >= 12) & (per_chain(((length >= 12) & (length <= 19)) | (length == 4)) > 0)
    first, last = run_first[starts], run_last[ends]
    before = raw[np.maximum(first - 1, 0)]
    escaped = (raw[np.maximum(first - 2, 0)] == ord("\\")) & np.isin(before, list(b"nrt"))  # a JSON "\n"
    following = raw[np.minimum(last + 1, last_byte)]
    glued = ((first > 0) & _WORD[before] & ~escaped) | ((last < last_byte) & _WORD[following])
    plus = (first > 0) & (before == ord("+"))
    bare = (separators == 0) & ~plus
    ip = dots >= 3
    singles_ok = later_singles <= plus.astype(np.int64) + brackets
    shape_ok = (((dots == 0) & (separators > 0)) | ((dots >= 2) & (separators - dots <= 2)) | plus
                | (bare & (count >= 10) & (count <= 11)))
    phone = (count >= 7) & (count <= 15) & ~glued & singles_ok & shape_ok
    # The most common chain of numeric data is a bare run of digits (an id, an amount, a
    # timestamp): as a phone it needs a word such as "call" before it.
    unspoken = np.flatnonzero(phone & bare)
    phone[unspoken[~_after_phone_word(raw, first[unspoken])]] = False
    keep = np.flatnonzero(ip | phone | card)
    return [_Chain(*fields) for fields in zip(first[keep].tolist(), (last[keep] + 1).tolist(), count[keep].tolist(),
                                               ip[keep].tolist(), phone[keep].tolist(), card[keep].tolist(),
                                               strict=True)]


def _after_phone_word(raw: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Whether a phone word (`_PHONE_WORDS`) is among the `_WORD_REACH` bytes before each start:
    the contexts are laid out as rows of one bytes object, searched once for each word."""
    hit = np.zeros(starts.size, dtype=bool)
    for begin in range(0, starts.size, _ROWS):  # in slices: a file of nothing but ids has many
        offsets = starts[begin:begin + _ROWS, None] + np.arange(-_WORD_REACH, 1)
        rows = raw[np.maximum(offsets, 0)]
        rows[offsets < 0] = 0
        rows[:, -1] = ord("\n")  # the last column (the first digit) separates the rows
        for at in _phone_words(rows.tobytes().lower()):
            hit[begin + at // (_WORD_REACH + 1)] = True
    return hit


def _phone_words(text: bytes) -> Iterator[int]:
    """Where the phone words start in `text` (lower case). `bytes.find` per word: several times
    faster than one regex of them all, which Python's engine tries at every byte."""
    for word in _PHONE_WORDS:
        at = text.find(word)
        while at != -1:
            # "tel" alone, not the start of "telegram" or the end of "hotel"
            if word != b"tel" or not (text[at - 1:at].isalpha() or text[at + 3:at + 4].isalpha()):
                yield at
            at = text.find(word, at + 1)


# What a phone match may hold besides digits: deleting these leaves its digits.
_PHONE_MARKS = str.maketrans("", "", "+() .-")
# A country code and an area code in brackets, before the national groups of a phone.
_PHONE_PREFIX = re.compile(r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?|\(\d{1,4}\)[ .-]?")
_PHONE_SEPARATORS = re.compile(r"[ .()-]+")
# Words (lower case) that say a bare run of digits after them is a phone number, and how far
# before it they are looked for.
_PHONE_WORDS = tuple(word.encode() for word in (
    "phone", "tel", "telefon", "call", "mobile", "cell", "fax", "sms", "whatsapp", "contact", "reach", "dial",
    "电话", "手机", "電話"))
_WORD_REACH = 40
_ROWS = 16_384


def plausible_phone(value: str, chain_digits: int, before: bytes = b"", after: bytes = b"") -> bool:
    """A phone-shaped match written as phones are: 7 to 15 digits that are the whole run of
    numbers around them (not part of a list of numbers or coordinates); not a date or a date and
    time; groups as phone numbers have them (2 to 5 digits, the last up to 8 after a country or
    trunk code, not a range of years, not thousands such as "3 500 000" or "350.000.000", dots
    alone and at least twice); and, when it is a bare run of digits, 10 or 11 of them after a word such as "phone"
    or "call" in `before`. Glued to a word (`before` ends or `after` starts with a letter, other
    than the n of a JSON "\\n"), it is a reference or a model number."""
    digits = len(value.translate(_PHONE_MARKS))
    if not 7 <= digits <= 15 or digits != chain_digits:
        return False
    if _glued(before[-1:]) and before[-2:] not in (b"\\n", b"\\r", b"\\t") or _glued(after[:1]):
        return False
    date = _DATE.match(value)
    if date and value[date.end():date.end() + 1] in ("", " ", "T"):  # a date, or a date and a time
        return False
    prefix = _PHONE_PREFIX.match(value)
    national = value[prefix.end():] if prefix else value
    groups = [g for g in _PHONE_SEPARATORS.split(national) if g]
    if len(groups) == 1:
        return prefix is not None or (10 <= digits <= 11 and any(True for _ in _phone_words(before.lower())))
    sizes = [len(g) for g in groups]
    if sizes[0] > 5 or any(not 2 <= n <= 5 for n in sizes[1:-1]) or not 2 <= sizes[-1] <= 8:
        return False
    if sizes[-1] > 5 and not (prefix or groups[0].startswith("0")):
        return False
    if len(groups) < 5 and prefix is None and set(sizes) == {2}:  # scores, timings: "16-18-18-35"
        return False
    if sizes == [4, 4] and 1000 <= int(groups[0]) < int(groups[1]) <= 2099:
        return False  # a range of years
    if sizes[0] < 3 and set(sizes[1:]) == {3} and " " in national:  # thousands: "3 500 000"
        return False
    if "." in national and (set(national) - set("0123456789.") or national.count(".") < 2 or set(sizes[1:]) == {3}):
        return False
    return True


def _glued(byte: bytes) -> bool:
    return byte.isalpha() or byte == b"_"


def _classify(block: bytes, chain: _Chain, found: list[Match]) -> None:
    """Append the matches in one chain; the regexes that cannot match are skipped."""
    # Two bytes before the first digit take in a leading "+" or "("; a digit among them belongs to
    # another chain and cannot start a match here, since no match spans the break between two
    # chains. The lookbehinds see the real bytes before (finditer's pos does not cut the block).
    base, end = max(0, chain.start - 2), chain.end + 1
    taken: list[tuple[int, int]] = []
    if chain.ip:
        for match in _IP.finditer(block, base, end):
            taken.append(match.span())
            found.append(Match(match.start(), "ip", mask("ip", match.group().decode())))
    if chain.card:
        for match in _CARD.finditer(block, base, end):
            value = match.group().decode()
            if plausible_card(value):
                taken.append(match.span())
                found.append(Match(match.start(), "card", mask("card", value)))
    if not chain.phone:
        return
    for match in _PHONE.finditer(block, base, end):
        at, after = match.span()
        if any(s < after and at < e for s, e in taken):
            continue
        value = match.group().decode()
        if plausible_phone(value, chain.digits, block[max(0, at - _WORD_REACH):at], block[after:after + 1]):
            found.append(Match(at, "phone", mask("phone", value)))


# One byte per byte value: 1 for the digits and `_MARKS`, 0 for the rest.
_CANDIDATE_BYTES = bytes(1 if chr(i).isdigit() and i < 128 or bytes([i]) in _MARKS else 0 for i in range(256))


def candidates(block: bytes) -> np.ndarray:
    """Offsets of the bytes a match must contain (digits and `_MARKS`): one `bytes.translate`
    pass maps each byte to 0 or 1, which numpy reads as booleans (faster than comparing the
    block with each byte in numpy, and than a numpy table lookup)."""
    return np.flatnonzero(np.frombuffer(block.translate(_CANDIDATE_BYTES), dtype=bool))


def scan_block(block: bytes) -> list[Match]:
    """Every PII match in a block of UTF-8 text, in order of offset."""
    pos = candidates(block)
    if pos.size == 0:
        return []
    raw = np.frombuffer(block, dtype=np.uint8)
    kinds = raw[pos]
    found: list[Match] = []
    is_digit = (kinds - np.uint8(48)) < 10
    dpos = pos[is_digit]
    marks, mark_bytes = pos[~is_digit], kinds[~is_digit]
    if dpos.size >= 4:
        for chain in _chains(raw, dpos):
            _classify(block, chain, found)
    for at in marks[mark_bytes == ord("@")]:
        for match in _EMAIL.finditer(block, max(0, int(at) - 64), int(at) + 256):
            if match.start() <= at < match.end():
                found.append(Match(match.start(), "email", mask("email", match.group().decode())))
                break
    for anchor, patterns in _KEY_ANCHORS.items():
        apos = marks[mark_bytes == anchor]
        # One table lookup of the bytes on both sides first ("-" is common); then each pattern.
        previous, following = raw[np.maximum(apos - 1, 0)], raw[np.minimum(apos + 1, raw.size - 1)]
        apos = apos[_KEY_LEADS[anchor][previous, following]]
        if apos.size == 0:
            continue
        hits = [_near(raw, apos, before, after) for before, after in patterns]
        for p in np.unique(np.concatenate(hits)):
            for match in _KEY.finditer(block, max(0, int(p) - 8), int(p) + 120):
                if match.start() <= p < match.end():
                    found.append(Match(match.start(), "api_key", mask("api_key", match.group().decode())))
                    break
    found.sort(key=lambda m: m.offset)
    return found


def scan_text(text: str) -> list[Match]:
    """`scan_block` for one string (offsets are in UTF-8 bytes)."""
    return scan_block(text.encode("utf-8"))


def empty_summary() -> dict[str, Any]:
    return {"counts": dict.fromkeys(KINDS, 0), "examples_with_pii": 0, "samples": []}
