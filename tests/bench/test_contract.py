"""The algorithm contract's checker: it accepts what the harness can run and says precisely what anything else lacks."""

from __future__ import annotations

import pytest

from stmg_bench.contract import ContractError, check_algorithm, check_instance


class Good:
    form = "sequential"

    def __init__(self, make_env, seed, lr=0.1):
        self.lr = lr

    def learn(self, total_timesteps, callback=None):
        return self

    def act(self, agent, observation):
        return 0


def test_a_class_of_the_documented_shape_passes_with_the_hyperparameters_it_takes():
    """The shape of the docs passes, with and without a hyperparameter it names."""
    check_algorithm(Good)
    check_algorithm(Good, {"lr": 0.5})


def test_a_factory_function_with_a_form_passes():
    """A plain function is a factory too, when it carries a `form`."""

    def factory(make_env, seed, **hyperparameters):
        return Good(make_env, seed)

    factory.form = "simultaneous"
    check_algorithm(factory, {"anything": 1})


def test_a_class_without_act_is_told_what_to_add():
    """Missing `act`: the message names the method and its signature."""

    class NoAct:
        form = "sequential"

        def __init__(self, make_env, seed):
            pass

        def learn(self, total_timesteps, callback=None):
            pass

    with pytest.raises(ContractError, match=r"NoAct lacks `act`.*act\(self, agent, observation\)"):
        check_algorithm(NoAct)


@pytest.mark.parametrize(
    "form, message",
    [
        (None, "has no `form` attribute; expected form = 'sequential'"),
        ("parallel", "form must be one of .*got 'parallel'"),
    ],
)
def test_a_missing_or_unknown_form_is_named(form, message):
    """No form, or a form outside FORMS, is a ContractError naming the accepted forms."""
    attrs = {"learn": Good.learn, "act": Good.act, "__init__": Good.__init__}
    if form is not None:
        attrs["form"] = form
    cls = type("Odd", (), attrs)
    with pytest.raises(ContractError, match=message):
        check_algorithm(cls)


def test_an_unknown_hyperparameter_is_named_with_the_ones_it_takes():
    """A typo in a hyperparameter is caught before training, with the accepted names."""
    with pytest.raises(
        ContractError, match=r"does not take the hyperparameter\(s\) \['learning_rate'\]; it takes \['lr'\]"
    ):
        check_algorithm(Good, {"learning_rate": 0.1})


def test_a_constructor_without_make_env_and_seed_is_refused():
    """The harness calls cls(make_env, seed=seed): a constructor that cannot take that is told so."""

    class NoSeed(Good):
        def __init__(self, make_env):
            pass

    with pytest.raises(ContractError, match="must take the env factory first and `seed` by name"):
        check_algorithm(NoSeed)


def test_not_callable_is_refused():
    """An instance or a string is not a factory."""
    with pytest.raises(ContractError, match="expected an algorithm class or factory"):
        check_algorithm("step")


def test_a_factory_returning_an_object_without_learn_is_caught_after_construction():
    """check_instance guards what a factory function returned."""

    class Half:
        form = "sequential"

        def act(self, agent, observation):
            return 0

    with pytest.raises(ContractError, match="lacks `learn` on the object its factory returned"):
        check_instance(Half())


def test_declarations_promise_what_the_class_has():
    """execution = 'centralized' needs act_joint; uses_order needs an `order` keyword; bad values are named."""
    import pytest

    from stmg_bench.contract import ContractError, check_algorithm

    class Central:
        form, execution = "simultaneous", "centralized"

        def __init__(self, make_env, seed):
            pass

        def learn(self, total_timesteps, callback=None):
            return self

        def act(self, agent, observation):
            return 0

    with pytest.raises(ContractError, match="declares execution = 'centralized' but has no `act_joint`"):
        check_algorithm(Central)

    class Ordered(Central):
        execution, uses_order = "decentralized", True

    with pytest.raises(ContractError, match="declares uses_order = True but its constructor takes no `order`"):
        check_algorithm(Ordered)

    class Odd(Central):
        execution = "remote"

    with pytest.raises(ContractError, match=r"execution must be one of \('decentralized', 'centralized'\)"):
        check_algorithm(Odd)


@pytest.mark.parametrize(
    "learn",
    [
        lambda self, total_timesteps: self,
        lambda self, total_timesteps, cb=None: self,
        lambda self: self,
    ],
    ids=["no-callback", "callback-misnamed", "no-arguments"],
)
def test_a_learn_the_harness_cannot_call_with_callback_is_refused(learn):
    """The harness calls learn(total_timesteps, callback=...): a learn without a `callback` parameter (or without
    total_timesteps) is refused before anything is trained, naming its signature and the one expected; a learn
    that takes *args and **kwargs passes."""

    class NoCallback(Good):
        pass

    NoCallback.learn = learn
    with pytest.raises(ContractError) as info:
        check_algorithm(NoCallback)
    assert "cannot be called as learn(total_timesteps, callback=callback)" in str(info.value)
    assert "expected learn(self, total_timesteps, callback=None)" in str(info.value)

    class Flexible(Good):
        def learn(self, *args, **kwargs):
            return self

    check_algorithm(Flexible)
