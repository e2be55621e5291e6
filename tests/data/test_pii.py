from __future__ import annotations

import pytest

from workflow.data.pii import luhn_ok, mask, scan_text

SECRET_KEY = "sk-proj-" + "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7"


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("write to jane.doe+test@example.co.uk today", "email", "jane.doe+test@example.co.uk"),
        ("call +1 (415) 555-0132 now", "phone", "+1 (415) 555-0132"),
        ("or 020 7946 0958 in London", "phone", "020 7946 0958"),
        ("card 4111 1111 1111 1111 exp 12/27", "card", "4111 1111 1111 1111"),
        ("server at 192.168.10.254 is down", "ip", "192.168.10.254"),
        (f"my key is {SECRET_KEY}", "api_key", SECRET_KEY),
        ("aws AKIAIOSFODNN7EXAMPLE here", "api_key", "AKIAIOSFODNN7EXAMPLE"),
        ("token ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8" + " leaked", "api_key",
         "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
    ],
)
def test_each_kind_is_found_and_never_returned_whole(text: str, kind: str, value: str) -> None:
    matches = scan_text(text)
    assert [m.kind for m in matches] == [kind]
    assert value not in matches[0].masked
    assert "*" in matches[0].masked


@pytest.mark.parametrize(
    "text",
    [
        "the meeting is on 2024-05-17 at 10:30",
        "order number 1234 shipped",
        "card 4111 1111 1111 1112 fails the checksum",
        "version 1.2.3 released",
        "plain words with no identifiers at all",
    ],
)
def test_dates_short_numbers_and_bad_checksums_are_not_pii(text: str) -> None:
    assert scan_text(text) == []


def test_luhn_accepts_valid_card_numbers_only() -> None:
    assert luhn_ok("4111111111111111")
    assert luhn_ok("5500005555555559")
    assert not luhn_ok("4111111111111112")


def test_masks_keep_only_a_recognisable_fragment() -> None:
    assert mask("email", "jane.doe@example.com") == "j***@e***.com"
    assert mask("card", "4111 1111 1111 1111") == "************1111"
    assert mask("phone", "+1 415 555 0132") == "*********32"
    assert mask("ip", "10.1.2.3") == "10.*.*.*"
    assert mask("api_key", SECRET_KEY) == "sk-***"


def test_offsets_point_at_the_match_in_a_multiline_block() -> None:
    block = "first line\nsecond has a@b.io\n"
    (match,) = scan_text(block)
    assert block[match.offset:match.offset + 6] == "a@b.io"


@pytest.mark.parametrize("prefix", ["", "a", "abcdefg", "abcdefgh"])
def test_matches_are_found_whatever_the_block_alignment(prefix: str) -> None:
    (match,) = scan_text(prefix + " a@b.io")
    assert match.kind == "email" and match.offset == len(prefix) + 1


@pytest.mark.parametrize(("text", "found"), [
    ("amex 3782 822463 10005 on file", True),  # 4-6-5 grouping, issuer 37, 15 digits
    ("mastercard 5555-5555-5555-4444", True),
    ("discover 6011111111111117", True),
    ("grid 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 solved", False),  # Luhn-valid, but no card is written like this
    ("answer 9111111111111111 is the product", False),  # Luhn-valid, no issuer starts with 9
    ("pairs 41 11 11 11 11 11 11 11 of the puzzle", False),
])
def test_a_card_needs_an_issuer_prefix_and_the_way_cards_are_written(text: str, found: bool) -> None:
    assert ("card" in [m.kind for m in scan_text(text)]) is found
