"""Every estimator round-trips through skops and pickle, and goes on forgetting.

A model saved and loaded predicts what the original predicts, and a request
forgotten by the loaded model leaves it as the same request leaves the
original. Loading with skops trusts :func:`skunlearn.io.trusted_types` and
nothing else; every type a saved model holds outside skops' defaults is in
that list. The estimators are collected from the public modules' ``__all__``
(as in ``tests/test_defaults.py``), on numpy rows and on DataFrames; the
scikit-learn pipelines run on a table with strings, codes with leading zeros,
categoricals, booleans and missing values.
"""

# SPDX-License-Identifier: BSD-3-Clause

import importlib
import inspect
import io
import pickle
import pkgutil
import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_blobs, make_classification, make_regression
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import get_tags

import skunlearn
from skunlearn import Unlearnable
from skunlearn._ledger import TrainingLedger
from skunlearn.ensemble import SISAClassifier
from skunlearn.io import dump, load, trusted_types
from skunlearn.pipeline import Pipeline

skops_io = pytest.importorskip("skops.io")
pd = pytest.importorskip("pandas")

_METHODS = ("predict", "predict_proba", "decision_function", "transform")
_FORGET = [3, 17, 40]


# ------------------------------------------------------------- estimators
def _public_estimators():
    """``{qualified name: class}`` of the public classes with an ``unlearn``."""
    modules = [skunlearn]
    for info in pkgutil.walk_packages(skunlearn.__path__, "skunlearn."):
        parts = info.name.split(".")[1:]
        if any(p.startswith("_") or p == "conftest" for p in parts):
            continue
        try:
            modules.append(importlib.import_module(info.name))
        except ImportError:  # an optional extra that is not installed
            continue
    found = {}
    for module in modules:
        for name in getattr(module, "__all__", ()):
            try:
                obj = getattr(module, name)
            except ImportError:
                continue
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and hasattr(obj, "unlearn")
                and not inspect.isabstract(obj)
            ):
                found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return dict(sorted(found.items()))


_ESTIMATORS = _public_estimators()
_IS_NET = "UnlearningNeuralNet"


def _torch_module(classifier, n_features):
    import torch

    if classifier:
        return torch.nn.Sequential(
            torch.nn.Linear(n_features, 2), torch.nn.Softmax(dim=-1)
        )
    return torch.nn.Linear(n_features, 1)


def _make(cls):
    name = cls.__name__
    if name == "Unlearnable":
        est = cls(Ridge())
    elif name == "Pipeline":
        est = cls([("scale", StandardScaler()), ("ridge", Ridge())])
    elif name.startswith(_IS_NET):
        est = cls(
            _torch_module(issubclass(cls, ClassifierMixin), 4),
            max_epochs=2,
            verbose=0,
            unlearn_method__max_epochs=1,
        )
    else:
        est = cls()
    if "random_state" in est.get_params(deep=False):
        est.set_params(random_state=0)
    return est


def _data(kind, cls):
    n, d = 60, 4
    if kind == "classifier":
        X, y = make_classification(
            n_samples=n, n_features=d, n_informative=3, n_redundant=0, random_state=0
        )
    elif kind == "regressor":
        X, y = make_regression(n_samples=n, n_features=d, noise=1.0, random_state=0)
    else:
        X, _ = make_blobs(n_samples=n, n_features=d, random_state=0)
        y = None
    if cls.__name__.startswith(_IS_NET):
        X = X.astype(np.float32)
        if kind == "regressor":
            y = y.astype(np.float32).reshape(-1, 1)
    return X, y


def _estimator_cases():
    for name, cls in _ESTIMATORS.items():
        short = name.rsplit(".", 1)[-1]
        for container in ("numpy", "pandas"):
            marks = []
            if short.startswith(_IS_NET) and container == "pandas":
                # skorch reads a DataFrame given to predict as one module
                # argument per column; the nets take numpy rows.
                continue
            yield pytest.param(cls, container, id=f"{short}-{container}", marks=marks)


