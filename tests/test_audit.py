"""The five-step audit, its report and its Display."""

import json
import sys

import matplotlib
import numpy as np
import pytest
from sklearn.base import clone
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
