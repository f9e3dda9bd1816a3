"""Can a policy network learn a follower's replies? Exact policy gradient on the last follower of a generated game.

Why this exists: on the 4- and 5-agent general-sum games of the ``nagent`` suite
STEP ends away from the SE even when its followers learn first
(``step-backward``). This script takes sampling, the other agents and PPO out of
the question and asks only whether the policy network can learn the last
follower's best replies: one reply per joint action of the agents above it
(27 for 4 agents, 81 for 5), each context weighted alike (as when the agents
above play uniformly, which is what ``leader_start`` arranges).

For every game, policy network, entropy bonus and seed it runs exact gradient
ascent (Adam, full batch, no samples) on

    J = mean over contexts h of  sum_a pi(a | h) u(h, a)  +  eta * H(pi(. | h)),

``u`` the last agent's payoffs and ``eta`` in payoff units (the payoffs lie in
[-10, 10]), and reports how many contexts end with a greedy reply that is not
the best one, and the mean probability of the best reply. Two networks see the
same observation rows (the STMG's observation of the last agent after each
context): STEP's :class:`~stmg_agents.step.policy.NLevelPolicy` (its default
settings, as the matrix benchmarks build it) and a plain MLP of the same widths
(64, 64, tanh) over the superiors' one-hot actions.

Outputs: ``benchmarks/results/<name>.md`` and ``<name>.csv``.

Usage::

    python benchmarks/reply_learning.py
    python benchmarks/reply_learning.py --games general-sum:4:0 --entropies 0,0.5,2 --seeds 3
"""

from __future__ import annotations

import copy
import itertools
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch as th

from stmg_bench.args import parse_dataclass
from stmg_bench.cli import reported_errors
from stmg_bench.provenance import git_commit
from stmg_bench.sweep.reporting import write_csv

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Args:
    """Command-line arguments (see ``--help``)."""

    games: tuple[str, ...] = field(
        default=("general-sum:3:1", "general-sum:4:0", "general-sum:5:1"),
        metadata={"help": "generated games (stmg_envs.matrix.generators names)"},
    )
    entropies: tuple[float, ...] = field(default=(0.0, 2.0), metadata={"help": "entropy bonuses eta, payoff units"})
    seeds: int = field(default=2, metadata={"help": "network initialisations per game, policy and eta"})
    iterations: int = field(default=6000, metadata={"help": "full-batch Adam steps"})
    learning_rate: float = field(default=5e-4, metadata={"help": "Adam learning rate (STEP's default)"})
    name: str = field(default="reply_learning", metadata={"help": "base name of the results files"})
    out: Path = field(default=RESULTS, metadata={"help": "results folder"})

    def check(self) -> str | None:
        if self.seeds < 1 or self.iterations < 1 or self.learning_rate <= 0:
            return f"expected --seeds, --iterations and --learning-rate > 0, got {self.seeds}, {self.iterations}, {self.learning_rate}"
        if any(e < 0 for e in self.entropies):
            return f"expected --entropies >= 0, got {list(self.entropies)}"
        return None


def parse_args(argv: list[str] | None = None) -> Args:
    return parse_dataclass(Args, argv, description=__doc__.split("\n\n")[0])


def last_follower_problem(game: str, seed: int):
    """``(STEP model, observation tensors, one-hot prior actions, payoffs u[h, a], contexts)`` of the last agent."""
    from stmg_agents.step.algorithm import STEP
    from stmg_bench.suites.matrix import game_spec, make_env_factory
    from stmg_envs.matrix.generators import generate

    generated = generate(game)
    task_id, kwargs = game_spec(game)
    make_env = make_env_factory("sequential", task_id, kwargs)
    model = STEP(make_env, seed=seed, gamma=0.0, n_envs=1)
    env = make_env()
    env.reset(seed=0)
    contexts = list(itertools.product(range(generated.n_actions), repeat=generated.n_players - 1))
    rows = []
    for context in contexts:
        node = copy.deepcopy(env)
        for action in context:
            node.step(action)
        rows.append(model.canonical_observation(node.observe(node.agent_selection)))
    batch = {key: np.stack([row[key] for row in rows]) for key in rows[0]}
    tensors, _ = model.policy.obs_to_tensor(batch)
    payoffs = np.stack([generated.payoffs[-1][context] for context in contexts])
    prior = th.as_tensor(batch["prior_actions"], dtype=th.float32)
    return model, tensors, prior, th.as_tensor(payoffs, dtype=th.float32), contexts


