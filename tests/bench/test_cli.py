"""The ``stmg-bench`` command (stmg_bench/cli.py): --help everywhere, ``list``'s columns, ``check`` with hyperparameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from stmg_bench.cli import main
from stmg_bench.registry import registered

TINY = Path(__file__).parent / "suites" / "tiny_algorithms.py"


@pytest.mark.parametrize("command", ["list", "check", "matrix", "mujoco", "merge"])
def test_every_command_answers_help_with_its_usage(command, capsys):
    """``stmg-bench COMMAND --help`` prints that command's usage and exits 0 (``check --help`` used to be read as
    an algorithm named '--help')."""
    assert main([command, "--help"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith(f"usage: stmg-bench {command}") and "unknown algorithm" not in out.err


def test_list_aligns_its_columns_on_the_longest_name(capsys):
    """Every row's form and class start at the same column, however long the longest registered name."""
    assert main(["list"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert [row.split()[0] for row in rows] == sorted(registered())
    longest = max(map(len, registered()))
    assert any(len(row.split()[0]) == longest for row in rows)
    assert len({row.index(row.split()[1], longest) for row in rows}) == 1
    assert len({row.index(row.split()[2], longest) for row in rows}) == 1


def test_check_takes_hyperparams_as_a_json_object_or_name_json(capsys):
    """``check SPEC --hyperparams`` takes a JSON object or the suites' NAME=JSON, says what it was checked with,
    and refuses a hyperparameter the class does not take or a malformed value (exit 2, one line)."""
    spec = f"{TINY}:Fixed"
    assert main(["check", spec, "--hyperparams", '{"action": 1}', "--hyperparams", 'fixed={"fail_seed": 3}']) == 0
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith("ok (simultaneous form, " + spec + ') with {"action": 1, "fail_seed": 3}')
    )
    assert main(["check", spec, "--hyperparams", '{"lr": 0.1}']) == 2
    assert "does not take the hyperparameter(s) ['lr']; it takes ['action', 'fail_seed']" in capsys.readouterr().err
    assert main(["check", spec, "--hyperparams", "lr"]) == 2
    assert "expected NAME=JSON" in capsys.readouterr().err
    assert main(["check", spec, "--hyperparams", 'other={"action": 1}']) == 2
    assert "--hyperparams names ['other'], which match no algorithm" in capsys.readouterr().err


def test_check_refuses_a_learn_without_callback(tmp_path, capsys):
    """A class whose learn takes no `callback` fails ``check`` (the sweep would fail in every trial)."""
    module = tmp_path / "no_callback.py"
    module.write_text(
        "class NoCallback:\n"
        "    form = 'simultaneous'\n"
        "    def __init__(self, make_env, seed):\n"
        "        pass\n"
        "    def learn(self, total_timesteps):\n"
        "        return self\n"
        "    def act(self, agent, observation):\n"
        "        return 0\n"
    )
    assert main(["check", f"{module}:NoCallback"]) == 2
    assert "cannot be called as learn(total_timesteps, callback=callback)" in capsys.readouterr().err
