"""stmg_bench.args.parse_dataclass: the command line keeps every field's default and meaning."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from stmg_bench.args import parse_dataclass


@dataclass(frozen=True)
class Args:
    fresh: bool = field(default=False, metadata={"help": "start over"})
    profile: bool = field(default=True, metadata={"help": "profile the runs"})
    seeds: int = field(default=3, metadata={"help": "trials"})


def test_no_flags_gives_every_default_including_a_true_switch():
    """A bool that defaults to True stays True without flags (a plain store_true switch would flip it to False)."""
    assert parse_dataclass(Args, []) == Args(fresh=False, profile=True, seeds=3)


def test_switches_turn_on_and_off():
    """--fresh turns a False default on; --no-profile turns a True default off; --profile keeps it on."""
    assert parse_dataclass(Args, ["--fresh", "--no-profile"]) == Args(fresh=True, profile=False)
    assert parse_dataclass(Args, ["--profile", "--seeds", "5"]) == Args(profile=True, seeds=5)


@dataclass(frozen=True)
class Lists:
    games: tuple[str, ...] = field(default=("a",), metadata={"help": "games"})
    etas: tuple[float, ...] = field(default=(0.0,), metadata={"help": "bonuses"})
    sizes: tuple[int, ...] = field(default=(1,), metadata={"help": "sizes"})


def test_tuple_fields_convert_their_items_and_name_a_bad_one(capsys):
    """tuple[float, ...] / tuple[int, ...] fields give numbers (not strings); a bad item is a usage error."""
    parsed = parse_dataclass(Lists, ["--games", "x,y", "--etas", "0,0.5", "--sizes", "2,3"])
    assert parsed == Lists(games=("x", "y"), etas=(0.0, 0.5), sizes=(2, 3))
    assert isinstance(parsed.etas[1], float) and isinstance(parsed.sizes[0], int)
    with pytest.raises(SystemExit):
        parse_dataclass(Lists, ["--sizes", "2,three"])
    assert "expected comma-separated int values, got '2,three'" in capsys.readouterr().err