# ---------------------------------------------------------------- helpers
def _save_load(model, how):
    """``model`` saved and loaded by pickle, or by skops through skunlearn.io."""
    if how == "pickle":
        return pickle.loads(pickle.dumps(model))
    buffer = io.BytesIO()
    dump(model, buffer)
    data = buffer.getvalue()
    untrusted = skops_io.get_untrusted_types(data=data)
    missing = sorted(set(untrusted) - set(trusted_types()))
    assert not missing, f"types not in trusted_types(): {missing}"
    return load(io.BytesIO(data))


def _outputs(model, X):
    out = {}
    for method in _METHODS:
        if hasattr(model, method):
            try:
                value = getattr(model, method)(X)
            except (AttributeError, NotImplementedError):
                continue
            out[method] = value.toarray() if hasattr(value, "toarray") else value
    return out


def assert_same_outputs(model, other, X):
    expected = _outputs(model, X)
    actual = _outputs(other, X)
    assert actual.keys() == expected.keys()
    assert expected, f"{type(model).__name__} has no output method"
    for method, value in expected.items():
        assert_array_equal(np.asarray(actual[method]), np.asarray(value), method)


def assert_same_ledger(ledger, other):
    assert ledger.fingerprint_key == other.fingerprint_key
    assert ledger.n_rows == other.n_rows
    assert ledger.dtypes == other.dtypes
    assert_array_equal(ledger.fingerprints(), other.fingerprints())
    if ledger.y is not None:
        assert_array_equal(ledger.y, other.y)
    if ledger.X is not None:
        if hasattr(ledger.X, "columns"):
            assert other.X.equals(ledger.X)
            assert list(other.X.dtypes) == list(ledger.X.dtypes)
        elif hasattr(ledger.X, "toarray"):
            assert_array_equal(other.X.toarray(), ledger.X.toarray())
        else:
            assert_array_equal(other.X, ledger.X)


def _rows(X, rows):
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def check_round_trip(model, X, y, how, forget=_FORGET):
    """Save ``model`` (fitted on ``X, y``), load it, compare, forget, compare."""
    loaded = _save_load(model, how)
    assert type(loaded) is type(model)
    assert_same_outputs(model, loaded, X)
    assert_same_ledger(model.ledger_, loaded.ledger_)
    # the same request on both: the same model after it
    y_f = None if y is None else _rows(y, forget)
    model.unlearn(_rows(X, forget), y_f)
    loaded.unlearn(_rows(X, forget), y_f)
    assert_same_outputs(model, loaded, X)
    assert_same_ledger(model.ledger_, loaded.ledger_)
    assert len(loaded.unlearn_history_) == len(model.unlearn_history_)
    # and saved again after forgetting
    again = _save_load(loaded, how)
    assert_same_outputs(model, again, X)
    assert_same_ledger(model.ledger_, again.ledger_)


# ------------------------------------------------------------------ tests
def test_public_estimators_are_collected():
    names = {name.rsplit(".", 1)[-1] for name in _ESTIMATORS}
    assert {
        "Unlearnable",
        "Pipeline",
        "DCKMeans",
        "SISAClassifier",
        "SISARegressor",
        "UnlearningForestClassifier",
        "UnlearningTreeRegressor",
    } <= names


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("how", ["pickle", "skops"])
@pytest.mark.parametrize("cls, container", list(_estimator_cases()))
def test_every_estimator_round_trips(cls, container, how):
    est = _make(cls)
    X, y = _data(get_tags(est).estimator_type, cls)
    if container == "pandas":
        X = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    if cls.__name__.startswith(_IS_NET):
        import torch

        torch.manual_seed(0)
    model = est.fit(X, y)
    check_round_trip(model, X, y, how)


