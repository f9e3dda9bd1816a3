"""The iterated-games suite's trials: any algorithm on Oracles & Followers' iterated 2x2 games, scored by the exact solver.

(What a trial runs lives here; the study around it, its arguments and report, in
:mod:`stmg_bench.suites.iterated_study`, so that editing a report does not change the trials' fingerprint.)

The games are ``stmg/IteratedMatrix-v0`` (:func:`stmg_envs.matrix.iterated_matrix`): a 2x2 game
repeated for a fixed number of steps, each agent observing its memory of the previous step, never the
time step. There the leader can do more than pick an action: it can *commit to a policy* (an action per
memory state) that rewards or punishes the follower later in the episode, and the follower best-responds
to that policy over the whole episode (Gerstgrasser & Parkes 2023). The matrix suite's label, the first
step's joint action, says nothing about that, so a trial here reads instead:

* the leader's **committed policy**: its greedy action in each memory state, read through the algorithm's
  form (a policy of the observation alone is a stationary memory-1 policy, whatever the algorithm);
* that policy's **value**: the leader's return when the follower best-responds to it exactly
  (:func:`stmg_envs.equilibria.iterated.follower_best_response`), against the solver's optimum
  (:func:`~stmg_envs.equilibria.iterated.iterated_stackelberg`), for both follower models: ``memory-1`` (a
  stationary reply to the memory state: what a learned follower that does not see the time step can
  represent, and O&F's regret check) and ``markov`` (a follower that also knows the time step);
* the **greedy episode** actually played through the algorithm's form: both returns and the joint actions;
* the follower's **regret**: its best-response value against the leader's committed policy minus its return
  in that episode (0: the learned follower best-responds; per follower model).

A sequential-form algorithm plays the STMG (the follower sees the leader's action of the step); a
simultaneous-form one the parallel game; a centrally executed one is asked for the joint action
(``act_joint``). The leader is ``agent_0`` (the game's row player); the solver's values assume it.

Examples:
    >>> from stmg_bench.registry import resolve
    >>> record = iterated_trial(resolve("mappo").to_json(), "bots", seed=0, steps=200)
    >>> record["algo"], len(record["leader_policy"]), sorted(record["committed_value"])
    ('mappo', 1, ['markov', 'memory-1'])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from stmg_bench.contract import (
    algorithm_execution,
    check_instance,
    checked_action,
)
from stmg_bench.registry import ResolvedAlgorithm
from stmg_envs.equilibria.iterated import FollowerModel

__all__ = ["TASK_ID", "GAMES", "FOLLOWER_MODELS", "make_env_factory", "Readout", "read_policies", "iterated_trial"]

#: The registered task every trial of the suite plays.
TASK_ID = "stmg/IteratedMatrix-v0"
#: The suite's default games (names of :data:`stmg_envs.equilibria.iterated.ITERATED_GAMES`): O&F's iterated
#: prisoner's dilemma, its single-memory variant and Battle of the Sexes, and two games whose leader's optimum
#: is a commitment to mutual cooperation (stag hunt, chicken).
GAMES = ("ipd", "smipd", "bots", "stag_hunt", "chicken")
#: The follower models a committed policy is scored against (:mod:`stmg_envs.equilibria.iterated`).
FOLLOWER_MODELS: tuple[FollowerModel, ...] = ("memory-1", "markov")
#: The leader and the follower of every game (the row player leads).
LEADER, FOLLOWER = "agent_0", "agent_1"


def make_env_factory(form: str, game: str) -> Callable[[], Any]:
    """A factory of the game in the algorithm's form: the parallel game, or its STMG with ``agent_0`` leading."""
    import pettingzoo

    import stmg_envs  # noqa: F401  (registers the tasks)

    kind = "parallel" if form == "simultaneous" else "aec"
    return lambda: pettingzoo.make(kind, TASK_ID, game=game)


class Readout(NamedTuple):
    """What an algorithm's greedy policies do in each joint state of an iterated game (None: not reachable)."""

    #: The leader's action in each joint state (5: the start, then each previous joint action).
    leader: tuple[int | None, ...]
    #: The follower's action in each joint state after the leader's greedy action there.
    follower: tuple[int | None, ...]


