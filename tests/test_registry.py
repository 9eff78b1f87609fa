"""The name registry behind activations.get, initializers.get, losses.get, metrics.get and
optimizers.get: names in any case, aliases, objects as they are, configs, and errors that list
the known names."""

import pytest

from gru_native import activations, initializers, losses, metrics, optimizers
from gru_native.registry import Registry


class Shape:
    def __init__(self, sides=4):
        self.sides = sides

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Circle(Shape):
    pass


def shapes():
    registry = Registry("shape", lambda obj: isinstance(obj, Shape), hint="a name or a Shape")
    registry.register("square", Shape, aliases=("Quad", "box"))
    registry.register("circle", Circle)
    return registry


def test_a_name_or_an_alias_in_any_case_gives_a_new_instance_of_a_class():
    registry = shapes()
    for name in ("square", "SQUARE", "quad", "Box"):
        got = registry.get(name)
        assert type(got) is Shape and got.sides == 4
    assert registry.get("square") is not registry.get("square")
    assert registry.lookup("QUAD") is Shape
    assert registry.names() == ["Quad", "box", "circle", "square"]


def test_an_accepted_object_is_returned_as_it_is():
    registry, circle = shapes(), Circle()
    assert registry.get(circle) is circle


def test_a_config_dict_goes_through_from_config():
    got = shapes().get({"class_name": "Square", "config": {"sides": 6}})
    assert type(got) is Shape and got.sides == 6
    assert type(shapes().get({"class_name": "circle"})) is Circle  # no config: the defaults


def test_a_registered_object_that_is_no_class_is_shared():
    registry = Registry("colour", lambda obj: False, hint="a name", default="red")
    red = object()
    registry.register("red", red)
    assert registry.get("RED") is red
    assert registry.get(None) is red  # the default name
    with pytest.raises(TypeError, match="cannot get a colour from"):
        registry.get({"class_name": "red"})  # only classes are made from configs


def test_unknown_names_raise_listing_the_known_ones():
    with pytest.raises(ValueError, match="unknown shape 'hexagon'; known: Quad, box, circle, square"):
        shapes().get("hexagon")
    with pytest.raises(ValueError, match="unknown shape None; known: Quad"):
        shapes().get({"config": {}})
    with pytest.raises(ValueError, match="unknown shape 3; known: Quad"):
        shapes().lookup(3)


def test_other_identifiers_raise_a_type_error_saying_what_get_takes():
    with pytest.raises(TypeError, match=r"cannot get a shape from 3: give a name or a Shape"):
        shapes().get(3)
    with pytest.raises(TypeError, match="cannot get a shape from None"):
        shapes().get(None)  # no default
    with pytest.raises(TypeError, match="cannot get an optimizer from 3"):
        optimizers.get(3)


def test_a_name_cannot_be_taken_twice_by_different_objects():
    registry = shapes()
    registry.register("SQUARE", Shape)  # the same object again: nothing changes
    with pytest.raises(ValueError, match="shape name 'Square' is already registered"):
        registry.register("Square", Circle)
    with pytest.raises(ValueError, match="shape name 'BOX' is already registered"):
        registry.register("oval", Circle, aliases=("BOX",))
    assert type(registry.get("box")) is Shape


# ---- the package's registries ----------------------------------------------------------------

KINDS = {activations: "activation", initializers: "initializer", losses: "loss",
         metrics: "metric", optimizers: "optimizer"}


@pytest.mark.parametrize("module", list(KINDS), ids=lambda m: m.__name__)
def test_every_registered_name_gets_an_object_of_the_kind(module):
    names = module.REGISTRY.names()
    assert names and module.REGISTRY.kind == KINDS[module]
    for name in names:
        got = module.get(name)
        assert module.REGISTRY.accepts(got), name
        assert module.get(got) is got
    with pytest.raises(ValueError, match=f"unknown {KINDS[module]} 'nope'; known: {', '.join(names)}$"):
        module.get("nope")


def test_the_package_tables():
    assert activations.REGISTRY.names() == ["linear", "relu", "sigmoid", "softmax", "tanh"]
    assert activations.get(None) is activations.get("LINEAR")
    assert {"glorot_uniform", "orthogonal", "uniform", "normal"} <= set(initializers.REGISTRY.names())
    assert type(initializers.get("Uniform")) is initializers.RandomUniform
    assert {"mse", "mae", "huber", "Huber", "huber_loss", "BinaryCrossentropy"} <= set(
        losses.REGISTRY.names())
    assert {"acc", "accuracy", "mae", "mean_absolute_error", "mse"} <= set(metrics.REGISTRY.names())
    assert optimizers.REGISTRY.names() == ["adam", "adamw", "rmsprop", "sgd"]


def test_configs_round_trip_through_get():
    init = initializers.get({"class_name": "random_normal", "config": {"stddev": 0.5}})
    assert isinstance(init, initializers.RandomNormal) and init.stddev == 0.5
    again = initializers.get(initializers.to_config(init))
    assert type(again) is type(init) and again.get_config() == init.get_config()
    loss = losses.get({"class_name": "Huber", "config": {"delta": 2.0}})
    assert isinstance(loss, losses.Huber) and loss.delta == 2.0
    opt = optimizers.deserialize(optimizers.serialize(optimizers.RMSprop(rho=0.5)))
    assert isinstance(opt, optimizers.RMSprop) and opt.rho == 0.5
    with pytest.raises(ValueError, match="an optimizer config must be a dict with 'class_name'"):
        optimizers.deserialize("adam")