# A customer table: numbers with missing values, a city, postal codes with
# leading zeros (strings), an ordered categorical, a boolean flag, and an
# object column of strings with missing values.
def _table(n=90, seed=0):
    rng = np.random.RandomState(seed)
    income = rng.lognormal(10, 0.5, n).round(2)
    income[rng.rand(n) < 0.1] = np.nan
    code = np.array(rng.choice(["02139", "10001", "94105"], n), dtype=object)
    code[rng.rand(n) < 0.1] = np.nan
    X = pd.DataFrame(
        {
            "income": income,
            "age": rng.randint(18, 90, n),
            "city": rng.choice(["Paris", "Zürich", "Boston"], n),
            "code": pd.Series(code, dtype=object),
            "tier": pd.Categorical(
                rng.choice(["low", "mid", "high"], n),
                categories=["low", "mid", "high"],
                ordered=True,
            ),
            "member": rng.rand(n) < 0.4,
        }
    )
    y = (np.nan_to_num(income, nan=22000.0) > 22000).astype(int) ^ (X["age"] > 60)
    return X, np.asarray(y, dtype=int), X["age"].to_numpy() * 1.5 + rng.randn(n)


_NUM = ["income", "age"]
_CAT = ["city", "code", "tier", "member"]


def _columns(encoder=None):
    return ColumnTransformer(
        [
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                _NUM,
            ),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    encoder or OneHotEncoder(handle_unknown="ignore"),
                ),
                _CAT,
            ),
        ]
    )


_TABLE_CASES = {
    "logistic": (
        lambda: Unlearnable(make_pipeline(_columns(), LogisticRegression())),
        "clf",
    ),
    "ridge": (lambda: Unlearnable(make_pipeline(_columns(), Ridge())), "reg"),
    "ordinal_gaussian_nb": (
        lambda: Unlearnable(make_pipeline(_columns(OrdinalEncoder()), GaussianNB())),
        "clf",
    ),
    "retrain_tree": (
        lambda: Unlearnable(
            make_pipeline(_columns(), DecisionTreeClassifier(random_state=0))
        ),
        "clf",
    ),
    "knn": (
        lambda: Unlearnable(make_pipeline(_columns(), KNeighborsClassifier())),
        "clf",
    ),
    "search": (
        lambda: Unlearnable(
            GridSearchCV(
                make_pipeline(_columns(), Ridge()), {"ridge__alpha": [0.1, 1.0]}, cv=3
            )
        ),
        "reg",
    ),
    "skunlearn_pipeline": (
        lambda: Pipeline([("columns", _columns()), ("ridge", Ridge())]),
        "reg",
    ),
    "sisa_pipeline": (
        lambda: SISAClassifier(
            make_pipeline(_columns(), LogisticRegression()), n_shards=3, random_state=0
        ),
        "clf",
    ),
}


@pytest.mark.parametrize("how", ["pickle", "skops"])
@pytest.mark.parametrize("case", list(_TABLE_CASES))
def test_pipelines_on_a_table_round_trip(case, how):
    make, task = _TABLE_CASES[case]
    X, y_clf, y_reg = _table()
    y = y_clf if task == "clf" else y_reg
    model = make().fit(X, y)
    check_round_trip(model, X, y, how)


