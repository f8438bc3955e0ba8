"""``skunlearn forget`` reads a request CSV the way the model was trained."""

import csv

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from skunlearn import Unlearnable
from skunlearn._ledger import TrainingLedger
from skunlearn.cli import CommandError, RequestRows, read_request

pd = pytest.importorskip("pandas")


class Fitted:
    """What ``read_request`` reads of a fitted model: its ledger and features."""

    def __init__(self, X, *, keep_X=True):
        self.ledger_ = TrainingLedger(X, keep_X=keep_X)
        self.n_features_in_ = X.shape[1]
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)


def customers():
    """Training rows with every kind of column a customer table has."""
    return pd.DataFrame(
        {
            "age": [34.0, np.nan, 51.0, 28.0, 34.5, 61.0],
            "visits": np.array([3, 0, 12, 7, 3, 1], dtype=np.int64),
            "score": np.array([0.1, 0.2, 0.3, 0.7, 1e-8, 2.5], dtype=np.float32),
            "zip": pd.Series(
                ["02139", "10001", None, "00501", "02139", "1e5"], dtype=object
            ),
            "city": ["Boston", np.nan, "Oslo", 'Main St, "B"', "Boston", "NA"],
            "plan": pd.Categorical(["basic", "pro", np.nan, "plus", "basic", "pro"]),
            "member": [True, False, True, True, False, False],
        }
    )


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("keep_X", [True, False], ids=["rows-kept", "dtypes-only"])
def test_to_csv_of_the_training_frame_is_matched(tmp_path, keep_X):
    # NaN in numeric, object, string and category columns; leading zeros; a
    # string that looks like a number; float32; booleans; a quoted delimiter.
    X = customers()
    model = Fitted(X, keep_X=keep_X)
    X.to_csv(tmp_path / "r.csv", index=False)
    request = read_request(tmp_path / "r.csv", model)
    assert isinstance(request, RequestRows)
    assert request.lines.tolist() == [2, 3, 4, 5, 6, 7] and request.has_header
    assert request.X["zip"].tolist()[:2] == ["02139", "10001"]
    assert request.X["zip"].tolist()[5] == "1e5"  # text, not 100000.0
    assert request.X["city"].tolist()[5] == "NA"  # a code, not a missing value
    assert request.X["score"].dtype == np.float32
    assert pd.isna(request.X["age"].iloc[1]) and pd.isna(request.X["zip"].iloc[2])
    # The ledger finds every row, in order: the fingerprints are the training ones.
    match = model.ledger_.match(request.X)
    np.testing.assert_array_equal(match.rows, np.arange(len(X)))


def test_reordered_and_extra_columns(tmp_path):
    X = customers()
    model = Fitted(X)
    frame = X.assign(customer_id=[f"C{i}" for i in range(len(X))], email="a@b.c")
    columns = ["email", *reversed(X.columns), "customer_id"]
    frame[columns].to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(CommandError, match=r"\['email', 'customer_id'\]") as info:
        read_request(tmp_path / "r.csv", model)
    assert "--extra-columns ignore" in str(info.value)
    request = read_request(tmp_path / "r.csv", model, extra_columns="ignore")
    assert list(request.X.columns) == list(X.columns)
    assert request.ignored_columns == ["email", "customer_id"]
    np.testing.assert_array_equal(
        model.ledger_.match(request.X).rows, np.arange(len(X))
    )


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("lineterminator", ["\n", "\r\n"])
def test_dialects_and_byte_order_mark(tmp_path, delimiter, lineterminator):
    X = customers()
    model = Fitted(X)
    text = X.to_csv(index=False, sep=delimiter, lineterminator=lineterminator)
    write(tmp_path / "r.csv", text, encoding="utf-8-sig")
    request = read_request(tmp_path / "r.csv", model)
    assert request.delimiter == delimiter
    np.testing.assert_array_equal(
        model.ledger_.match(request.X).rows, np.arange(len(X))
    )
    # An explicit --delimiter reads the same.
    same = read_request(tmp_path / "r.csv", model, delimiter=delimiter)
    pd.testing.assert_frame_equal(same.X, request.X)


def test_excel_sep_line_quoted_newlines_and_line_numbers(tmp_path):
    X = pd.DataFrame({"note": ["two\nlines", "one"], "n": [3.0, 4.0]})
    model = Fitted(X)
    write(
        tmp_path / "r.csv",
        'sep=;\r\nn;note\r\n3;"two\nlines"\r\n\r\n;\r\n4;one\r\n',
        encoding="utf-8-sig",
    )
    request = read_request(tmp_path / "r.csv", model)
    assert request.delimiter == ";"
    # Line 1 is "sep=;", the header line 2; the quoted field spans 3-4, line
    # 5 is empty, line 6 has only empty cells.
    assert request.lines.tolist() == [3, 7] and request.blank_lines == [6]
    assert request.X["note"].tolist() == ["two\nlines", "one"]
    np.testing.assert_array_equal(model.ledger_.match(request.X).rows, [0, 1])