def _actions(algorithm: Any, env: Any, observations: Mapping[str, Any]) -> dict[str, int]:
    """Both agents' greedy actions in a parallel env state (``act_joint`` for a centrally executed algorithm)."""
    if algorithm_execution(algorithm) == "centralized":
        chosen = algorithm.act_joint({a: observations[a] for a in env.possible_agents})
        return {
            a: checked_action(algorithm, "act_joint", a, chosen[a], env.action_space(a)) for a in env.possible_agents
        }
    return {
        a: checked_action(algorithm, "act", a, algorithm.act(a, observations[a]), env.action_space(a))
        for a in env.possible_agents
    }


def _stmg_step(algorithm: Any, env: Any) -> dict[str, int]:
    """One time step of the STMG ``env``, every agent greedy on what it shows; returns the joint action."""
    joint = {}
    for _ in range(len(env.agents)):
        agent = env.agent_selection
        joint[agent] = checked_action(
            algorithm, "act", agent, algorithm.act(agent, env.observe(agent)), env.action_space(agent)
        )
        env.step(joint[agent])
    return joint


def read_policies(algorithm: Any, make_env: Callable[[], Any], seed: int) -> Readout:
    """The greedy actions of both agents in every joint state, each state reached by at most one step from reset.

    Joint state 0 is the start; joint state ``1 + a_0 + 2 * a_1`` is reached by playing ``(a_0, a_1)`` once (in a
    one-step game it is never reached: its entries are None).
    """
    from stmg_envs.equilibria.iterated import JOINT_STATES

    leader: list[int | None] = []
    follower: list[int | None] = []
    for state in range(JOINT_STATES):
        env = make_env()
        a0, a1 = (state - 1) % 2, (state - 1) // 2
        joint: dict[str, int] | None = None
        if algorithm.form == "simultaneous":
            observations, _ = env.reset(seed=seed)
            if state:
                observations, *_ = env.step({LEADER: a0, FOLLOWER: a1})
            if env.agents:
                joint = _actions(algorithm, env, observations)
        else:
            env.reset(seed=seed)
            if state:
                for _ in range(len(env.agents)):
                    env.step(a0 if env.agent_selection == LEADER else a1)
            if not any(env.terminations.values()) and not any(env.truncations.values()):
                joint = _stmg_step(algorithm, env)
        env.close()
        leader.append(None if joint is None else joint[LEADER])
        follower.append(None if joint is None else joint[FOLLOWER])
    return Readout(tuple(leader), tuple(follower))


def greedy_episode(algorithm: Any, make_env: Callable[[], Any], seed: int) -> tuple[list[float], list[list[int]]]:
    """One episode of both agents' greedy policies through the algorithm's form: their returns and the joint actions."""
    env = make_env()
    returns = {LEADER: 0.0, FOLLOWER: 0.0}
    path: list[list[int]] = []
    if algorithm.form == "simultaneous":
        observations, _ = env.reset(seed=seed)
        while env.agents:
            joint = _actions(algorithm, env, observations)
            observations, rewards, *_ = env.step(joint)
            for agent, reward in rewards.items():
                returns[agent] += float(reward)
            path.append([joint[LEADER], joint[FOLLOWER]])
    else:
        env.reset(seed=seed)
        while env.agents:
            if env.terminations[env.agent_selection] or env.truncations[env.agent_selection]:
                env.step(None)
                continue
            joint = _stmg_step(algorithm, env)
            for agent in (LEADER, FOLLOWER):
                returns[agent] += float(env.rewards[agent])
            path.append([joint[LEADER], joint[FOLLOWER]])
    env.close()
    return [returns[LEADER], returns[FOLLOWER]], path


