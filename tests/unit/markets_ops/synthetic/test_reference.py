from __future__ import annotations

import numpy as np

from include.markets_ops import calendars
from include.markets_ops.synthetic import identifiers, reference
from include.markets_ops.synthetic.config import GeneratorConfig


def test_the_universe_has_the_configured_size_across_every_market_and_asset_class() -> None:
    ref = reference.build(7)
    assert ref.instrument_count == 2000
    assert ref.counterparty_count == 200
    assert set(np.unique(ref.instrument_market)) == set(range(len(calendars.MARKETS)))
    asset_classes = {reference.ASSET_CLASSES[i] for i in np.unique(ref.instrument_asset_class)}
    assert asset_classes == {"equity", "government_bond", "corporate_bond", "fx"}
    assert set(np.unique(ref.instrument_tier)) == {1, 2, 3}


def test_identifiers_are_unique_and_carry_valid_check_digits() -> None:
    ref = reference.build(7)
    assert len(set(ref.instrument_id)) == ref.instrument_count
    assert all(identifiers.is_valid_isin(str(code)) for code in ref.instrument_id)
    assert len(set(ref.counterparty_lei)) == ref.counterparty_count
    assert all(identifiers.is_valid_lei(str(code)) for code in ref.counterparty_lei)


def test_reference_data_is_a_function_of_the_seed() -> None:
    first, again, other = reference.build(11), reference.build.__wrapped__(11), reference.build(12)
    assert np.array_equal(first.instrument_id, again.instrument_id)
    assert np.array_equal(first.counterparty_propensity, again.counterparty_propensity)
    assert not np.array_equal(first.instrument_id, other.instrument_id)


def test_fail_propensity_has_a_troubled_minority() -> None:
    propensity = reference.build(7).counterparty_propensity
    assert 0.3 < propensity.std() < 1.0
    assert 0.03 < (propensity > 0.6).mean() < 0.25


def test_ops_tables_match_the_warehouse_columns_and_keys() -> None:
    files = reference.ops_tables(GeneratorConfig())
    assert files["currencies"].column_names == ["currency_code", "name", "minor_units", "usd_rate"]
    assert files["instruments"].num_rows == 2000
    ssis = files["settlement_instructions"].to_pandas()
    assert not ssis.duplicated(["counterparty_id", "settlement_location", "currency", "valid_from"]).any()
    assert ssis["ssi_id"].is_unique
    assert set(files["instruments"].column("currency").to_pylist()) <= set(reference.CURRENCY_CODES)
