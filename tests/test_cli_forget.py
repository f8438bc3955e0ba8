"""``skunlearn forget``: requests a team can run twice, outputs, the receipt."""

import hashlib
import hmac
import json
import os
import shutil

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

import skunlearn.cli as cli
from skunlearn import Unlearnable
from skunlearn.cli import load_model, main, save_model, trusted_types
from skunlearn.ensemble import (
    UnlearningForestClassifier,
    UnlearningGradientBoostingClassifier,
)
from skunlearn.pipeline import Pipeline

pd = pytest.importorskip("pandas")
pytest.importorskip("skops")

FEATURES = ["age", "income", "plan", "zip"]


def customer_table(n=120, seed=0):
    """A compliance team's table: NaN, categories, leading zeros, an id, e-mail."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "email": [f"user{i}@example.com" for i in range(n)],
            "age": rng.integers(18, 90, n).astype(float),
            "income": rng.normal(50, 10, n).round(2),
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "zip": rng.choice(["02139", "10001", "94105", "00501"], n),
        }
    )
    table.loc[[5, 17, 30, 44, 71], "age"] = np.nan
    table.loc[[8, 17, 52, 90], "plan"] = np.nan
    table["plan"] = table["plan"].astype("category")
    churned = (rng.random(n) > 0.5).astype(int)
    return table, churned


def preprocessing():
    return ColumnTransformer(
        [
            (
                "num",
                sk_make_pipeline(SimpleImputer(), StandardScaler()),
                ["age", "income"],
            ),
            (
                "cat",
                sk_make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                ["plan", "zip"],
            ),
        ]
    )


MODELS = {
    "Unlearnable(sklearn Pipeline)": lambda: Unlearnable(
        sk_make_pipeline(preprocessing(), LogisticRegression())
    ),
    "skunlearn Pipeline": lambda: Pipeline(
        [("prep", preprocessing()), ("clf", LogisticRegression())]
    ),
    # the families built for deletion, behind the same preprocessing
    "skunlearn Pipeline, forest": lambda: Pipeline(
        [
            ("prep", preprocessing()),
            ("clf", UnlearningForestClassifier(n_estimators=10, random_state=0)),
        ]
    ),
    "skunlearn Pipeline, gradient boosting": lambda: Pipeline(
        [
            ("prep", preprocessing()),
            ("clf", UnlearningGradientBoostingClassifier(max_iter=10, random_state=0)),
        ]
    ),
}


def spreadsheet_csv(path, rows):
    """Rows as a spreadsheet exports them: BOM, ';', CRLF, columns reordered."""
    columns = ["email", "zip", "plan", "customer_id", "income", "age"]
    rows[columns].to_csv(
        path, index=False, sep=";", lineterminator="\r\n", encoding="utf-8-sig"
    )
    return path


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    table, churned = customer_table()
    model = MODELS["Unlearnable(sklearn Pipeline)"]().fit(table[FEATURES], churned)
    path = tmp_path_factory.mktemp("story") / "model.skops"
    save_model(model, path)
    return table, churned, model, path


def forget(*args):
    return main(["forget", *map(str, args)])


def receipt_of(path):
    return json.loads(path.read_text())


def canonical_digest(key, columns, target, rows):
    """The keyed request digest, written from docs/receipt.md alone."""

    def cell(v):
        if v is None or (isinstance(v, float) and v != v):
            return None
        if isinstance(v, str):
            return ["s", v]
        return ["n", repr(float(v) + 0.0)]

    def dump(obj):
        return json.dumps(
            obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True
        )

    head = dump({"columns": columns, "encoding": "skunlearn.rows/1", "target": target})
    body = sorted(dump([cell(v) for v in row]) for row in rows)
    message = head + "\n" + "".join(r + "\n" for r in body)
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


# ------------------------------------------------------------- the story
@pytest.mark.parametrize("make", list(MODELS.values()), ids=list(MODELS))
def test_compliance_story_end_to_end(tmp_path, capsys, make):
    table, churned = customer_table()
    model = make().fit(table[FEATURES], churned)
    save_model(model, tmp_path / "model.skops")
    assert trusted_types(tmp_path / "model.skops")[1] == []  # Counter included

    # The request: NaN (17: age and plan), leading zeros, a category; as a
    # spreadsheet exports it, with the id and e-mail columns.
    erase = [3, 17, 42, 52, 99]
    assert "02139" in set(table.loc[erase, "zip"])
    request = spreadsheet_csv(tmp_path / "request.csv", table.loc[erase])
    assert request.read_bytes().startswith(b"\xef\xbb\xbfemail;zip;plan;")
    key = tmp_path / "receipt.key"
    key.write_bytes(os.urandom(32))
    out, receipt = tmp_path / "model-v2.skops", tmp_path / "receipt.json"
    args = [
        tmp_path / "model.skops",
        "--rows",
        request,
        "--output",
        out,
        "--report",
        receipt,
        "--request-id",
        "GDPR-2026-117",
        "--receipt-key",
        key,
    ]

    # The id and e-mail columns are refused until ignored; nothing is written.
    assert forget(*args) == 1
    assert "['email', 'customer_id']" in capsys.readouterr().err
    assert not out.exists() and not receipt.exists()
    assert forget(*args, "--extra-columns", "ignore") == 0
    assert "Forgot 5 rows" in capsys.readouterr().out

    # The new model is a refit on the retained rows.
    new = load_model(out)
    keep = np.setdiff1d(np.arange(len(table)), erase)
    gold = clone(make()).fit(table[FEATURES].iloc[keep], churned[keep])
    np.testing.assert_array_equal(
        new.predict(table[FEATURES]), gold.predict(table[FEATURES])
    )
    np.testing.assert_allclose(
        new.predict_proba(table[FEATURES]),
        gold.predict_proba(table[FEATURES]),
        rtol=1e-6,
        atol=1e-8,
    )
    assert new.ledger_.n_rows == len(keep)

    # The receipt.
    data = receipt_of(receipt)
    assert data["schema"] == "skunlearn.receipt/1"
    assert data["request_id"] == "GDPR-2026-117" and data["status"] == "applied"
    assert data["rows"] == {
        "asked": 5,
        "removed": 5,
        "absent": 0,
        "absent_lines": [],
        "blank_lines": [],
    }
    assert data["request"]["ignored_columns"] == ["email", "customer_id"]
    assert data["model"]["guarantee"] == "exact"
    assert data["model"]["rows_before"] == len(table)
    assert data["model"]["rows_after"] == len(keep)
    [step] = data["steps"]
    assert step["guarantee"] == "exact" and step["n_removed"] == 5
    assert step["strategy"] == new.unlearn_history_[-1]["strategy"]
    assert any(c["strategy"] == "imputer_counts" for c in step["components"])
    files = data["files"]
    sha = hashlib.sha256
    assert (
        files["model"]["sha256"]
        == sha((tmp_path / "model.skops").read_bytes()).hexdigest()
    )
    assert files["output"]["sha256"] == sha(out.read_bytes()).hexdigest()
    assert (
        files["request"]["hmac_sha256"]
        == hmac.new(key.read_bytes(), request.read_bytes(), sha).hexdigest()
    )
    assert data["key"]["source"] == "file" and len(data["key"]["id"]) == 16
    assert data["timing"]["seconds_total"] >= data["timing"]["seconds_unlearn"] > 0
    # The keyed digest, recomputed from the documented encoding and the rows.
    rows = table.loc[erase, FEATURES].astype(object).to_numpy().tolist()
    expected = canonical_digest(key.read_bytes(), FEATURES, None, rows)
    assert data["request"]["digest"]["asked"] == expected
    assert data["request"]["digest"]["removed"] == expected
    # Nothing personal in the receipt: no e-mail, no id, no key.
    text = receipt.read_text()
    for value in ["example.com", "C00003", key.read_bytes().hex()]:
        assert value not in text

    # The retry: the rows are gone. An error by default; with --missing skip,
    # nothing is forgotten, exit 0, and both outputs are still written.
    again, receipt2 = tmp_path / "model-v3.skops", tmp_path / "receipt2.json"
    retry = [
        out,
        "--rows",
        request,
        "--output",
        again,
        "--report",
        receipt2,
        "--request-id",
        "GDPR-2026-117",
        "--receipt-key",
        key,
        "--extra-columns",
        "ignore",
    ]
    assert forget(*retry) == 1
    assert "applied already" in capsys.readouterr().err
    assert not again.exists() and not receipt2.exists()
    assert forget(*retry, "--missing", "skip") == 0
    data2 = receipt_of(receipt2)
    assert data2["status"] == "nothing_removed" and data2["steps"] == []
    assert data2["rows"]["removed"] == 0
    assert data2["rows"]["absent_lines"] == [2, 3, 4, 5, 6]
    assert again.read_bytes() == out.read_bytes()  # the model, unchanged
    assert data2["files"]["output"]["sha256"] == data["files"]["output"]["sha256"]
    assert data2["request"]["digest"]["asked"] == expected
    assert data2["request"]["digest"]["removed"] == canonical_digest(
        key.read_bytes(), FEATURES, None, []
    )


def test_skunlearn_pipeline_forgets_after_a_joblib_round_trip(tmp_path):
    table, churned = customer_table()
    model = MODELS["skunlearn Pipeline"]().fit(table[FEATURES], churned)
    save_model(model, tmp_path / "model.joblib")
    table.loc[[1, 2], FEATURES].to_csv(tmp_path / "r.csv", index=False)
    status = forget(
        tmp_path / "model.joblib",
        "--rows",
        tmp_path / "r.csv",
        "--output",
        tmp_path / "new.joblib",
        "--allow-pickle",
    )
    assert status == 0


# ------------------------------------------------------- missing rows
def test_missing_skip_forgets_the_rows_present(tmp_path, capsys, story):
    table, churned, _, path = story
    rows = table.loc[[1, 2, 3], FEATURES].copy()
    rows.loc[2, "income"] += 1000.0  # not a training row
    request = tmp_path / "r.csv"
    rows.to_csv(request, index=False)
    out, receipt = tmp_path / "new.skops", tmp_path / "receipt.json"
    status = forget(
        path,
        "--rows",
        request,
        "--output",
        out,
        "--report",
        receipt,
        "--missing",
        "skip",
    )
    assert status == 0
    assert "1 of the 3 rows were absent (line(s) 3)" in capsys.readouterr().out
    data = receipt_of(receipt)
    assert data["rows"]["removed"] == 2 and data["rows"]["absent_lines"] == [3]
    assert data["request"]["digest"]["asked"] != data["request"]["digest"]["removed"]
    assert data["key"]["source"] == "model"  # no --receipt-key: the model's own
    keep = np.setdiff1d(np.arange(len(table)), [1, 3])
    gold = clone(story[2]).fit(table[FEATURES].iloc[keep], churned[keep])
    new = load_model(out)
    np.testing.assert_allclose(
        new.predict_proba(table[FEATURES]),
        gold.predict_proba(table[FEATURES]),
        rtol=1e-6,
        atol=1e-8,
    )


def test_unknown_row_names_line_and_differing_columns_never_values(tmp_path, capsys):
    # A model that keeps its training rows (the retrain strategy).
    table, churned = customer_table()
    numeric = table[["age", "income"]].fillna(0.0)
    model = Unlearnable(DecisionTreeClassifier(random_state=0)).fit(numeric, churned)
    save_model(model, tmp_path / "model.skops")
    rows = numeric.iloc[[4, 6, 9]].copy()
    rows.iloc[1, 1] = 12345.67  # line 3: the income differs
    rows.to_csv(tmp_path / "r.csv", index=False)
    out = tmp_path / "new.skops"
    status = forget(
        tmp_path / "model.skops", "--rows", tmp_path / "r.csv", "--output", out
    )
    err = capsys.readouterr().err
    assert status == 1 and not out.exists()
    assert "1 of the 3 rows" in err and "line(s) 3" in err
    assert (
        "line 3: the nearest training row differs in 1 of 2 columns: ['income']" in err
    )
    assert "--missing skip" in err and "not written" in err
    # Neither the training row's values nor anyone else's.
    for value in numeric.iloc[6].tolist() + [12345.67]:
        assert str(value) not in err


def test_unknown_rows_without_kept_rows_say_so(tmp_path, capsys, story):
    table, _, _, path = story
    rows = table.loc[[1], FEATURES].copy()
    rows["zip"] = "99999"
    rows.to_csv(tmp_path / "r.csv", index=False)
    status = forget(
        path, "--rows", tmp_path / "r.csv", "--output", tmp_path / "o.skops"
    )
    err = capsys.readouterr().err
    assert status == 1 and "line(s) 2" in err
    assert "nearest training row differs in 1 of 4 columns: ['zip']" in err
    assert "99999" not in err


# ------------------------------------------------------------- outputs
def _no_leftovers(directory):
    return not [p for p in os.listdir(directory) if p.startswith(".skunlearn-")]


@pytest.fixture
def request_csv(tmp_path, story):
    table = story[0]
    table.loc[[1, 2], FEATURES].to_csv(tmp_path / "r.csv", index=False)
    return tmp_path / "r.csv"


def test_every_output_path_is_checked_before_anything_is_written(
    tmp_path, capsys, story, request_csv
):
    path = story[3]
    out = tmp_path / "new.skops"
    cases = {
        "does not exist": ["--output", out, "--report", tmp_path / "no" / "r.json"],
        "is a directory": ["--output", tmp_path],
        "is the --rows file": ["--output", request_csv],
        "is the MODEL file": ["--output", out, "--report", path],
        "the same file": ["--output", out, "--report", out],
    }
    for message, extra in cases.items():
        status = forget(path, "--rows", request_csv, *extra)
        err = capsys.readouterr().err
        assert status == 2, message
        assert message in err, err
        assert not out.exists() and _no_leftovers(tmp_path)
    (tmp_path / "file").write_text("")
    assert forget(path, "--rows", request_csv, "--output", tmp_path / "file" / "o") == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="permissions do not bind root",
)
def test_an_unwritable_directory_is_refused_first(tmp_path, capsys, story, request_csv):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        status = forget(
            story[3],
            "--rows",
            request_csv,
            "--output",
            tmp_path / "new.skops",
            "--report",
            locked / "r.json",
        )
    finally:
        locked.chmod(0o700)
    assert status == 2 and "cannot write" in capsys.readouterr().err
    assert not (tmp_path / "new.skops").exists()


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failure_while_saving_leaves_no_half_written_file(
    tmp_path, capsys, monkeypatch, story, request_csv, failure
):
    out, receipt = tmp_path / "new.skops", tmp_path / "receipt.json"
    out.write_bytes(b"the previous model")

    def broken_dump(model, path, *, skops):
        with open(path, "wb") as f:
            f.write(b"half a model")
        raise failure

    monkeypatch.setattr(cli, "_dump", broken_dump)
    status = forget(
        story[3], "--rows", request_csv, "--output", out, "--report", receipt
    )
    err = capsys.readouterr().err
    assert status == (130 if isinstance(failure, KeyboardInterrupt) else 1)
    assert "nothing" in err.lower()
    assert out.read_bytes() == b"the previous model" and not receipt.exists()
    assert _no_leftovers(tmp_path)


def test_output_may_replace_the_input_model(tmp_path, capsys, story, request_csv):
    path = tmp_path / "model.skops"
    shutil.copy(story[3], path)
    before = path.read_bytes()
    receipt = tmp_path / "receipt.json"
    status = forget(path, "--rows", request_csv, "--output", path, "--report", receipt)
    assert status == 0, capsys.readouterr().err
    data = receipt_of(receipt)
    assert data["files"]["model"]["sha256"] == hashlib.sha256(before).hexdigest()
    assert (
        data["files"]["output"]["sha256"]
        == hashlib.sha256(path.read_bytes()).hexdigest()
    )
    assert load_model(path).ledger_.n_rows == story[2].ledger_.n_rows - 2
    assert _no_leftovers(tmp_path)


# ------------------------------------------------------------- receipt
def test_receipt_digest_ignores_the_file_layout(tmp_path, capsys, story):
    table, _, _, path = story
    key = tmp_path / "key"
    key.write_bytes(b"0123456789abcdef-the-team-secret")
    rows = table.loc[[10, 11, 12]]
    table.loc[[12, 10, 11], FEATURES].to_csv(tmp_path / "a.csv", index=False)
    spreadsheet_csv(tmp_path / "b.csv", rows)
    digests = []
    for name, extra in [("a", []), ("b", ["--extra-columns", "ignore"])]:
        status = forget(
            path,
            "--rows",
            tmp_path / f"{name}.csv",
            "--output",
            tmp_path / f"{name}.skops",
            "--report",
            tmp_path / f"{name}.json",
            "--receipt-key",
            key,
            *extra,
        )
        assert status == 0, capsys.readouterr().err
        digests.append(receipt_of(tmp_path / f"{name}.json")["request"]["digest"])
    assert digests[0] == digests[1]
    other = tmp_path / "other-key"
    other.write_bytes(b"another-secret-of-32-bytes-long!")
    forget(
        path,
        "--rows",
        tmp_path / "a.csv",
        "--output",
        tmp_path / "c.skops",
        "--report",
        tmp_path / "c.json",
        "--receipt-key",
        other,
    )
    assert receipt_of(tmp_path / "c.json")["request"]["digest"] != digests[0]


def test_receipt_key_is_checked_first(tmp_path, capsys, story, request_csv):
    key = tmp_path / "key"
    key.write_bytes(b"short")
    out = tmp_path / "new.skops"
    status = forget(
        story[3], "--rows", request_csv, "--output", out, "--receipt-key", key
    )
    assert status == 2 and "at least 16" in capsys.readouterr().err
    assert not out.exists() and _no_leftovers(tmp_path)


def test_receipt_without_any_key_has_no_digest(tmp_path):
    from types import SimpleNamespace

    key, info = cli._receipt_key(None, SimpleNamespace(fingerprint_key=None))
    assert key is None and info == {"source": "none", "id": None}
    key, info = cli._receipt_key(None, SimpleNamespace(fingerprint_key=b"k" * 32))
    assert info["source"] == "model" and key != b"k" * 32  # derived, not the key


def test_generated_request_id_is_in_model_and_receipt(tmp_path, story, request_csv):
    out, receipt = tmp_path / "new.skops", tmp_path / "receipt.json"
    assert (
        forget(story[3], "--rows", request_csv, "--output", out, "--report", receipt)
        == 0
    )
    data = receipt_of(receipt)
    assert data["request_id_source"] == "generated"
    assert data["request_id"].startswith("skunlearn-")
    assert load_model(out).unlearn_history_[-1]["request_id"] == data["request_id"]


# ------------------------------------------------------- trusted types
def test_trusted_types_take_counter_and_nonetype_only():
    trusted, refused = cli._split_types(
        [
            "collections.Counter",
            "builtins.NoneType",
            "collections.namedtuple",
            "collections.abc.Callable",
            "builtins.eval",
        ]
    )
    assert trusted == ["collections.Counter", "builtins.NoneType"]
    assert refused == [
        "collections.namedtuple",
        "collections.abc.Callable",
        "builtins.eval",
    ]


def test_most_frequent_imputer_loads(tmp_path):
    X = np.array([["a", "x"], ["b", "y"], ["a", np.nan]] * 4, dtype=object)
    model = Unlearnable(SimpleImputer(strategy="most_frequent")).fit(X)
    save_model(model, tmp_path / "m.skops")
    assert trusted_types(tmp_path / "m.skops")[1] == []
    loaded = load_model(tmp_path / "m.skops")
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


def test_a_headerless_row_with_a_typo_is_never_taken_as_a_header(tmp_path, capsys):
    from sklearn.linear_model import Ridge

    rng = np.random.RandomState(0)
    X = rng.randn(30, 3).round(3)
    save_model(Unlearnable(Ridge()).fit(X, rng.randn(30)), tmp_path / "m.skops")
    lines = [",".join(map(repr, row)) for row in X[:3].tolist()]
    lines[0] = lines[0].replace(".", "O", 1)  # a typo in the first row
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "new.skops"
    status = forget(tmp_path / "m.skops", "--rows", tmp_path / "r.csv", "--output", out)
    assert status == 1 and not out.exists()
    assert "cannot tell whether line 1 is a header" in capsys.readouterr().err
    # Told it is data, the row is read as such and the typo found, not swallowed.
    status = forget(
        tmp_path / "m.skops",
        "--rows",
        tmp_path / "r.csv",
        "--output",
        out,
        "--header",
        "no",
    )
    assert status == 1 and not out.exists()
    # the model's columns are float64 (its ledger records its training dtypes)
    assert "line 1, column 'x0': not a number" in capsys.readouterr().err
