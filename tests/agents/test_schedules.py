"""stmg_agents.schedules: the one check and read-out of an entropy bonus that every built-in algorithm uses."""

from __future__ import annotations

import math

import pytest

from stmg_agents.schedules import check_ent_coef, ent_coef_at


def test_the_three_forms_are_normalised_and_read_at_the_progress_remaining():
    """A number becomes a float, a [start, end] list a tuple read linearly (SB3's LinearSchedule), a callable is
    called with the progress remaining; a number is the same at every point of training."""
    assert check_ent_coef(1) == 1.0 and isinstance(check_ent_coef(1), float)
    pair = check_ent_coef([0.6, 0.0])
    assert pair == (0.6, 0.0)
    assert [ent_coef_at(pair, p) for p in (1.0, 0.75, 0.0)] == pytest.approx([0.6, 0.45, 0.0])
    assert ent_coef_at(0.05, 1.0) == ent_coef_at(0.05, 0.0) == 0.05

    def schedule(progress: float) -> float:
        return 2 * progress

    assert check_ent_coef(schedule) is schedule
    assert ent_coef_at(schedule, 0.25) == 0.5


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf, "high", True, [0.6], [0.6, -1.0], [0.6, "x"], (1, 2, 3)])
def test_bad_bonuses_are_refused_naming_what_was_expected(bad):
    """Negative, non-finite, non-numeric values and pairs of the wrong length or content raise, saying what is
    expected and what was given."""
    with pytest.raises(ValueError, match=r"expected ent_coef to be a finite number >= 0, or \[start, end\]") as info:
        check_ent_coef(bad)
    assert repr(bad) in str(info.value)


def test_a_callable_is_refused_where_the_setting_must_stay_json():
    """With allow_callable=False (MAPPO's and IPPO's configurations, saved as JSON) a callable is refused and the
    message does not offer one."""
    with pytest.raises(ValueError, match="`ent_coef`") as info:
        check_ent_coef(lambda p: p, "`ent_coef`", allow_callable=False)
    assert "callable" not in str(info.value).split(";")[0]
