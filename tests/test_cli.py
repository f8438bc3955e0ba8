"""The ``skunlearn`` command, run for real in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import FunctionTransformer

from skunlearn import Unlearnable
from skunlearn._demo import DEMO_CASES
from skunlearn.cli import load_model, trusted_types

ROOT = Path(__file__).resolve().parents[1]


def run(*args, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "skunlearn", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def diabetes():
    data = load_diabetes(as_frame=True)
    return data.data, data.target


@pytest.fixture
def saved_model(tmp_path, diabetes):
    X, y = diabetes
    model = Unlearnable(Ridge(alpha=0.5)).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    return path


def test_help_lists_the_commands():
    result = run("--help")
    assert result.returncode == 0
    assert "demo" in result.stdout and "forget" in result.stdout


def test_demo_prints_every_family_and_writes_the_figure(tmp_path):
    figure = tmp_path / "demo.png"
    result = run("demo", "--plot", figure)
    assert result.returncode == 0, result.stderr
    for case in DEMO_CASES:
        assert case.family in result.stdout
        assert case.dataset in result.stdout
    # Diabetes (the Ridge case) is the first row of the table.
    rows = [line for line in result.stdout.splitlines() if "diabetes" in line]
    assert rows and rows[0].startswith(DEMO_CASES[0].family)
    for column in ("speed-up", "strategy", "MIA AUC", "forget_score", "agree"):
        assert column in result.stdout
    # Each row says how its model forgot (the unlearned model's history).
    rows = {line.split("  ")[0]: line for line in result.stdout.splitlines()}
    assert " closed_form " in rows[DEMO_CASES[0].family]
    forest = "random forest built for deletion"
    assert " refit " in rows[forest]  # 10% of the rows: above the 2% threshold
    # Not a terminal: no progress line, no carriage return.
    assert "\r" not in result.stdout + result.stderr
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_forget_round_trips_a_skops_model(tmp_path, saved_model, diabetes):
    X, y = diabetes
    request = X.iloc[[3, 10, 42, 100]]
    # Columns in another order: matched by name.
    request[list(reversed(X.columns))].to_csv(tmp_path / "request.csv", index=False)
    out, report = tmp_path / "new.skops", tmp_path / "report.json"
    result = run(
        "forget",
        saved_model,
        "--rows",
        tmp_path / "request.csv",
        "--output",
        out,
        "--report",
        report,
        "--request-id",
        "ticket-7",
    )
    assert result.returncode == 0, result.stderr
    assert "Forgot 4 rows" in result.stdout
    model = load_model(out)
    keep = np.setdiff1d(np.arange(len(X)), [3, 10, 42, 100])
    gold = Ridge(alpha=0.5).fit(X.iloc[keep], y.iloc[keep])
    np.testing.assert_allclose(model.coef_, gold.coef_, rtol=1e-9)
    assert model.unlearn_history_[-1]["request_id"] == "ticket-7"
    data = json.loads(report.read_text())
    assert data["schema"] == "skunlearn.receipt/1"
    assert data["rows"]["removed"] == 4 and data["request_id"] == "ticket-7"
    assert [s["guarantee"] for s in data["steps"]] == ["exact"]
    # The saved file is safe to load: every type it needs is trusted.
    assert trusted_types(out)[1] == []


def test_forget_refuses_unknown_rows_without_writing(tmp_path, saved_model, diabetes):
    X, _ = diabetes
    request = X.iloc[[0, 1, 2]].copy()
    request.iloc[1, 0] = 123.0
    request.to_csv(tmp_path / "request.csv", index=False)
    out = tmp_path / "new.skops"
    result = run(
        "forget",
        saved_model,
        "--rows",
        tmp_path / "request.csv",
        "--output",
        out,
        "--report",
        tmp_path / "r.json",
    )
    assert result.returncode == 1
    assert "1 of the 3 rows" in result.stderr and "line(s) 3" in result.stderr
    assert "not written" in result.stderr
    assert not out.exists() and not (tmp_path / "r.json").exists()


def test_forget_names_missing_and_extra_columns(tmp_path, saved_model, diabetes):
    X, _ = diabetes
    X.iloc[:2].rename(columns={"bmi": "BMI"}).to_csv(tmp_path / "r.csv", index=False)
    result = run(
        "forget",
        saved_model,
        "--rows",
        tmp_path / "r.csv",
        "--output",
        tmp_path / "o.skops",
    )
    assert result.returncode == 1
    assert "missing ['bmi']" in result.stderr and "unexpected ['BMI']" in result.stderr
    assert not (tmp_path / "o.skops").exists()


def test_forget_refuses_a_pickle_without_the_flag(tmp_path, diabetes):
    X, y = diabetes
    model = Unlearnable(Ridge()).fit(X.to_numpy(), y.to_numpy())
    joblib.dump(model, tmp_path / "model.pkl")
    # No feature names: columns by position; a numeric first line is data.
    np.savetxt(tmp_path / "r.csv", X.to_numpy()[:5], delimiter=",")
    out = tmp_path / "new.pkl"
    result = run(
        "forget", tmp_path / "model.pkl", "--rows", tmp_path / "r.csv", "--output", out
    )
    assert result.returncode == 2
    assert "--allow-pickle" in result.stderr
    assert not out.exists()
    result = run(
        "forget",
        tmp_path / "model.pkl",
        "--rows",
        tmp_path / "r.csv",
        "--output",
        out,
        "--allow-pickle",
    )
    assert result.returncode == 0, result.stderr
    assert joblib.load(out).ledger_.n_rows == len(X) - 5


@pytest.mark.parametrize(
    "make",
    [
        lambda X, y: Unlearnable(Ridge()).fit(X, y),
        lambda X, y: Unlearnable(LogisticRegression()).fit(X, y > np.median(y)),
    ],
    ids=["ridge", "logistic"],
)
def test_skops_round_trip_of_unlearnable(tmp_path, make, diabetes):
    X, y = diabetes
    X, y = X.to_numpy(), y.to_numpy()
    model = make(X, y)
    path = tmp_path / "m.skops"
    sio.dump(model, path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # The loaded model still unlearns, and the result saves and loads again.
    loaded.unlearn(X[:7])
    model.unlearn(X[:7])
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-12)
    sio.dump(loaded, path)
    again = load_model(path)
    assert again.unlearn_history_[-1]["n_removed"] == 7


def test_untrusted_types_are_refused(tmp_path):
    path = tmp_path / "evil.skops"
    sio.dump(FunctionTransformer(func=np.load), path)
    assert trusted_types(path) == ([], ["numpy.load"])
    with pytest.raises(Exception, match="not trusted"):
        load_model(path)
    result = run("forget", path, "--rows", path, "--output", tmp_path / "o.skops")
    assert result.returncode == 2 and "numpy.load" in result.stderr


def test_read_request_by_name_position_and_target(tmp_path, diabetes):
    from skunlearn.cli import CommandError, read_request

    X, y = diabetes
    named = Unlearnable(Ridge()).fit(X, y)
    frame = X.iloc[:3].assign(target=y.iloc[:3])
    frame[["target", *reversed(X.columns)]].to_csv(tmp_path / "t.csv", index=False)
    request = read_request(tmp_path / "t.csv", named, target="target")
    assert list(request.X.columns) == list(X.columns)
    assert request.lines.tolist() == [2, 3, 4] and request.has_header
    np.testing.assert_allclose(request.X.to_numpy(), X.iloc[:3].to_numpy())
    np.testing.assert_allclose(request.y, y.iloc[:3])
    with pytest.raises(CommandError, match="needs a header"):
        read_request(tmp_path / "t.csv", named, header="no", target="target")
    with pytest.raises(CommandError, match="11 fields"):
        read_request(tmp_path / "t.csv", named, header="no")

    positional = Unlearnable(Ridge()).fit(X.to_numpy(), y.to_numpy())
    np.savetxt(tmp_path / "p.csv", X.to_numpy()[:4], delimiter=",")
    request = read_request(tmp_path / "p.csv", positional)
    assert request.X.shape == (4, 10) and request.y is None
    assert request.lines.tolist() == [1, 2, 3, 4] and not request.has_header
    np.testing.assert_array_equal(request.X, X.to_numpy()[:4])
    np.savetxt(tmp_path / "short.csv", X.to_numpy()[:4, :3], delimiter=",")
    with pytest.raises(CommandError, match="3 feature columns"):
        read_request(tmp_path / "short.csv", positional)


def test_demo_handles_any_case_and_reports_failures(monkeypatch, capsys):
    from sklearn.linear_model import LinearRegression
    from sklearn.naive_bayes import GaussianNB

    import skunlearn._demo as demo
    from skunlearn.cli import main

    def broken():
        raise RuntimeError("cannot build")

    cases = [
        demo.DemoCase(
            "regressor on digits", "digits", lambda: Unlearnable(LinearRegression())
        ),
        demo.DemoCase("classifier on wine", "wine", lambda: Unlearnable(GaussianNB())),
        demo.DemoCase("classifier on iris", "iris", lambda: Unlearnable(GaussianNB())),
        demo.DemoCase("a broken family", "iris", broken),
    ]
    monkeypatch.setattr(demo, "DEMO_CASES", cases)
    status = main(["demo", "--repeats", "1"])
    out = capsys.readouterr().out
    assert status == 1  # one case failed; the others are still reported
    lines = {line.split("  ")[0]: line for line in out.splitlines()}
    assert "R^2" in lines["regressor on digits"]
    assert "accuracy" in lines["classifier on wine"]
    assert "accuracy" in lines["classifier on iris"]
    assert "failed: RuntimeError: cannot build" in lines["a broken family"]


def test_progress_only_on_a_terminal():
    import io

    from skunlearn.cli import _Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    pipe, tty = io.StringIO(), Terminal()
    for stream in (pipe, tty):
        progress = _Progress(stream)
        progress.update("[1/2] working")
        progress.done()
    assert pipe.getvalue() == ""
    assert tty.getvalue().startswith("\r[1/2] working")
