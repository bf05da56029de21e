"""Reference data of a synthetic world, derived from the seed alone.

Currencies, ~200 counterparties (each with a hidden fail propensity), ~2000 instruments across
the markets of ``calendars.MARKETS`` with ISIN-like ids, and the standing settlement
instructions (SSIs) of each counterparty per settlement location and currency. Arrays are
numpy, indexed by position, so the daily generator samples trades without Python loops.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa

from include.markets_ops import calendars
from include.markets_ops.synthetic import tables
from include.markets_ops.synthetic.config import GeneratorConfig
from include.markets_ops.synthetic.identifiers import ALPHANUMERIC, isin_check_digit, lei_check_digits
from include.markets_ops.synthetic.random_streams import rng_for

# code, name, minor units, indicative USD value of one unit (sizing trades in USD)
CURRENCIES: tuple[tuple[str, str, int, float], ...] = (
    ("USD", "US Dollar", 2, 1.0),
    ("EUR", "Euro", 2, 1.08),
    ("GBP", "Pound Sterling", 2, 1.27),
    ("JPY", "Yen", 0, 0.0067),
    ("CHF", "Swiss Franc", 2, 1.12),
    ("CAD", "Canadian Dollar", 2, 0.73),
    ("AUD", "Australian Dollar", 2, 0.66),
)
CURRENCY_CODES = tuple(code for code, *_ in CURRENCIES)
USD_RATES = np.array([rate for *_, rate in CURRENCIES])

# Spot FX pairs (base, quote, indicative rate): the instrument's currency is the quote currency.
FX_PAIRS: tuple[tuple[str, str, float], ...] = (
    ("EUR", "USD", 1.08),
    ("GBP", "USD", 1.27),
    ("USD", "JPY", 150.0),
    ("USD", "CHF", 0.89),
    ("AUD", "USD", 0.66),
    ("USD", "CAD", 1.37),
    ("EUR", "GBP", 0.85),
    ("EUR", "JPY", 162.0),
    ("EUR", "CHF", 0.96),
    ("GBP", "JPY", 190.5),
    ("AUD", "JPY", 99.0),
    ("CHF", "JPY", 168.5),
)

MARKET_CODES = tuple(calendars.MARKETS)
ASSET_CLASS_OF_MARKET = {
    "XNYS": "equity",
    "USGOV": "government_bond",
    "XLON": "equity",
    "XETR": "equity",
    "XPAR": "equity",
    "XICSD": "corporate_bond",
    "FXSPOT": "fx",
}
ASSET_CLASSES = ("equity", "government_bond", "corporate_bond", "fx")
# ISIN country prefix per market: XS for Eurobonds at the ICSDs, EZ (ANNA's prefix for OTC
# derivatives) for the FX instruments.
ISIN_PREFIX = {"XNYS": "US", "USGOV": "US", "XLON": "GB", "XETR": "DE", "XPAR": "FR", "XICSD": "XS"}
ISIN_PREFIX["FXSPOT"] = "EZ"
# Share of the instrument universe per market (FX gets one instrument per pair).
INSTRUMENT_SHARE = {"XNYS": 0.30, "USGOV": 0.14, "XLON": 0.11, "XETR": 0.10, "XPAR": 0.10, "XICSD": 0.25}
# Liquidity tier probabilities (1 = most liquid) per asset class.
TIER_PROBABILITIES = {
    "equity": (0.30, 0.45, 0.25),
    "government_bond": (0.60, 0.35, 0.05),
    "corporate_bond": (0.10, 0.40, 0.50),
    "fx": (0.75, 0.25, 0.0),
}
DESK_OF_MARKET = {
    "XNYS": "US Cash Equities",
    "USGOV": "US Rates",
    "XLON": "EMEA Cash Equities",
    "XETR": "EMEA Cash Equities",
    "XPAR": "EMEA Cash Equities",
    "XICSD": "Credit Trading",
    "FXSPOT": "FX Spot",
}
BOOK_PREFIX = {
    "XNYS": "USEQ",
    "USGOV": "USRT",
    "XLON": "EMEQ",
    "XETR": "EMEQ",
    "XPAR": "EMEQ",
    "XICSD": "CRDT",
    "FXSPOT": "FXSP",
}

COUNTRY_WEIGHTS = {"US": 35, "GB": 20, "DE": 10, "FR": 10, "CH": 5, "JP": 5, "NL": 5, "LU": 5, "IE": 5}
SECTOR_WEIGHTS = {
    "bank": 30,
    "broker_dealer": 20,
    "asset_manager": 25,
    "hedge_fund": 10,
    "insurer": 5,
    "pension_fund": 5,
    "corporate": 5,
}
LEGAL_FORM = {
    "US": "LLC",
    "GB": "plc",
    "DE": "AG",
    "FR": "SA",
    "CH": "AG",
    "JP": "KK",
    "NL": "NV",
    "LU": "SA",
    "IE": "DAC",
}
LOU_PREFIXES = ("5493", "2138", "5299", "7245", "9695", "3157", "2549", "8945")
AGENT_BICS = (
    "CHASUS33XXX",
    "IRVTUS3NXXX",
    "SBOSUS33XXX",
    "BARCGB22XXX",
    "CITIGB2LXXX",
    "DEUTDEFFXXX",
    "BNPAFRPPXXX",
    "UBSWCHZHXXX",
)
SSI_VALID_FROM = dt.date(2020, 1, 2)
SSI_COVERAGE = 0.97  # probability a counterparty has an SSI for a settlement location

_NAME_STEMS = (
    "Atlas", "Beacon", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris", "Juniper",
    "Kestrel", "Linden", "Meridian", "Northgate", "Orion", "Pinnacle", "Quarry", "Redwood", "Summit",
    "Tidewater", "Union", "Vantage", "Westbrook", "Yarrow", "Zenith", "Aurora", "Bristol", "Crescent",
)  # fmt: skip
_NAME_KINDS = {
    "bank": "Bank",
    "broker_dealer": "Securities",
    "asset_manager": "Asset Management",
    "hedge_fund": "Capital Partners",
    "insurer": "Assurance",
    "pension_fund": "Pension Trust",
    "corporate": "Industries",
}


@dataclass(frozen=True)
class ReferenceData:
    """One world's reference data, as parallel numpy arrays (index = position)."""

    # markets (index into MARKET_CODES)
    market_country: np.ndarray
    market_location: np.ndarray
    market_ssi_key: np.ndarray  # index into ssi_keys
    ssi_keys: tuple[tuple[str, str], ...]  # (settlement location, currency)
    # instruments
    instrument_id: np.ndarray
    instrument_description: np.ndarray
    instrument_market: np.ndarray
    instrument_asset_class: np.ndarray  # index into ASSET_CLASSES
    instrument_currency: np.ndarray  # index into CURRENCY_CODES
    instrument_tier: np.ndarray
    instrument_base_price: np.ndarray
    instrument_weight: np.ndarray  # relative trading activity within its market
    # counterparties
    counterparty_id: np.ndarray
    counterparty_name: np.ndarray
    counterparty_lei: np.ndarray
    counterparty_country: np.ndarray
    counterparty_sector: np.ndarray
    counterparty_propensity: np.ndarray  # hidden: additive log-odds of failing (ground truth)
    counterparty_weight: np.ndarray
    counterparty_has_ssi: np.ndarray  # [counterparty, ssi key] -> bool
    ssi_bic: np.ndarray  # [counterparty, ssi key] -> agent BIC
    ssi_account: np.ndarray  # [counterparty, ssi key] -> safekeeping account

    @property
    def instrument_count(self) -> int:
        return len(self.instrument_id)

    @property
    def counterparty_count(self) -> int:
        return len(self.counterparty_id)