def iterated_trial(
    algorithm: dict[str, Any],
    game: str,
    seed: int = 0,
    steps: int = 100_000,
    hyperparameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train one algorithm with one seed on an iterated game and score its committed policy (a sweep trial function).

    Args:
        algorithm: :meth:`ResolvedAlgorithm.to_json` of the algorithm.
        game: A name of :data:`stmg_envs.equilibria.iterated.ITERATED_GAMES`, e.g. ``"ipd"``.
        seed: Seed of the run.
        steps: Joint (temporal) environment steps of training.
        hyperparameters: Keyword arguments of the algorithm.

    Returns:
        A JSON-serialisable dict: ``algo``, ``form``, ``game``, ``seed``, ``steps``; ``leader_policy`` (the leader's
        greedy action per leader memory state), ``solver_policy`` and ``same_policy`` (per follower model);
        ``committed_value`` and ``solver_value`` (the leader's return against an exactly best-responding follower,
        per follower model), ``optimal`` (per model: the committed value reaches the solver's, within 1e-9);
        ``episode_returns`` and ``joint_actions`` of the greedy episode; ``follower_regret`` (per model);
        ``train_s`` and ``decisions_per_s``.
    """
    from stmg_envs.equilibria.iterated import (
        follower_best_response,
        iterated_game,
        iterated_stackelberg,
        memory_view,
        num_memory_states,
    )

    resolved = ResolvedAlgorithm.from_json(algorithm)
    solved_game = iterated_game(game)
    make_env = make_env_factory(resolved.form, game)
    model = resolved.build(make_env, seed=seed, **dict(hyperparameters or {}))
    check_instance(model)
    start = time.perf_counter()
    model.learn(steps)
    train_s = time.perf_counter() - start
    done = int(getattr(model, "num_timesteps", steps))

    readout = read_policies(model, make_env, seed)
    view = memory_view(solved_game.memory)
    # the leader's policy per its own memory state: the action in the first joint state showing that state
    # (a policy of the observation alone acts the same in every joint state that shows it)
    # (a one-step game never reaches the later memory states: any action there is worth the same, 0 is written)
    shown = [readout.leader[int(np.flatnonzero(view[0] == m)[0])] for m in range(num_memory_states(solved_game.memory))]
    policy = tuple(0 if action is None else int(action) for action in shown)
    episode_returns, joint_actions = greedy_episode(model, make_env, seed)
    committed, solver, same, optimal, regret = {}, {}, {}, {}, {}
    for follower in FOLLOWER_MODELS:
        response = follower_best_response(solved_game, policy, follower=follower)
        best = iterated_stackelberg(solved_game, follower=follower)
        committed[follower] = response.leader_value
        solver[follower] = best.leader_value
        same[follower] = policy == best.leader_policy
        optimal[follower] = bool(response.leader_value >= best.leader_value - 1e-9)
        regret[follower] = response.follower_value - episode_returns[1]
    return {
        "algo": resolved.name,
        "form": resolved.form,
        "game": game,
        "seed": seed,
        "steps": done,
        "leader_policy": list(policy),
        "leader_by_joint_state": list(readout.leader),
        "follower_by_joint_state": list(readout.follower),
        "solver_policy": {
            f: list(iterated_stackelberg(solved_game, follower=f).leader_policy) for f in FOLLOWER_MODELS
        },
        "same_policy": same,
        "committed_value": committed,
        "solver_value": solver,
        "optimal": optimal,
        "episode_returns": episode_returns,
        "joint_actions": joint_actions,
        "follower_regret": regret,
        "train_s": train_s,
        "decisions_per_s": done * 2 / train_s if train_s > 0 else float("nan"),
    }


def plan_trials(
    games: list[str] | tuple[str, ...],
    algorithms: list[ResolvedAlgorithm],
    hyperparameters: Mapping[str, Mapping[str, Any]],
    seeds: int,
    steps: int,
    seed_start: int = 0,
) -> list[Any]:
    """The sweep's trials, seed-major (a sweep stopped early has about as many seeds of each game and algorithm)."""
    from stmg_bench.provenance import fingerprint
    from stmg_bench.suites.matrix import safe_key
    from stmg_bench.sweep import Trial

    trials = []
    for seed in range(seed_start, seed_start + seeds):
        for game in games:
            for algo in algorithms:
                hp = dict(hyperparameters.get(algo.name, {}))
                trials.append(
                    Trial(
                        key=f"{safe_key(algo.name)}_{game}_s{seed}",
                        fn="stmg_bench.suites.iterated:iterated_trial",
                        kwargs={
                            "algorithm": algo.to_json(),
                            "game": game,
                            "seed": seed,
                            "steps": steps,
                            "hyperparameters": hp,
                        },
                        fingerprint=fingerprint(algo, hp, __name__),
                    )
                )
    return trials
