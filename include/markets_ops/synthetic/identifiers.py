"""Identifier codes with valid check digits: ISIN (ISO 6166) and LEI (ISO 17442)."""

from __future__ import annotations

import string

ALPHANUMERIC = string.digits + string.ascii_uppercase


def _letters_to_digits(code: str) -> str:
    """A=10 ... Z=35, digits unchanged: the expansion both standards use."""
    return "".join(str(ALPHANUMERIC.index(char)) for char in code)


def isin_check_digit(body: str) -> str:
    """The check digit of an 11-character ISIN body (country code + 9 alphanumerics): Luhn
    over the digit expansion, doubling from the rightmost digit."""
    if len(body) != 11 or not body[:2].isalpha() or not all(c in ALPHANUMERIC for c in body):
        raise ValueError(f"an ISIN body is 2 letters and 9 alphanumerics, got {body!r}")
    digits = _letters_to_digits(body.upper())
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            value = value - 9 if value > 9 else value
        total += value
    return str((10 - total % 10) % 10)


def is_valid_isin(code: str) -> bool:
    return len(code) == 12 and code[-1].isdigit() and isin_check_digit(code[:11]) == code[-1]


def lei_check_digits(body: str) -> str:
    """The two check digits of an 18-character LEI body: ISO 7064 MOD 97-10."""
    if len(body) != 18 or not all(c in ALPHANUMERIC for c in body):
        raise ValueError(f"a LEI body is 18 alphanumerics, got {body!r}")
    remainder = int(_letters_to_digits(body.upper() + "00")) % 97
    return f"{98 - remainder:02d}"


def is_valid_lei(code: str) -> bool:
    return (
        len(code) == 20
        and all(c in ALPHANUMERIC for c in code)
        and int(_letters_to_digits(code.upper())) % 97 == 1
    )
