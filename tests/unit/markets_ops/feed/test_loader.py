"""The loader's guard on a file copied straight into its target: no value may end in a space."""

from __future__ import annotations

import pytest

from include.markets_ops.feed import loader


@pytest.mark.parametrize(
    "chunks",
    [
        [b"trade_id,side\nT1,SELL \nT2,BUY\n"],  # before the line's end
        [b"trade_id,side\nT1,SELL ,x\n"],  # before a comma
        [b'trade_id,side\nT1,"SELL "\n'],  # inside quotes
        [b"trade_id,side\nT1,SELL\r\nT2,BUY \r\n"],  # before a CR
        [b"trade_id,side\nT1,SELL ", b"\nT2,BUY\n"],  # across two chunks
        [b"trade_id,side\nT1,SELL ", b"", b",x\n"],  # across an empty chunk
        [b"trade_id,side\nT1,BUY\nT2,SELL "],  # the file's last byte
    ],
)
def test_a_value_ending_in_a_space_is_refused(chunks: list[bytes]) -> None:
    with pytest.raises(loader._NotCleanError, match="a value ends in a space"):
        list(loader._refusing_trailing_spaces(chunks))


def test_a_file_without_one_passes_unchanged_chunk_for_chunk() -> None:
    chunks = [b"trade_id,desk\nT1,US Cash ", b"Equities\n", b'T2,"Rates, EUR"\n', b""]
    assert list(loader._refusing_trailing_spaces(chunks)) == chunks
