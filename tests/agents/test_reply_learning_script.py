"""benchmarks/reply_learning.py: the last follower's problem it builds, its table and its arguments."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="needs the [agents] extra")

from stmg_envs.matrix.generators import generate
from tests.bench.benchmark_scripts import load_script


def test_the_problem_is_every_context_of_the_superiors_with_the_last_agents_payoffs():
    """For a 3-agent game: 9 contexts (a0, a1) in row-major order, payoffs = the last agent's payoff row there."""
    script = load_script("reply_learning")
    _, _, prior, payoffs, contexts = script.last_follower_problem("general-sum:3:1", seed=0)
    game = generate("general-sum:3:1")
    assert contexts[0] == (0, 0) and contexts[5] == (1, 2) and len(contexts) == 9
    assert payoffs[5].tolist() == pytest.approx(game.payoffs[2][1, 2].tolist())
    assert prior[5, :6].tolist() == [0, 1, 0, 0, 0, 1]  # agent_0 played 1, agent_1 played 2 (one-hot slots)


def test_a_short_run_writes_one_row_per_game_policy_and_bonus(tmp_path):
    """Both policies and both bonuses get a row with the context count; the CSV has one row per seed."""
    script = load_script("reply_learning")
    script.main(
        [
            "--games",
            "general-sum:3:1",
            "--entropies",
            "0,2",
            "--seeds",
            "1",
            "--iterations",
            "5",
            "--out",
            str(tmp_path),
        ]
    )
    table = (tmp_path / "reply_learning.md").read_text()
    for policy in ("step", "mlp"):
        for eta in ("0", "2"):
            assert f"| general-sum:3:1 | 9 | {policy} | {eta} |" in table
    assert len((tmp_path / "reply_learning.csv").read_text().splitlines()) == 1 + 4


@pytest.mark.parametrize(
    "flags, message", [(["--seeds", "0"], "--seeds, --iterations"), (["--entropies", "-1"], "--entropies >= 0")]
)
def test_bad_arguments_stop_the_script_with_the_reason(flags, message, capsys):
    """A non-positive count or a negative bonus is refused by argparse with what was expected."""
    with pytest.raises(SystemExit):
        load_script("reply_learning").parse_args(flags)
    assert message in capsys.readouterr().err