def test_ledger_of_a_table_round_trips_exactly():
    # Every column comes back with its dtype and its values, each of the
    # Python type it had (None stays None, NaN stays NaN), and the row labels
    # (not features: they may be ids) are not kept.
    n = 12
    X = pd.DataFrame(
        {
            "float": [np.nan, 1.5, -0.0] * 4,
            "int": np.arange(n),
            "str": ["a", "é", "02139"] * 4,
            "text": np.array(["", "x" * 300, "\U0001f642"] * 4, dtype=object),
            "object": np.array([1, "a", None, 2.5, np.nan, True] * 2, dtype=object),
            "category": pd.Categorical(["x", "y", "z"] * 4, categories=["z", "y", "x"]),
            "Int64": pd.array([1, None] * 6, dtype="Int64"),
            "boolean": pd.array([True, None, False] * 4, dtype="boolean"),
            "string": pd.array(["p", None, "q"] * 4, dtype="string"),
            "when": pd.date_range("2024-01-01", periods=n, tz="Europe/Paris"),
            "bool": [True, False] * 6,
        },
        index=[f"customer-{i}@example.com" for i in range(n)],
    )
    y = np.array(["yes", "no", None] * 4, dtype=object)
    ledger = TrainingLedger(X, y, {"w": np.arange(n) * 0.5}, keep_X=True)
    assert isinstance(ledger.X.index, pd.RangeIndex)
    for how in ("pickle", "skops"):
        if how == "pickle":
            loaded = pickle.loads(pickle.dumps(ledger))
        else:
            data = skops_io.dumps(ledger)
            assert skops_io.get_untrusted_types(data=data) == [
                "skunlearn._ledger.TrainingLedger"
            ]
            loaded = skops_io.loads(data, trusted=trusted_types())
        assert list(loaded.X.columns) == list(X.columns)
        assert loaded.X.equals(ledger.X)
        for column in X.columns:
            assert loaded.X[column].dtype == X[column].dtype, column
            for got, want in zip(loaded.X[column], ledger.X[column]):
                assert type(got) is type(want), (column, got, want)
        assert loaded.y.dtype == object and list(loaded.y) == list(y)
        assert_array_equal(loaded.sample_props["w"], ledger.sample_props["w"])
        assert loaded.dtypes == ledger.dtypes
        assert loaded.fingerprint_key == ledger.fingerprint_key
        assert sorted(loaded.match(X.iloc[[4, 7]]).rows) == [4, 7]


def test_a_model_saved_by_skops_holds_no_pickle():
    # The file is a zip of JSON, .npy arrays (written without pickles: a
    # DataFrame and object columns of the ledger included) and raw bytes (the
    # ledger's fingerprint key).
    X, y, _ = _table()
    model = Unlearnable(
        make_pipeline(_columns(), DecisionTreeClassifier(random_state=0))
    ).fit(X, y)
    assert model.ledger_.X is not None
    buffer = io.BytesIO()
    dump(model, buffer)
    import zipfile

    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        names = archive.namelist()
        assert "schema.json" in names
        raw = [n for n in names if n.endswith(".bin")]
        assert [archive.read(n) for n in raw] == [model.ledger_.fingerprint_key]
        for name in names:
            if name.endswith(".npy"):
                header = archive.read(name)[:128]
                assert b"'descr': '|O'" not in header, name
            else:
                assert name == "schema.json" or name in raw, name


def test_trusted_types_is_the_models_types():
    names = trusted_types()
    assert names == sorted(set(names))
    assert all(isinstance(n, str) and "." in n for n in names)
    for expected in (
        "skunlearn._ledger.TrainingLedger",
        "skunlearn.wrapper.Unlearnable",
        "skunlearn.ensemble._sisa.SISAClassifier",
        "skunlearn.tree._base._Tree",
        "collections.Counter",
        "sklearn.tree._tree.Tree",
    ):
        assert expected in names
    pytest.importorskip("skorch")
    for expected in (
        "skunlearn.neural_net._net.UnlearningNeuralNetClassifier",
        "torch.optim.sgd.SGD",
        "torch.nn.modules.loss.NLLLoss",
        "torch.nn.modules.linear.Linear",
        "skorch.dataset.ValidSplit",
    ):
        assert expected in names
    # never skorch's own nets (their __setstate__ unpickles), nor torch's
    # functions or the user's module classes
    assert not [n for n in names if n.startswith("skorch.net")]
    assert "torch.load" not in names and "builtins.eval" not in names


