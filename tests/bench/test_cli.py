"""The ``stmg-bench`` command (stmg_bench/cli.py): --help everywhere, ``list``'s columns, ``check`` with hyperparameters,
``describe``'s hyperparameter table."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from stmg_agents.baselines.config import MAPPOConfig
from stmg_bench.cli import main
from stmg_bench.registry import registered

TINY = Path(__file__).parent / "suites" / "tiny_algorithms.py"


@pytest.mark.parametrize("command", ["list", "check", "describe", "matrix", "mujoco", "merge", "iterated"])
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
    explore = next(row for row in rows if row.split()[0] == "step-explore")
    assert explore.endswith('stmg_agents.step.algorithm:STEP with {"leader_explore": 0.25, "leader_start": 0.5}')
    assert next(row for row in rows if row.split()[0] == "step").endswith("stmg_agents.step.algorithm:STEP")


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


def _described(spec, capsys):
    """``stmg-bench describe SPEC``'s header lines and its table as ``{name: (default, doc)}`` (split on 2+ spaces)."""
    assert main(["describe", spec]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() == ["name", "default", "doc"])
    table = {}
    for line in lines[start + 1 :]:
        name, default, doc = [*re.split(r"\s{2,}", line.strip()), "", ""][:3]
        if not doc:  # an empty default column (a **kwargs row)
            default, doc = "", default
        table[name] = (default, doc)
    return lines[:start], table


def test_describe_lists_a_config_fields_with_default_and_doc(capsys):
    """``describe happo`` prints its class, summary and form, then HAPPOConfig's fields (through HAPPO.config_class)
    with their defaults and the one-line doc of each from the config's ``Attributes:`` section."""
    header, table = _described("happo", capsys)
    assert "class:    stmg_agents.baselines.happo:HAPPO" in header
    assert any(line.startswith("summary:  Heterogeneous-agent PPO") for line in header)
    assert "form:     simultaneous form, uses the priority order" in header
    assert table["learning_rate"] == ("0.0005", "Adam step size of every actor and of the critic.")
    assert table["hidden_sizes"][0] == "(64, 64)"
    assert table["order"][0] == "None" and table["order"][1].startswith("The update order")


def test_describe_marks_a_variants_defaults(capsys):
    """``describe step-explore`` lists STEP's constructor (the entry's class) and marks the variant's own
    defaults (leader_start 0.5, leader_explore 0.25) over STEP's, which other rows keep; the suites' shared names
    STEP takes are rows with their docs."""
    header, table = _described("step-explore", capsys)
    assert "class:    stmg_agents.step.algorithm:STEP" in header
    assert 'variant:  {"leader_explore": 0.25, "leader_start": 0.5} over the class\'s defaults' in "\n".join(header)
    assert any(line.startswith("summary:  `step-backward` whose leaders keep exploring") for line in header)
    assert table["leader_explore"][0] == "0.25 (variant's; STEP: 0.0)"
    assert table["leader_explore"][1].startswith("Exploration for the followers' sake")
    assert table["leader_start"][0] == "0.5 (variant's; STEP: 0.0)"
    assert table["beta"][0] == "1.0" and "variant's" not in table["learning_rate"][0]
    assert "env" not in table and "seed" not in table and "_init_setup_model" not in table
    assert table["n_minibatches"][0] == "None" and table["n_minibatches"][1].startswith("Instead of `batch_size`")
    assert table["hidden_sizes"][1].startswith("Hidden widths of the state embedding")


def test_describe_mappo_lists_every_field_of_its_config(capsys):
    """``describe mappo`` reads MAPPO and its ``config_class``: every MAPPOConfig field is a row with
    its default, the inherited ones documented by SharedPPOConfig and MAPPO's own by the "Attributes (besides ...)"
    section."""
    header, table = _described("mappo", capsys)
    assert any("MAPPOConfig (stmg_agents.baselines.config:MAPPOConfig)" in line for line in header)
    for field in dataclasses.fields(MAPPOConfig):
        assert table[field.name][0] == repr(field.default), field.name
        assert table[field.name][1] != "no docs", field.name
    assert table["critic_learning_rate"][1] == "Critic step size; None uses `learning_rate`."
    assert table["value_norm"][1].startswith("Normalise value targets")  # the field's doc, not MAPPO.value_norm's


def test_describe_a_user_class_lists_its_constructor(capsys):
    """A user's class with no config and no Args section: its constructor's parameters (without make_env and seed)
    with their defaults, each with "no docs"."""
    header, table = _described(f"{TINY}:Fixed", capsys)
    assert "name:     fixed" in header
    assert table == {"action": ("0", "no docs"), "fail_seed": ("None", "no docs")}


def test_describe_reads_attribute_docstrings_of_a_user_config(tmp_path, capsys):
    """A user's ``config_class`` dataclass documented by attribute docstrings (a string right after the field) gives
    those docs; a field without one says "no docs"."""
    module = tmp_path / "with_config.py"
    module.write_text(
        "import dataclasses\n"
        "@dataclasses.dataclass(frozen=True)\n"
        "class Config:\n"
        "    lr: float = 0.1\n"
        '    """Step size. Further detail."""\n'
        "    width: int = 8\n"
        "class WithConfig:\n"
        '    """One line.\n\n    More."""\n'
        "    form = 'sequential'\n"
        "    config_class = Config\n"
        "    def __init__(self, make_env, seed=0, **hyperparameters):\n"
        "        self.config = Config(**hyperparameters)\n"
        "    def learn(self, total_timesteps, callback=None):\n"
        "        return self\n"
        "    def act(self, agent, observation):\n"
        "        return 0\n"
    )
    header, table = _described(f"{module}:WithConfig", capsys)
    assert "summary:  One line." in header
    assert table == {"lr": ("0.1", "Step size."), "width": ("8", "no docs")}


def test_describe_an_unknown_name_exits_2_with_the_registry_message(capsys):
    """An unknown name ends ``describe`` with status 2 and the registry's own message (the registered names)."""
    assert main(["describe", "no-such-algo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("stmg-bench describe: unknown algorithm 'no-such-algo'; expected a registered name (")
    assert "step-explore" in err
