"""benchmarks/update_size.py: its measure of an update and its arguments."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("torch", reason="needs the [agents] extra")

import torch as th

from tests.bench.benchmark_scripts import load_script


def test_update_size_is_the_k3_kl_and_the_fraction_beyond_the_clip():
    """Ratios 1 and 1.5 on half the samples each: KL = mean((r-1) - log r), half of them beyond a 0.2 clip."""
    old = th.zeros(4)
    new = th.log(th.tensor([1.0, 1.0, 1.5, 1.5]))
    kl, beyond = load_script("update_size").update_size(old, new, clip_range=0.2)
    assert kl == pytest.approx(0.5 * (0.5 - math.log(1.5)))
    assert beyond == 0.5
    assert load_script("update_size").update_size(old, old, clip_range=0.2) == (0.0, 0.0)


@pytest.mark.parametrize(
    "flags, message", [(["--tasks", "Hopper"], "unknown tasks"), (["--updates", "0"], "--updates >= 1")]
)
def test_bad_arguments_stop_the_script_with_the_reason(flags, message, capsys):
    """Unknown tasks and non-positive counts are refused by argparse with what was expected."""
    with pytest.raises(SystemExit):
        load_script("update_size").parse_args(flags)
    assert message in capsys.readouterr().err
