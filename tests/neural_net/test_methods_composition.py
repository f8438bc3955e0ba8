"""Net methods by composition: loop parameters declared once, docs from code."""

import ast
import dataclasses
import inspect
import pickle
import typing

import pytest

pytest.importorskip("torch")
pytest.importorskip("skorch")
docscrape = pytest.importorskip("numpydoc.docscrape")

from sklearn.base import clone  # noqa: E402

from skunlearn.io import _hooks_are_inert, trusted_types  # noqa: E402
from skunlearn.neural_net import NetUnlearningMethod, ResetRepair  # noqa: E402
from skunlearn.neural_net._methods import (  # noqa: E402
    _RESET_SHARE,
    _RESET_TIME_SHARE,
    METHODS,
    _literal,
)
from skunlearn.neural_net._schedule import _DEFAULT_BUDGET  # noqa: E402

CLASSES = [NetUnlearningMethod, *METHODS.values()]
SHARED = [f.name for f in dataclasses.fields(NetUnlearningMethod)]
# Shared parameters whose meaning differs for a method, documented there.
DOC_OVERRIDES = {ResetRepair: {"max_epochs", "lr", "max_seconds"}}


def _documented(cls):
    """``{name: (type, default text, description)}`` from the docstring."""
    out = {}
    for p in docscrape.NumpyDocString(inspect.getdoc(cls))["Parameters"]:
        kind, _, default = p.type.partition(", default=")
        out[p.name] = (kind, default, " ".join(p.desc))
    return out


def test_the_loop_parameters_are_declared_once():
    assert SHARED == [
        "max_epochs",
        "lr",
        "batch_size",
        "repair_epochs",
        "tol",
        "class_tol",
        "calibrate",
        "max_seconds",
        "random_state",
    ]
    for cls in METHODS.values():
        # no hand-written __init__: the dataclass writes it from the fields
        assert "__init__" not in inspect.getsource(cls), cls.__name__
        own = set(inspect.get_annotations(cls))
        # a method redeclares a shared parameter only to change its default
        for name in own & set(SHARED):
            base = NetUnlearningMethod.__dataclass_fields__[name]
            mine = cls.__dataclass_fields__[name]
            assert mine.default != base.default or "doc" in mine.metadata, (
                cls.__name__,
                name,
            )


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_documented_defaults_are_the_actual_ones(cls):
    doc = _documented(cls)
    sig = inspect.signature(cls)
    assert list(doc) == list(sig.parameters)
    params = cls().get_params()
    for name, (_, default, desc) in doc.items():
        actual = sig.parameters[name].default
        assert default, f"{cls.__name__}.{name} documents no default"
        written = ast.literal_eval(default)
        assert written == actual and type(written) is type(actual), (name, default)
        assert params[name] == actual
        assert desc, f"{cls.__name__}.{name} has no description"


@pytest.mark.parametrize("cls", list(METHODS.values()), ids=lambda c: c.__name__)
def test_shared_parameters_share_their_text(cls):
    base = _documented(NetUnlearningMethod)
    doc = _documented(cls)
    for name in set(SHARED) & set(doc) - DOC_OVERRIDES.get(cls, set()):
        assert doc[name][2] == base[name][2], (cls.__name__, name)


def test_time_budgets_are_documented_from_the_constants():
    for cls in METHODS.values():
        text = _documented(cls)["max_seconds"][2]
        share = _RESET_TIME_SHARE if cls is ResetRepair else _DEFAULT_BUDGET
        assert f"None: {share:.0%} of the net's training time" in text
    assert (
        f"None: {_RESET_SHARE:.0%} of the epochs"
        in (_documented(ResetRepair)["max_epochs"][2])
    )


@pytest.mark.parametrize("value", [0.0, 1e-3, 1e-4, 5e-4, 0.02, 1.5e-3, 1 / 3])
def test_literal_round_trips(value):
    assert ast.literal_eval(_literal(value)) == value
    assert _literal(1e-3) == "1e-3" and _literal(None) == "None"


def test_reset_repair_has_no_repair_phase_parameter():
    assert "repair_epochs" not in ResetRepair().get_params()
    assert ResetRepair.repair_epochs == 0 == ResetRepair().repair_epochs
    with pytest.raises(TypeError, match="repair_epochs"):
        ResetRepair(repair_epochs=1)
    with pytest.raises(ValueError, match="Invalid parameter 'repair_epochs'"):
        ResetRepair().set_params(repair_epochs=1)


@pytest.mark.parametrize("cls", list(METHODS.values()), ids=lambda c: c.__name__)
def test_scikit_learn_api(cls):
    obj = cls(random_state=3, tol=0.1)
    assert repr(obj) == f"{cls.__name__}(random_state=3, tol=0.1)"
    twin = clone(obj)
    assert twin is not obj and twin.get_params() == obj.get_params()
    # identity equality and hashing, as any estimator
    assert twin != obj and len({obj, twin}) == 2
    assert obj.set_params(lr=0.5) is obj and obj.lr == 0.5
    back = pickle.loads(pickle.dumps(obj))
    assert back.get_params() == obj.get_params()
    # the dataclass adds no pickling hook: skops still trusts the class
    assert "__setstate__" not in vars(cls) and _hooks_are_inert(cls)
    assert f"{cls.__module__}.{cls.__qualname__}" in trusted_types()
    # the annotations resolve (sklearn reads only the names)
    hints = typing.get_type_hints(cls)
    assert set(SHARED) - {"repair_epochs"} <= set(hints)
    assert typing.get_type_hints(cls.run)["return"] == dict[str, typing.Any]


def test_a_method_of_ones_own():
    class Half(NetUnlearningMethod):
        """A method of one's own.

        See Also
        --------
        NetUnlearningMethod : Its base.
        """

        _parameter_constraints: typing.ClassVar[dict] = {"weight": [float]}
        weight: float = 0.5
        max_epochs: int = 2

    obj = Half(weight=0.25)
    assert obj.get_params()["weight"] == 0.25 and obj.max_epochs == 2
    assert repr(obj) == "Half(weight=0.25)" and clone(obj).weight == 0.25
    doc = _documented(Half)
    assert doc["weight"][:2] == ("float", "0.5") and doc["max_epochs"][1] == "2"
    assert doc["lr"][2] == _documented(NetUnlearningMethod)["lr"][2]
    assert inspect.getdoc(Half).index("Parameters") < inspect.getdoc(Half).index(
        "See Also"
    )
    Half()._validate_params()
    with pytest.raises(ValueError, match="'weight' parameter of Half must be"):
        Half(weight="half")._validate_params()


def test_unannotated_default_is_refused():
    with pytest.raises(TypeError, match=r"\['lr'\] without an annotation"):

        class Bad(NetUnlearningMethod):
            lr = 0.5


def test_hand_written_init_still_works():
    class Old(NetUnlearningMethod):
        def __init__(self, *, max_epochs=2, lr=1e-3):
            self.max_epochs = max_epochs
            self.lr = lr

    assert Old(lr=0.1).get_params() == {"lr": 0.1, "max_epochs": 2}
    assert clone(Old(lr=0.1)).lr == 0.1