def test_trusted_types_are_rebuilt_by_audited_hooks():
    # skops rebuilds a trusted type by its __new__ and __setstate__ (or
    # __dict__). The package's own are audited to only set attributes: a new
    # __setstate__ on a trusted type must be audited and added here.
    audited = {
        "sklearn.base.BaseEstimator",
        "skunlearn._ledger.TrainingLedger",
        "skunlearn.ensemble._sisa._BaseSISA",
        # builds the torch components from the net's parameters (trusted
        # types) and loads their arrays; refuses skorch's pickled bytes
        "skunlearn.neural_net._net._UnlearningNetMixin",
        "skunlearn.strategies.neighbors.NeighborsStrategy",
        "skunlearn.tree._base._Tree",
        "skunlearn.wrapper.Unlearnable",
    }
    for name in trusted_types():
        if not name.startswith("skunlearn."):
            continue
        module, _, qualname = name.rpartition(".")
        cls = getattr(importlib.import_module(module), qualname)
        for hook in ("__setstate__", "__reduce__", "__reduce_ex__", "__new__"):
            owner = next((k for k in cls.__mro__ if hook in vars(k)), object)
            if owner is object:
                continue
            if hook == "__new__" and issubclass(owner, tuple) and owner._fields:
                continue  # a named tuple's: it builds the tuple of its fields
            where = f"{owner.__module__}.{owner.__qualname__}"
            assert hook == "__setstate__" and where in audited, (name, hook, where)


class _Custom(BaseEstimator):
    def fit(self, X, y=None):
        self.fitted_ = True
        return self


def test_load_refuses_types_outside_the_list():
    X, y, _ = _table()
    model = Unlearnable(Ridge()).fit(X[_NUM].fillna(0), y)
    model.extra_ = _Custom().fit(None)
    buffer = io.BytesIO()
    dump(model, buffer)
    from skops.io.exceptions import UntrustedTypesFoundException

    with pytest.raises(UntrustedTypesFoundException, match="_Custom"):
        load(io.BytesIO(buffer.getvalue()))


def test_loaded_model_keeps_its_fingerprint_key_and_dtypes():
    X, y, _ = _table()
    model = Unlearnable(make_pipeline(_columns(), LogisticRegression())).fit(X, y)
    loaded = _save_load(model, "skops")
    assert loaded.ledger_.fingerprint_key == model.ledger_.fingerprint_key
    assert loaded.ledger_.dtypes == {c: str(X[c].dtype) for c in X.columns}
    # a clone fits a new ledger, with a key of its own
    refit = clone(loaded).fit(X, y)
    assert refit.ledger_.fingerprint_key != model.ledger_.fingerprint_key


@pytest.mark.parametrize("how", ["pickle", "skops"])
@pytest.mark.parametrize("fmt", ["csr_matrix", "csc_array"])
def test_sparse_rows_round_trip(fmt, how):
    import scipy.sparse as sp

    X = getattr(sp, fmt)(sp.random(60, 6, density=0.3, random_state=0))
    y = np.arange(60) % 2
    for est in (
        Unlearnable(LogisticRegression()),
        Unlearnable(DecisionTreeClassifier(random_state=0)),
    ):
        model = est.fit(X, y)
        assert model.ledger_.X is not None and type(model.ledger_.X) is type(X)
        check_round_trip(model, X, y, how)


def test_pandas_string_columns_load_with_the_trusted_types(tmp_path):
    # pandas 3 reads text as its string dtype, which the encoders' strategies
    # record: a model fit on such a frame loads with the package's list.
    pd = pytest.importorskip("pandas")
    from sklearn.compose import make_column_transformer
    from sklearn.preprocessing import OneHotEncoder

    import skunlearn.io

    frame = pd.DataFrame(
        {
            "city": pd.array(["lyon", "oslo", "lyon", "rome"] * 5, dtype="string"),
            "age": np.arange(20, dtype=float),
        }
    )
    model = Unlearnable(
        make_column_transformer((OneHotEncoder(), ["city"]), remainder="passthrough")
    ).fit(frame)
    skunlearn.io.dump(model, tmp_path / "m.skops")
    loaded = skunlearn.io.load(tmp_path / "m.skops")
    np.testing.assert_array_equal(loaded.transform(frame), model.transform(frame))
    loaded.unlearn(frame.iloc[:2])
    model.unlearn(frame.iloc[:2])
    np.testing.assert_array_equal(loaded.transform(frame), model.transform(frame))
