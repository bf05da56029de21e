from __future__ import annotations

import pytest

from include.markets_ops.synthetic import identifiers

# Real codes, to check the algorithms against the standards rather than against themselves.
REAL_ISINS = ("US0378331005", "GB0002634946", "DE0007164600", "US5949181045", "XS2021462440")
REAL_LEIS = ("5493001KJTIIGC8Y1R12", "529900T8BM49AURSDO55", "7LTWFZYICNSX8D621K86")


@pytest.mark.parametrize("isin", REAL_ISINS)
def test_isin_check_digit_of_real_isins(isin: str) -> None:
    assert identifiers.isin_check_digit(isin[:11]) == isin[-1]
    assert identifiers.is_valid_isin(isin)


def test_a_wrong_isin_check_digit_is_invalid() -> None:
    assert not identifiers.is_valid_isin("US0378331006")
    assert not identifiers.is_valid_isin("US037833100")


@pytest.mark.parametrize("lei", REAL_LEIS)
def test_lei_check_digits_of_real_leis(lei: str) -> None:
    assert identifiers.lei_check_digits(lei[:18]) == lei[-2:]
    assert identifiers.is_valid_lei(lei)


def test_a_wrong_lei_is_invalid() -> None:
    assert not identifiers.is_valid_lei("5493001KJTIIGC8Y1R13")


def test_malformed_bodies_are_refused() -> None:
    with pytest.raises(ValueError, match="ISIN body"):
        identifiers.isin_check_digit("00000000000")  # 11 characters, no country code
    with pytest.raises(ValueError, match="LEI body"):
        identifiers.lei_check_digits("too-short")
