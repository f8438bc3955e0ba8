"""The five-step audit, its report and its Display."""

import json
import sys

import matplotlib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from skunlearn import Unlearnable
from skunlearn.audit import LossDistributionDisplay, UnlearningReport, audit_unlearning

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def ridge_report():
    X, y = load_diabetes(return_X_y=True)
    return audit_unlearning(Unlearnable(Ridge()), X, y, random_state=0)


def test_random_forget_exact_unlearner_equals_gold(ridge_report):
    r = ridge_report
    assert isinstance(r, UnlearningReport)
    n = 442
    assert r.info["n_test"] == 111  # ceil(0.25 * 442), as train_test_split
    assert r.info["n_train"] + r.info["n_test"] == n
    assert r.info["n_forget"] == round(0.1 * r.info["n_train"])
    assert r.info["n_retain"] == r.info["n_train"] - r.info["n_forget"]
    assert r.info["task"] == "regression" and r.info["exact"]
    assert r.info["strategy"] == "closed_form"
    u, g = r.metrics["unlearned"], r.metrics["gold_standard"]
    for key in (
        "score_forget",
        "score_retain",
        "score_test",
        "mia_auc",
        "forget_score",
    ):
        assert u[key] == pytest.approx(g[key], rel=1e-9)
    assert u["agreement_test"] == 1.0 and u["relative_error_test"] < 1e-9
    assert r.metrics["original"]["relative_error_test"] > 0
    assert r.speedup == pytest.approx(g["seconds"] / u["seconds"])
    for model in ("original", "unlearned", "gold_standard"):
        assert r.losses[model]["forget"].shape == (r.info["n_forget"],)
        assert r.losses[model]["unseen"].shape == (r.info["n_test"],)


def test_report_table_dict_and_frame(ridge_report):
    text = str(ridge_report)
    for word in ("original", "unlearned", "gold standard", "MIA AUC", "forget_score"):
        assert word in text
    assert repr(ridge_report) == text
    data = json.loads(json.dumps(ridge_report.to_dict()))
    assert set(data["metrics"]) == {"original", "unlearned", "gold_standard"}
    assert "losses" in ridge_report.to_dict(include_losses=True)
    frame = ridge_report.to_frame()
    assert list(frame.index) == ["original", "unlearned", "gold_standard"]
    assert frame.loc["unlearned", "agreement_test"] == 1.0


def test_to_frame_without_pandas_says_so(ridge_report, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="requires pandas"):
        ridge_report.to_frame()


def test_forget_a_class():
    X, y = load_iris(return_X_y=True)
    r = audit_unlearning(Unlearnable(LogisticRegression(max_iter=500)), X, y, forget=2)
    assert r.info["forget"] == "every row of class 2"
    assert r.info["n_forget"] == int(np.sum(y == 2)) - r.info["n_unseen"]
    g = r.metrics["gold_standard"]
    # The gold standard has never seen class 2: it cannot predict it.
    assert g["score_forget"] == 0.0
    assert r.metrics["original"]["score_forget"] > 0.9
    assert r.metrics["unlearned"]["agreement_test"] > 0.97


def test_forget_a_mask_keeps_the_marked_rows_in_training():
    X, y = load_breast_cancer(return_X_y=True)
    mask = np.zeros(y.size, dtype=bool)
    mask[:40] = True
    r = audit_unlearning(
        Unlearnable(DecisionTreeClassifier(random_state=0)), X, y, forget=mask
    )
    assert r.info["n_forget"] == 40
    assert r.info["n_train"] + r.info["n_test"] == y.size
    u, g = r.metrics["unlearned"], r.metrics["gold_standard"]
    assert u["agreement_test"] == 1.0 and u["score_test"] == g["score_test"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"forget_size": 0.0001}, "forget_size"),
        ({"forget": np.ones(3, dtype=bool)}, "boolean array"),
        ({"forget": 7}, "class"),
    ],
)
def test_bad_forget_requests(kwargs, message):
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match=message):
        audit_unlearning(Unlearnable(Ridge()), X, y, **kwargs)