@lru_cache(maxsize=8)
def build(seed: int, counterparties: int = 200, instruments: int = 2000) -> ReferenceData:
    """The reference data of the world with this seed (cached: it is a pure function)."""
    rng = rng_for(seed, "reference")
    ssi_keys = tuple(
        dict.fromkeys(
            (m.settlement_location, m.currency) for m in (calendars.MARKETS[c] for c in MARKET_CODES)
        )
    )
    market_ssi_key = np.array(
        [
            ssi_keys.index((calendars.MARKETS[c].settlement_location, calendars.MARKETS[c].currency))
            for c in MARKET_CODES
        ]
    )
    instrument_arrays = _instruments(rng, instruments)
    counterparty_arrays = _counterparties(rng, counterparties, len(ssi_keys))
    return ReferenceData(
        market_country=np.array([calendars.MARKETS[c].country_code for c in MARKET_CODES]),
        market_location=np.array([calendars.MARKETS[c].settlement_location for c in MARKET_CODES]),
        market_ssi_key=market_ssi_key,
        ssi_keys=ssi_keys,
        **instrument_arrays,
        **counterparty_arrays,
    )


def of(config: GeneratorConfig) -> ReferenceData:
    return build(config.seed, config.counterparties, config.instruments)


def _instruments(rng: np.random.Generator, total: int) -> dict[str, np.ndarray]:
    fx_count = len(FX_PAIRS)
    others = total - fx_count
    counts = {code: round(share * others) for code, share in INSTRUMENT_SHARE.items()}
    counts["XNYS"] += others - sum(counts.values())  # rounding remainder
    counts["FXSPOT"] = fx_count
    market, asset, currency, tier, price, weight, ids, descriptions = [], [], [], [], [], [], [], []
    seen: set[str] = set()
    for market_index, code in enumerate(MARKET_CODES):
        asset_class = ASSET_CLASS_OF_MARKET[code]
        n = counts[code]
        tiers = rng.choice([1, 2, 3], size=n, p=TIER_PROBABILITIES[asset_class])
        market += [market_index] * n
        asset += [ASSET_CLASSES.index(asset_class)] * n
        tier += list(tiers)
        # Activity: liquid instruments trade far more often.
        weight += list(np.array([5.0, 2.0, 0.7])[tiers - 1] * rng.lognormal(0.0, 0.6, size=n))
        for i in range(n):
            ids.append(_unique_isin(rng, ISIN_PREFIX[code], seen, treasury=code == "USGOV"))
            text, ccy, base = _describe(rng, code, asset_class, i)
            descriptions.append(text)
            currency.append(CURRENCY_CODES.index(ccy))
            price.append(base)
    return {
        "instrument_id": np.array(ids),
        "instrument_description": np.array(descriptions),
        "instrument_market": np.array(market),
        "instrument_asset_class": np.array(asset),
        "instrument_currency": np.array(currency),
        "instrument_tier": np.array(tier),
        "instrument_base_price": np.array(price),
        "instrument_weight": np.array(weight),
    }


