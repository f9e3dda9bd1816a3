"""The shared sweep flags of the benchmark scripts (stmg_bench/sweep/cli.py)."""

from __future__ import annotations

import argparse

import pytest

from stmg_bench.sweep import add_sweep_arguments, run_sweep, sweep_kwargs


def parse(*argv: str) -> argparse.Namespace:
    return add_sweep_arguments(argparse.ArgumentParser()).parse_args(list(argv))


def test_defaults_run_locally_on_all_cores_and_resume():
    """No flags: local backend, all cores, no cluster address, resume (not fresh), run what is missing."""
    assert sweep_kwargs(parse()) == {
        "backend": "local",
        "workers": None,
        "address": None,
        "fresh": False,
        "saved_only": False,
        "saved_from": (),
    }


def test_flags_map_to_run_sweep_arguments():
    """Every flag lands in the matching run_sweep keyword argument."""
    args = parse("--backend", "ray", "--address", "auto", "--workers", "3", "--fresh")
    assert sweep_kwargs(args) == {
        "backend": "ray",
        "workers": 3,
        "address": "auto",
        "fresh": True,
        "saved_only": False,
        "saved_from": (),
    }
    assert sweep_kwargs(parse("--saved-only"))["saved_only"] is True
    assert sweep_kwargs(parse("--saved-only", "--saved-from", "run_a, run_b"))["saved_from"] == ("run_a", "run_b")


def test_sweep_kwargs_are_accepted_by_run_sweep(tmp_path):
    """The dict from sweep_kwargs can be splatted into run_sweep as it is."""
    from stmg_bench.sweep import Trial

    trial = Trial(key="a", fn="statistics:mean", kwargs={"data": [2]})
    [record] = run_sweep([trial], tmp_path, progress=False, **sweep_kwargs(parse("--workers", "1")))
    assert record["result"] == 2


@pytest.mark.parametrize("argv", [["--backend", "dask"], ["--workers", "0"], ["--workers", "two"]])
def test_bad_flags_exit_with_a_usage_error(argv, capsys):
    """Unknown backends and non-positive worker counts are refused by the parser with a message."""
    with pytest.raises(SystemExit):
        parse(*argv)
    assert "error:" in capsys.readouterr().err


def test_args_deriving_from_sweep_options_get_the_same_flags():
    """A script's ``Args(SweepOptions)`` and add_sweep_arguments offer the same flags with the same help and checks."""
    from dataclasses import dataclass

    from stmg_bench.args import build_parser, parse_dataclass
    from stmg_bench.sweep import SweepOptions

    @dataclass(frozen=True)
    class Args(SweepOptions):
        seeds: int = 3

    def options(parser: argparse.ArgumentParser) -> dict[str, tuple]:
        return {
            a.option_strings[0]: (a.help, a.default, a.choices)
            for a in parser._actions
            if a.option_strings and a.dest in SweepOptions.__dataclass_fields__
        }

    assert options(build_parser(Args)) == options(add_sweep_arguments(argparse.ArgumentParser()))
    assert len(options(build_parser(Args))) == len(SweepOptions.__dataclass_fields__)
    assert parse_dataclass(Args, ["--workers", "2", "--saved-from", "a, b"]).saved_from == ("a", "b")
    with pytest.raises(SystemExit):
        parse_dataclass(Args, ["--workers", "0"])