def test_a_header_is_required_with_feature_names(tmp_path):
    X = customers()[["age", "visits", "zip"]]
    model = Fitted(X)
    X.to_csv(tmp_path / "no-header.csv", index=False, header=False)
    with pytest.raises(CommandError, match="line 1 is not a header") as info:
        read_request(tmp_path / "no-header.csv", model)
    assert "--header no" in str(info.value)
    assert "02139" not in str(info.value)  # a request value is never echoed
    request = read_request(tmp_path / "no-header.csv", model, header="no")
    assert request.lines.tolist() == list(range(1, len(X) + 1))
    np.testing.assert_array_equal(
        model.ledger_.match(request.X).rows, np.arange(len(X))
    )
    # A header with a typo: named, never taken as a row.
    X.rename(columns={"age": "AGE"}).to_csv(tmp_path / "typo.csv", index=False)
    with pytest.raises(CommandError, match=r"missing \['age'\]; unexpected \['AGE'\]"):
        read_request(tmp_path / "typo.csv", model)
    write(tmp_path / "twice.csv", "age,age,visits,zip\n1,1,2,x\n")
    with pytest.raises(CommandError, match="repeats"):
        read_request(tmp_path / "twice.csv", model)
    with pytest.raises(CommandError, match="3 features"):
        write(tmp_path / "wide.csv", "1,2,3,4\n")
        read_request(tmp_path / "wide.csv", model, header="no")


@pytest.fixture(scope="module")
def numeric_model():
    rng = np.random.RandomState(0)
    return Unlearnable(Ridge()).fit(rng.randn(20, 3), rng.randn(20))


def test_header_auto_without_feature_names(tmp_path, numeric_model):
    write(tmp_path / "data.csv", "1.5,2,3\n4,5,6\n")
    request = read_request(tmp_path / "data.csv", numeric_model)
    assert not request.has_header and request.lines.tolist() == [1, 2]
    write(tmp_path / "head.csv", "a,b,c\n1.5,2,3\n")
    request = read_request(tmp_path / "head.csv", numeric_model)
    assert request.has_header and request.lines.tolist() == [2]
    # A row with a typo is neither: the line is named, nothing is guessed.
    write(tmp_path / "typo.csv", "1.5,2.O,3\n4,5,6\n")
    with pytest.raises(CommandError, match="cannot tell whether line 1 is a header"):
        read_request(tmp_path / "typo.csv", numeric_model)
    request = read_request(tmp_path / "typo.csv", numeric_model, header="yes")
    assert request.lines.tolist() == [2]
    # Read as told: the model's ledger records its training dtypes (float64
    # columns, rows not kept), so the typo is named, line and column.
    with pytest.raises(CommandError, match="line 1, column 'x1': not a number"):
        read_request(tmp_path / "typo.csv", numeric_model, header="no")


def test_header_auto_refuses_to_guess_for_a_model_of_strings(tmp_path):
    X = np.array([["a", "x"], ["b", "y"], ["c", "z"]], dtype=object)
    for keep_X in (True, False):
        model = Fitted(X, keep_X=keep_X)
        write(tmp_path / "r.csv", "a,x\nb,y\n")
        with pytest.raises(CommandError, match="--header yes or --header no"):
            read_request(tmp_path / "r.csv", model)
        request = read_request(tmp_path / "r.csv", model, header="no")
        np.testing.assert_array_equal(model.ledger_.match(request.X).rows, [0, 1])
        request = read_request(tmp_path / "r.csv", model, header="yes")
        np.testing.assert_array_equal(model.ledger_.match(request.X).rows, [1])


def test_object_array_columns_follow_the_kept_rows(tmp_path):
    # No feature names: an object array whose columns hold strings that look
    # like numbers, numbers, and both.
    X = np.array(
        [["02139", 1.5, 1], ["10001", 2.0, "x"], [None, 3.0, "007"]], dtype=object
    )
    model = Fitted(X)
    write(tmp_path / "r.csv", "10001,2.0,x\n,3,007\n02139,1.5,1\n")
    request = read_request(tmp_path / "r.csv", model, header="no")
    assert request.X[0, 0] == "10001" and request.X[2, 2] == 1.0
    assert request.X[1, 2] == "007" and request.X[1, 0] is None
    np.testing.assert_array_equal(model.ledger_.match(request.X).rows, [1, 2, 0])