def _unique_isin(rng: np.random.Generator, prefix: str, seen: set[str], treasury: bool) -> str:
    while True:
        chars = rng.choice(list(ALPHANUMERIC[:10] * 3 + ALPHANUMERIC[10:]), size=9)
        body = prefix + ("912" + "".join(chars[:6]) if treasury else "".join(chars))
        code = body + isin_check_digit(body)
        if code not in seen:
            seen.add(code)
            return code


def _describe(rng: np.random.Generator, market: str, asset_class: str, i: int) -> tuple[str, str, float]:
    """Description, currency code and base price of one instrument."""
    currency = calendars.MARKETS[market].currency
    stem = _NAME_STEMS[int(rng.integers(len(_NAME_STEMS)))]
    if asset_class == "fx":
        base, quote, rate = FX_PAIRS[i]
        return f"{base}/{quote} SPOT", quote, rate
    if asset_class == "equity":
        price = float(np.clip(rng.lognormal(np.log(60.0), 0.8), 2.0, 2000.0))
        return f"{stem} {_NAME_KINDS['corporate']} {i:03d} ORD", currency, price
    coupon = round(float(rng.uniform(0.5, 6.0)) * 8) / 8
    maturity = 2027 + int(rng.integers(0, 30))
    price = float(100.0 + rng.normal(0.0, 6.0 if asset_class == "government_bond" else 8.0))
    issuer = "UST" if asset_class == "government_bond" else f"{stem} Fin {i:03d}"
    return f"{issuer} {coupon:.3f}% {maturity}", currency, price


