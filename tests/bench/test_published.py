"""The papers' published figures (``stmg_bench.published``) are well formed and reach the reports that measure them."""

from __future__ import annotations

import numpy as np
import pytest

from stmg_bench.published import METRICS, PUBLISHED, published_for, settings_notes
from stmg_bench.registry import registered
from stmg_bench.suites.matrix import game_spec
from stmg_bench.suites.matrix_report import published_lines
from stmg_bench.suites.matrix_stats import RowStats
from stmg_bench.suites.merge_study import OUTCOMES, TASKS
from stmg_bench.suites.merge_study import published_lines as merge_published_lines


@pytest.mark.parametrize("result", PUBLISHED, ids=lambda r: f"{r.method}-{r.task}")
def test_each_figure_names_a_registered_method_a_task_and_known_metrics(result):
    """A figure no report could show (an unregistered class, a task no suite runs, an unknown metric, a share
    outside [0, 1]) would sit in the table unseen."""
    assert result.target in {entry.target for entry in registered().values()}
    assert result.task in TASKS or game_spec(result.task)
    assert set(result.figures) <= set(METRICS)
    for metric, value in result.figures.items():
        if metric in ("optimal", "main_first", "ramp_first"):
            assert 0.0 <= value <= 1.0
        if metric.startswith("probabilities_"):
            assert sum(value) == pytest.approx(1.0, abs=1e-3)
    if result.task in TASKS:
        assert set(result.figures) <= set(OUTCOMES[result.task])


def test_lookup_is_by_the_implementing_class_so_every_variant_is_compared():
    """Every STEP variant is built on one class: each gets the STEP paper's Mixing figures; other tasks get none."""
    step_target = registered()["step-explore"].target
    assert [r.method for r in published_for("mixing", step_target)] == ["STEP"]
    assert published_for("penalty:0", step_target) == []


def _row(se: float, rewards: list[float]) -> RowStats:
    return RowStats(
        n=10, se=se, se_low=se - 0.1, se_high=min(1.0, se + 0.1), ne=0.0, none=1 - se, tags={"SE": 9}, agents=["a", "b"],
        marginals=np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]), rewards=np.array(rewards), p_se=None,
        failing_seeds=[], replies=None, margin=None, dps=1.0, train_s=1.0,
    )  # fmt: skip


def test_matrix_report_puts_the_papers_figures_beside_the_run():
    """biac-ac's Escape row under the default order shows Bi-AC's Table 2 beside the run's SE share and rewards;
    another order, or an algorithm the papers did not run, adds nothing."""
    target = registered()["biac-ac"].target
    stats = {("escape", "biac-ac", "possible_agents"): _row(0.9, [27.0, 27.0])}
    lines = published_lines(stats, [("escape", "biac-ac", "possible_agents")], {"biac-ac": target})
    table = [line for line in lines if line.startswith("| escape")]
    assert any("| optimal | 90.0% | 90% [80%-100%] |" in line for line in table)
    assert any("| reward_leader | 28.5 | 27.00 |" in line for line in table)
    assert published_lines(stats, [("escape", "biac-ac", "reversed")], {"biac-ac": target}) == []
    assert published_lines(stats, [("escape", "biac-ac", "possible_agents")], {"biac-ac": "x:Y"}) == []


def test_merge_report_shows_the_outcome_shares_beside_the_paper():
    """The two-car merge's main-lane-first share is printed beside Bi-AC's Table 4; a row of records made before
    the flags existed says the metric was not measured."""
    target = registered()["biac-ac"].target
    row = {"task": "two-car", "algo": "biac-ac", "final_main_first_mean": 0.6, "final_main_first_ci95_low": 0.5,
           "final_main_first_ci95_high": 0.7}  # fmt: skip
    lines = merge_published_lines([row], {"biac-ac": target})
    assert any("72.2% | 60.0% (50.0% .. 70.0%) |" in line for line in lines)
    assert any("25.2% | not measured |" in line for line in lines)


def test_a_note_shared_by_two_sources_is_said_once():
    """Escape's and Maintain's tables share one note on how the settings differ: a report of both games says it
    once, naming both tables, instead of repeating the sentence per table."""
    target = registered()["biac-ac"].target
    results = published_for("escape", target) + published_for("maintain", target)
    notes = settings_notes(results)
    assert len(notes) == 1
    assert all(r.source in notes[0] for r in results)
    assert settings_notes(published_for("two-car", target)) == [
        f"Where the settings differ ({r.source}): {r.note}." for r in published_for("two-car", target)
    ]
