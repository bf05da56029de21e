"""The bank's custodians (agents): who sends a statement, and which settlement locations it covers.

One custodian per settlement location; a custodian's statement lists the bank's open trades in
its locations (plus, as breaks, trades the bank never booked). The code is how a custodian is
named on the wire (the statement-ready message's key and the quarantine's source); the name is
how it appears in the statement rows (``ops.custodian_confirmations.custodian``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Custodian:
    code: str
    name: str
    settlement_locations: tuple[str, ...]


CUSTODIANS: tuple[Custodian, ...] = (
    Custodian("BNYMELLON", "BNY Mellon", ("DTC", "FED")),
    Custodian("HSBCSS", "HSBC Securities Svcs", ("CREST",)),
    Custodian("CLEARSTREAM", "Clearstream Banking", ("Clearstream",)),
    Custodian("EUROCLEAR", "Euroclear Bank", ("Euroclear",)),
    Custodian("CLSBANK", "CLS Bank", ("CLS",)),
)
BY_CODE = {custodian.code: custodian for custodian in CUSTODIANS}
CUSTODIAN_OF_LOCATION = {
    location: custodian.name for custodian in CUSTODIANS for location in custodian.settlement_locations
}


def custodian(code: str) -> Custodian:
    """The custodian of ``code``; KeyError names the known ones."""
    if code not in BY_CODE:
        raise KeyError(f"unknown custodian {code!r}; known: {', '.join(BY_CODE)}")
    return BY_CODE[code]
