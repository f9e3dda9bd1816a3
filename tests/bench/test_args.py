"""stmg_bench.args.parse_dataclass: the command line keeps every field's default and meaning."""

from __future__ import annotations

from dataclasses import dataclass, field

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