def test_cells_that_cannot_be_read_name_line_and_column_only(tmp_path):
    X = customers()[["age", "member", "zip"]]
    model = Fitted(X)
    write(tmp_path / "r.csv", "age,member,zip\n34,True,02139\nabc,maybe,x\n")
    with pytest.raises(CommandError) as info:
        read_request(tmp_path / "r.csv", model)
    message = str(info.value)
    assert "line 3, column 'age': not a number" in message
    assert "line 3, column 'member': not True or False" in message
    assert "abc" not in message and "maybe" not in message


def test_decimal_comma_and_missing_markers(tmp_path, numeric_model):
    X = pd.DataFrame({"a": [1.5, np.nan, 3.25], "code": ["NA", "x", "y"]})
    model = Fitted(X)
    write(tmp_path / "r.csv", "a;code\n1,5;NA\n#N/A;x\n3,25;y\n")
    with pytest.raises(CommandError, match="line 3, column 'a'"):
        read_request(tmp_path / "r.csv", model, decimal=",")
    request = read_request(tmp_path / "r.csv", model, decimal=",", na_values=["#N/A"])
    assert request.X["code"].tolist()[0] == "NA"
    np.testing.assert_array_equal(model.ledger_.match(request.X).rows, [0, 1, 2])


def test_an_ambiguous_delimiter_is_asked_for(tmp_path):
    model = Fitted(np.array([[1.0, 2.3], [4.0, 5.6]]))
    write(tmp_path / "r.csv", "1,2;3\n4,5;6\n")
    with pytest.raises(CommandError, match="--delimiter"):
        read_request(tmp_path / "r.csv", model, header="no")
    request = read_request(
        tmp_path / "r.csv", model, header="no", delimiter=";", decimal=","
    )
    np.testing.assert_array_equal(request.X, [[1.2, 3.0], [4.5, 6.0]])


def test_rows_of_different_widths_name_the_line(tmp_path, numeric_model):
    write(tmp_path / "r.csv", "1,2,3\n4,5,6\n7,8\n")
    with pytest.raises(CommandError, match="line 3: 2 fields, where line 1 has 3"):
        read_request(tmp_path / "r.csv", numeric_model)


def test_target_column_read_as_the_stored_targets(tmp_path):
    X = customers()[["age", "zip"]]
    model = Fitted(X)
    model.ledger_ = TrainingLedger(X, np.array(["no", "yes"] * 3), keep_X=True)
    frame = X.assign(churned=["no", "yes"] * 3)
    frame.to_csv(tmp_path / "r.csv", index=False)
    request = read_request(tmp_path / "r.csv", model, target="churned")
    assert request.y.tolist() == ["no", "yes"] * 3 and request.target == "churned"
    np.testing.assert_array_equal(
        model.ledger_.match(request.X, request.y).rows, np.arange(6)
    )
    X.to_csv(tmp_path / "no-target.csv", index=False)
    with pytest.raises(CommandError, match=r"missing \['churned'\] \(--target"):
        read_request(tmp_path / "no-target.csv", model, target="churned")


def test_datetime_columns(tmp_path):
    X = pd.DataFrame(
        {
            "when": pd.to_datetime(
                ["2024-01-05", "2024-03-01T10:30", None], format="ISO8601"
            ),
            "n": [1.0, 2.0, 3.0],
        }
    )
    model = Fitted(X, keep_X=False)
    X.to_csv(tmp_path / "r.csv", index=False)
    request = read_request(tmp_path / "r.csv", model)
    np.testing.assert_array_equal(model.ledger_.match(request.X).rows, [0, 1, 2])


def test_without_pandas_the_rows_are_an_array(tmp_path, monkeypatch):
    import skunlearn.cli as cli

    X = customers()
    model = Fitted(X)
    X.to_csv(tmp_path / "r.csv", index=False, quoting=csv.QUOTE_NONNUMERIC)
    monkeypatch.setattr(cli, "_pandas", lambda: None)
    request = read_request(tmp_path / "r.csv", model)
    assert isinstance(request.X, np.ndarray) and request.X.dtype == object
    np.testing.assert_array_equal(
        model.ledger_.match(request.X).rows, np.arange(len(X))
    )


def test_text_encodings(tmp_path):
    X = pd.DataFrame({"name": ["Zoë", "Łukasz"], "n": [1.0, 2.0]})
    model = Fitted(X)
    write(tmp_path / "r.csv", "name,n\nZoë,1\n", encoding="cp1252")
    with pytest.raises(CommandError, match="--encoding") as info:
        read_request(tmp_path / "r.csv", model)
    assert info.value.status == 2
    request = read_request(tmp_path / "r.csv", model, encoding="cp1252")
    np.testing.assert_array_equal(model.ledger_.match(request.X).rows, [0])