def step_network(model, tensors, prior: th.Tensor, n_actions: int):
    """STEP's own policy network (its hypernetwork heads): ``(parameters, probabilities())``."""
    parameters = list(model.policy.parameters())

    def probabilities() -> th.Tensor:
        return model.policy.action_probabilities(tensors)

    return parameters, probabilities


def mlp_network(model, tensors, prior: th.Tensor, n_actions: int):
    """A plain MLP (64, 64, tanh) over the superiors' one-hot actions: ``(parameters, probabilities())``."""
    mlp = th.nn.Sequential(
        th.nn.Linear(prior.shape[1], 64),
        th.nn.Tanh(),
        th.nn.Linear(64, 64),
        th.nn.Tanh(),
        th.nn.Linear(64, n_actions),
    )

    def probabilities() -> th.Tensor:
        return th.softmax(mlp(prior), dim=-1)

    return list(mlp.parameters()), probabilities


#: The networks compared, each with its label in the results: ``(label, builder)``.
NETWORKS = (("step", step_network), ("mlp", mlp_network))
POLICIES = tuple(label for label, _ in NETWORKS)


def ascend(policy: str, game: str, eta: float, seed: int, args: Args) -> dict:
    """Exact gradient ascent on the last follower's replies; the outcome of one run."""
    model, tensors, prior, payoffs, contexts = last_follower_problem(game, seed)
    th.manual_seed(seed)
    network = dict(NETWORKS)[policy]
    parameters, probabilities = network(model, tensors, prior, payoffs.shape[1])
    optimizer = th.optim.Adam(parameters, lr=args.learning_rate, eps=1e-5)
    for _ in range(args.iterations):
        p = probabilities()
        entropy = -(p * th.log(p.clamp_min(1e-12))).sum(dim=1)
        objective = (p * payoffs).sum(dim=1) + eta * entropy
        optimizer.zero_grad()
        (-objective.mean()).backward()
        optimizer.step()
    with th.no_grad():
        p = probabilities().numpy()
    best = payoffs.numpy().argmax(axis=1)
    return {
        "game": game,
        "policy": policy,
        "eta": eta,
        "seed": seed,
        "contexts": len(contexts),
        "wrong_replies": int((p.argmax(axis=1) != best).sum()),
        "p_best_mean": float(p[np.arange(len(best)), best].mean()),
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    th.set_num_threads(1)  # tiny full-batch problems: one thread is fastest and leaves the other cores alone
    start = time.perf_counter()
    rows = [
        ascend(policy, game, eta, seed, args)
        for game in args.games
        for policy in POLICIES
        for eta in args.entropies
        for seed in range(args.seeds)
    ]
    minutes = (time.perf_counter() - start) / 60
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / f"{args.name}.csv", rows)
    lines = [
        f"# Learning a follower's replies by exact policy gradient ({args.name})",
        "",
        f"Written by `benchmarks/reply_learning.py` at commit `{git_commit() or 'not recorded'}` with --games {','.join(args.games)} --entropies "
        f"{','.join(str(e) for e in args.entropies)} --seeds {args.seeds} --iterations {args.iterations} "
        f"--learning-rate {args.learning_rate}; {platform.machine()}, Python {sys.version.split()[0]}, "
        f"{minutes:.1f} min.",
        "",
        "The last agent's replies only: one context per joint action of the agents above it, every context "
        "weighted alike, the exact expected payoff plus eta times the entropy ascended with full-batch Adam (no "
        "sampling, no other learner). 'wrong' = contexts whose greedy reply is not the best one (min / max over "
        "seeds); 'P(best)' = the mean probability of the best reply (mean over seeds).",
        "",
        "| game | contexts | policy | eta | wrong replies (min / max) | P(best) |",
        "|---|---:|---|---:|---|---:|",
    ]
    for game in args.games:
        for policy in POLICIES:
            for eta in args.entropies:
                group = [r for r in rows if (r["game"], r["policy"], r["eta"]) == (game, policy, eta)]
                wrong = [r["wrong_replies"] for r in group]
                p_best = np.mean([r["p_best_mean"] for r in group])
                lines.append(
                    f"| {game} | {group[0]['contexts']} | {policy} | {eta:g} | {min(wrong)} / {max(wrong)} | {p_best:.2f} |"
                )
    (args.out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    with reported_errors(Path(__file__).name):
        main()
