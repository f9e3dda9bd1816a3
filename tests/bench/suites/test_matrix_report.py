"""The matrix suite's report (stmg_bench/suites/matrix_study.py) and the refusal to rewrite a report, in every suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stmg_bench.args import parse_dataclass
from stmg_bench.cli import main as cli_main
from stmg_bench.suites import matrix_study
from stmg_bench.suites.matrix_study import wilson_interval
from stmg_bench.sweep.reporting import ReportExistsError

HERE = Path(__file__).resolve().parent
TINY = f"{HERE / 'tiny_algorithms.py'}"
GAME = "team-trap:3:0"


def tiny_run(out: Path, name: str, *extra: str, seeds: int = 1) -> list[str]:
    """`stmg-bench matrix` with CopyLeader (every agent copies the leader's a2) on a 3-agent game, in this process."""
    argv = ["matrix", "--algos", f"{TINY}:CopyLeader", "--hyperparams", 'copy-leader={"first": 1}', "--games", GAME]
    argv += ["--seeds", str(seeds), "--steps", "50", "--curve-points", "0", "--workers", "1"]
    return [*argv, "--out", str(out), "--name", name, *extra]


def test_a_three_agent_report_shows_every_agents_probabilities_and_omits_targets_that_do_not_apply(tmp_path):
    """With 3 agents the table has a probability column per agent (agent_2 was dropped before), filled for each;
    an algorithm without targets gets no empty "Targets" heading; the report says in words what its intervals can
    show, with the numbers of `wilson_interval`."""
    assert cli_main(tiny_run(tmp_path, "r3")) == 0
    text = (tmp_path / "r3.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| game | algo | order | trials | SE"))
    row = next(line for line in text.splitlines() if line.startswith(f"| {GAME} | copy-leader |"))
    columns, cells = [c.strip() for c in header.split("|")], [c.strip() for c in row.split("|")]
    assert len(cells) == len(columns)
    probabilities = {c: cells[i] for i, c in enumerate(columns) if c.startswith("P(a1")}
    assert probabilities == {f"P(a1,a2,a3) agent_{i}": "0.00 / 1.00 / 0.00" for i in range(3)}  # everyone plays a2
    assert "## Targets" not in text
    low, _ = wilson_interval(1, 1)
    expected = f"**What 1 seed can show.** With 1 trial per row a 100% SE rate has a 95% interval of [{low:.0%}-100%]"
    assert expected in text
    assert "No two rows can be told apart" in text


def test_a_target_that_applies_gets_its_heading_and_the_seeds_it_takes_to_show_it(tmp_path, monkeypatch):
    """When a target applies, the Targets section is there, and the interval paragraph says how many seeds, all at
    the SE, it takes for an interval to show that target (computed, not typed)."""
    monkeypatch.setitem(matrix_study.TARGETS, "copy-leader", ((f"{GAME.rsplit(':', 1)[0]}:", 0.95),))
    assert cli_main(tiny_run(tmp_path, "targets")) == 0
    text = (tmp_path / "targets.md").read_text()
    assert f"## Targets\n\n- copy-leader reaches the SE in >= 95% of trials on {GAME}:" in text
    needed = next(n for n in range(1, 1000) if wilson_interval(n, n)[0] >= 0.95)
    assert f"at least {needed} of them for >= 95%" in text


def test_the_replies_section_opens_with_how_to_read_it_and_leads_with_the_se_path(tmp_path):
    """ "Replies, rank by rank" opens with a plain summary (wrong replies off the SE path do not change the outcome)
    before the details, and its first count is the seeds whose replies on the SE path are right."""
    from stmg_bench.suites.replies import joint_reply_errors
    from stmg_envs.matrix.generators import generate

    assert cli_main(tiny_run(tmp_path, "replies")) == 0
    section = (tmp_path / "replies.md").read_text().split("## Replies, rank by rank\n\n")[1].split("\n## ")[0]
    assert section.startswith("**How to read this.**")
    assert "does not change the outcome" in section.split("\n\n")[0]
    header = next(line for line in section.splitlines() if line.startswith("| game |"))
    assert header.split("|")[5].strip() == "SE path right (seeds)"
    joint = np.zeros((3, 3, 3))
    joint[1, 1, 1] = 1.0  # CopyLeader with first=1: everyone plays a2
    expected = joint_reply_errors(generate(GAME).payoffs, joint)
    row = next(line for line in section.splitlines() if line.startswith(f"| {GAME} | copy-leader |"))
    assert row.split("|")[5].strip() == f"{int(expected.right_on_path)} of 1"
    assert row.split("|")[6].strip() == f"{int(not any(expected.wrong))} of 1"


def test_a_run_never_rewrites_a_report_unless_asked_and_still_resumes_its_trials(tmp_path, capsys):
    """A second run of the same name stops before any trial with a message that says how to proceed, leaving the
    report and the records as they were; --overwrite replaces the report and reuses every matching record; a run
    whose report was never written (interrupted) resumes without --overwrite."""
    assert cli_main(tiny_run(tmp_path, "again")) == 0
    report, records = tmp_path / "again.md", tmp_path / "trials" / "again"
    before = report.read_text()
    (record,) = records.glob("*.json")
    stamp = record.stat().st_mtime_ns
    report.write_text(before + "\nhand-made note\n")
    capsys.readouterr()

    assert cli_main(tiny_run(tmp_path, "again")) == 2
    err = capsys.readouterr().err
    assert f"{report} exists; pass --overwrite to replace it" in err and "or --name NEW" in err
    assert report.read_text().endswith("hand-made note\n") and record.stat().st_mtime_ns == stamp

    assert cli_main(tiny_run(tmp_path, "again", "--overwrite")) == 0
    assert "1 trials: 0 run, 1 reused" in capsys.readouterr().err
    assert "hand-made note" not in report.read_text() and record.stat().st_mtime_ns == stamp

    report.unlink()
    (tmp_path / "again.csv").unlink()  # as if the run had stopped before its report
    assert cli_main(tiny_run(tmp_path, "again", seeds=2)) == 0
    assert "2 trials: 1 run, 1 reused" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("module", "report"),
    [("stmg_bench.suites.mujoco_study", "mujoco.csv"), ("stmg_bench.suites.merge_study", "onramp.md")],
)
def test_the_control_suites_refuse_to_rewrite_a_report_before_calibrating_or_training(tmp_path, module, report):
    """The MuJoCo and merge studies stop on an existing report before their throughput calibration or any trial
    (nothing is written), and take --overwrite like the matrix suite: one implementation for every suite."""
    import importlib

    study = importlib.import_module(module)
    (tmp_path / report).write_text("an earlier report")
    with pytest.raises(ReportExistsError, match="exists; pass --overwrite to replace it"):
        study.main(["--out", str(tmp_path), "--budget", "1", "--workers", "1"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [report]
    assert parse_dataclass(study.Args, ["--overwrite"]).overwrite
    assert parse_dataclass(matrix_study.Args, ["--overwrite"]).overwrite