def test_display_from_report_and_from_estimator(ridge_report):
    import matplotlib.pyplot as plt

    display = LossDistributionDisplay.from_report(ridge_report)
    assert len(display.ax_) == 3
    titles = [a.get_title() for a in display.ax_]
    assert titles[0].startswith("original") and "forget_score" in titles[1]
    assert display.ax_[0].get_xscale() == "log"
    plt.close(display.figure_)

    X, y = load_breast_cancer(return_X_y=True)
    logistic = make_pipeline(StandardScaler(), LogisticRegression())
    model = Unlearnable(logistic).fit(X[:400], y[:400])
    model.unlearn(X[:40], y[:40])
    fig, axes = plt.subplots(1, 2)
    display = LossDistributionDisplay.from_estimator(
        model,
        X[:40],
        y[:40],
        X[40:400],
        y[40:400],
        X[400:],
        y[400:],
        gold_standard=clone(logistic).fit(X[40:400], y[40:400]),
        ax=axes,
    )
    assert display.figure_ is fig
    assert display.ax_[0].get_xscale() == "logit"
    assert [a.get_title().split()[0] for a in display.ax_] == ["unlearned", "gold"]
    with pytest.raises(ValueError, match="one per model"):
        display.plot(ax=axes[:1])
    plt.close(fig)


def test_forget_a_class_given_by_name_with_dataframes():
    from sklearn.datasets import load_wine

    data = load_wine(as_frame=True)
    y = data.target.map({0: "barolo", 1: "grignolino", 2: "barbera"})
    est = Unlearnable(make_pipeline(StandardScaler(), LogisticRegression()))
    r = audit_unlearning(est, data.data, y, forget="grignolino")
    assert r.info["forget"] == "every row of class 'grignolino'"
    assert r.metrics["gold_standard"]["score_forget"] == 0.0
    assert r.metrics["unlearned"]["agreement_test"] == 1.0


def test_clusterers_are_audited_by_distance_to_centre():
    from sklearn.cluster import KMeans
    from sklearn.datasets import load_iris

    from skunlearn import Unlearnable
    from skunlearn.metrics import per_sample_loss

    X, y = load_iris(return_X_y=True)
    km = KMeans(n_clusters=3, n_init=2, random_state=0).fit(X)
    expected = ((X[:, None, :] - km.cluster_centers_[None]) ** 2).sum(2).min(1)
    np.testing.assert_allclose(per_sample_loss(km, X, y), expected, rtol=1e-10)
    report = audit_unlearning(
        Unlearnable(KMeans(n_clusters=3, n_init=2, random_state=0)), X, y
    )
    assert report.info["task"] == "clustering"
    assert report.info["loss_kind"] == "squared_distance_to_centre"
    gold = report.metrics["gold_standard"]
    assert gold["score_retain"] < 0  # minus a mean squared distance
    assert report.metrics["unlearned"]["agreement_test"] == 1.0


# ------------------------------------------------- a whole class, every family
def _family(name):
    from sklearn.neighbors import KNeighborsClassifier

    from skunlearn.ensemble import SISAClassifier, UnlearningForestClassifier

    if name == "logistic":
        return Unlearnable(LogisticRegression(max_iter=500))
    if name == "knn":
        return Unlearnable(KNeighborsClassifier())
    if name == "forest":
        return UnlearningForestClassifier(n_estimators=10, random_state=0)
    if name == "sisa":
        return SISAClassifier(
            LogisticRegression(max_iter=500), n_shards=2, random_state=0
        )
    torch = pytest.importorskip("torch")
    pytest.importorskip("skorch")
    from skunlearn.neural_net import UnlearningNeuralNetClassifier

    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(13, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3)
    )
    # the module keeps three outputs: a net retrained without a class has a
    # probability column more than its classes_ has entries
    return UnlearningNeuralNetClassifier(
        module,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=0.01,
        max_epochs=20,
        train_split=None,
        verbose=0,
    )


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("family", ["logistic", "knn", "forest", "sisa", "net"])
@pytest.mark.parametrize("forgotten", [0, 1])
def test_forget_a_whole_class_for_every_family(family, forgotten):
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    r = audit_unlearning(
        _family(family), X, y, forget=forgotten, random_state=0, n_resamples=200
    )
    g, u = r.metrics["gold_standard"], r.metrics["unlearned"]
    # the gold standard never saw the class; neither should the unlearned model
    assert g["score_forget"] == 0.0
    assert u["score_forget"] <= 0.05
    for row in (g, u):
        assert 0.0 <= row["js_divergence_test"] <= 1.0
        assert row["mia_auc_low"] <= row["mia_auc"] <= row["mia_auc_high"]
    assert set(r.verdict) >= {"mia_auc", "score_forget", "score_test", "summary"}
    assert "verdict" in r.info and "Verdict:" in str(r)
    display = r.plot()
    assert len(display.ax_) == 3 and "[" in display.ax_[1].get_title()
    plt.close(display.figure_)
    models = r.estimators
    other = np.flatnonzero(y != forgotten)
    display = LossDistributionDisplay.from_estimator(
        models["unlearned"],
        X[y == forgotten],
        y[y == forgotten],
        X[other[::2]],
        y[other[::2]],
        X[other[1::2]],
        y[other[1::2]],
        gold_standard=models["gold_standard"],
    )
    assert len(display.ax_) == 2
    plt.close(display.figure_)