def _counterparties(rng: np.random.Generator, n: int, ssi_key_count: int) -> dict[str, np.ndarray]:
    countries = rng.choice(
        list(COUNTRY_WEIGHTS), size=n, p=_normalise(np.array(list(COUNTRY_WEIGHTS.values())))
    )
    sectors = rng.choice(list(SECTOR_WEIGHTS), size=n, p=_normalise(np.array(list(SECTOR_WEIGHTS.values()))))
    # A minority of counterparties fail much more often than the rest (the "usual suspects").
    troubled = rng.random(n) < 0.10
    propensity = np.where(troubled, rng.normal(1.2, 0.4, n), rng.normal(-0.1, 0.4, n))
    weight = rng.lognormal(0.0, 1.0, n)
    names, leis = [], []
    for i in range(n):
        stem = _NAME_STEMS[int(rng.integers(len(_NAME_STEMS)))]
        names.append(f"{stem} {_NAME_KINDS[str(sectors[i])]} {LEGAL_FORM[str(countries[i])]} {i + 1:03d}")
        lou = LOU_PREFIXES[int(rng.integers(len(LOU_PREFIXES)))]
        body = lou + "00" + "".join(rng.choice(list(ALPHANUMERIC), size=12))
        leis.append(body + lei_check_digits(body))
    coverage = np.where(sectors == "corporate", 0.90, SSI_COVERAGE)
    has_ssi = rng.random((n, ssi_key_count)) < coverage[:, None]
    bics = np.array(AGENT_BICS)[rng.integers(len(AGENT_BICS), size=(n, ssi_key_count))]
    accounts = rng.integers(10**9, 10**10, size=(n, ssi_key_count)).astype(str)
    return {
        "counterparty_id": np.array([f"CP{i + 1:05d}" for i in range(n)]),
        "counterparty_name": np.array(names),
        "counterparty_lei": np.array(leis),
        "counterparty_country": countries,
        "counterparty_sector": sectors,
        "counterparty_propensity": propensity,
        "counterparty_weight": weight,
        "counterparty_has_ssi": has_ssi,
        "ssi_bic": bics,
        "ssi_account": accounts,
    }


def _normalise(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()


def ops_tables(config: GeneratorConfig) -> dict[str, pa.Table]:
    """The reference files the upstream systems deliver (ops.* columns), by source name."""
    ref = of(config)
    market = ref.instrument_market
    codes = np.array(MARKET_CODES)
    cycles = np.array([calendars.MARKETS[c].settlement_cycle_days for c in MARKET_CODES])
    has_ssi = np.argwhere(ref.counterparty_has_ssi)  # (counterparty, ssi key) pairs, row-major
    ssi_cp, ssi_key = has_ssi[:, 0], has_ssi[:, 1]
    return {
        "currencies": pa.table(
            {
                "currency_code": tables.strings([c[0] for c in CURRENCIES]),
                "name": tables.strings([c[1] for c in CURRENCIES]),
                "minor_units": pa.array([c[2] for c in CURRENCIES], type=pa.int16()),
                "usd_rate": tables.decimals(np.round(USD_RATES * 10**8).astype(np.int64), 8),
            }
        ),
        "counterparties": pa.table(
            {
                "counterparty_id": tables.strings(ref.counterparty_id),
                "legal_name": tables.strings(ref.counterparty_name),
                "lei": tables.strings(ref.counterparty_lei),
                "country_code": tables.strings(ref.counterparty_country),
                "sector": tables.strings(ref.counterparty_sector),
            }
        ),
        "instruments": pa.table(
            {
                "instrument_id": tables.strings(ref.instrument_id),
                "description": tables.strings(ref.instrument_description),
                "asset_class": tables.strings(np.array(ASSET_CLASSES)[ref.instrument_asset_class]),
                "market": tables.strings(codes[market]),
                "currency": tables.strings(np.array(CURRENCY_CODES)[ref.instrument_currency]),
                "settlement_location": tables.strings(ref.market_location[market]),
                "settlement_cycle_days": pa.array(cycles[market], type=pa.int16()),
                "liquidity_tier": pa.array(ref.instrument_tier, type=pa.int16()),
            }
        ),
        "settlement_instructions": pa.table(
            {
                "ssi_id": tables.strings(
                    [f"SSI-{ref.counterparty_id[c]}-{k + 1}" for c, k in zip(ssi_cp, ssi_key, strict=True)]
                ),
                "counterparty_id": tables.strings(ref.counterparty_id[ssi_cp]),
                "settlement_location": tables.strings([ref.ssi_keys[k][0] for k in ssi_key]),
                "currency": tables.strings([ref.ssi_keys[k][1] for k in ssi_key]),
                "custodian_bic": tables.strings(ref.ssi_bic[ssi_cp, ssi_key]),
                "safekeeping_account": tables.strings(ref.ssi_account[ssi_cp, ssi_key]),
                "valid_from": tables.dates(np.full(len(ssi_cp), (SSI_VALID_FROM - dt.date(1970, 1, 1)).days)),
                "valid_to": pa.nulls(len(ssi_cp), type=pa.date32()),
            }
        ),
    }