# ----------------------------------------------------------------- the verdict
def _noop_unlearner():
    from sklearn.base import ClassifierMixin

    from skunlearn.base import UnlearningMixin, UnlearnUpdate

    class Noop(UnlearningMixin, ClassifierMixin, BaseEstimator):
        _unlearning_guarantee = "approximate"

        def fit(self, X, y):
            self.tree_ = DecisionTreeClassifier(random_state=0).fit(X, y)
            self.classes_ = self.tree_.classes_
            self._init_ledger(X, y, keep_X=False)
            return self

        def predict(self, X):
            return self.tree_.predict(X)

        def predict_proba(self, X):
            return self.tree_.predict_proba(X)

        def _unlearn(self, match, X, y, **params):
            return UnlearnUpdate(attributes={}, strategy="noop", exact=False)

    return Noop()


def test_verdict_compares_within_the_noise(ridge_report):
    v = ridge_report.verdict
    # an exact unlearner is the gold standard: every difference is 0 (to the
    # closed form's rounding)
    for key in ("mia_auc", "score_forget", "score_test"):
        for bound in ("difference", "low", "high"):
            assert v[key][bound] == pytest.approx(0.0, abs=1e-9)
        assert v[key]["call"] == "within noise"
    assert v["summary"].startswith("indistinguishable")
    data = json.loads(json.dumps(ridge_report.to_dict()))
    assert data["verdict"]["summary"] == v["summary"]
    # an unlearner that forgets nothing, on noisy labels a tree memorises:
    # the forget rows are still fitted, and the verdict says so
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=400, flip_y=0.3, random_state=0)
    r = audit_unlearning(_noop_unlearner(), X, y, n_resamples=300)
    assert r.verdict["mia_auc"]["call"] == "remembers the forget rows"
    assert r.verdict["mia_auc"]["low"] > 0
    assert r.verdict["score_forget"]["call"] == "fits the forget rows better"
    assert r.info["verdict"].startswith("differs from the gold standard")


# ------------------------------------------------------ the per-example attack
def test_per_example_attack_in_the_audit():
    X, y = load_breast_cancer(return_X_y=True)
    est = Unlearnable(make_pipeline(StandardScaler(), LogisticRegression()))
    plain = audit_unlearning(est, X, y, n_resamples=200)
    r = audit_unlearning(est, X, y, n_resamples=200, n_shadow=4)
    assert plain.per_example == {} and plain.info["n_shadow"] == 0
    assert "per_example_auc" not in plain.verdict
    assert "Per-example" not in str(plain)
    # the attack is seeded after everything else: the rest is unchanged
    for model, row in plain.metrics.items():
        for key in ("mia_auc", "mia_auc_low", "score_forget", "agreement_test"):
            assert r.metrics[model][key] == row[key]
    pe = r.per_example
    assert pe["n_shadow"] == pe["n_target"] == r.info["n_shadow"] == 4
    assert pe["n_forget"] == r.info["n_forget"]
    assert pe["auc"] == 0.5 and pe["shift"] == 0.0  # exact: each pair is one model
    assert r.verdict["per_example_auc"]["call"] == "within noise"
    assert r.info["verdict"].startswith("indistinguishable")
    assert "Per-example attack (U-LiRA; 4 shadow + 4 target runs" in str(r)
    data = json.loads(json.dumps(r.to_dict()))
    assert len(data["per_example"]["example_auc"]) == r.info["n_forget"]
    with pytest.raises(ValueError, match="n_shadow must be 0"):
        audit_unlearning(est, X, y, n_shadow=2)
    # a whole class: each run forgets half of the class's rows
    X, y = load_iris(return_X_y=True)
    r = audit_unlearning(est, X, y, forget=2, n_resamples=200, n_shadow=4)
    assert r.per_example["auc"] == 0.5


def test_per_example_attack_sees_what_the_population_attack_misses():
    # one Newton step on a weakly regularised logistic regression: the loss
    # attack finds nothing, the per-example attack tells it from retraining
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    est = Unlearnable(
        LogisticRegression(C=100, max_iter=1000), strategy="newton_removal"
    )
    r = audit_unlearning(est, X, y, n_resamples=300, n_shadow=8)
    assert r.verdict["mia_auc"]["call"] == "within noise"
    call = r.verdict["per_example_auc"]["call"]
    assert call.startswith("a per-example attack tells it from retraining")
    assert r.verdict["per_example_auc"]["low"] > 0
    assert r.info["verdict"].startswith("differs from the gold standard")
