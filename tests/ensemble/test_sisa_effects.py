"""A SISA model's checkpoint files follow the change that contains its request.

Superseded checkpoint files (they saw a forgotten row) are deleted only once
the whole change stands: the model's own request, a composite model's request
(the SISA step forgets on a copy), or the command line's (once the new model
file is saved). If the enclosing change is abandoned, the files written for it
go and the old model's files stay: the old model keeps working.
"""

import os

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skunlearn import Unlearnable
from skunlearn.ensemble import SISAClassifier
from skunlearn.pipeline import make_pipeline

pytest.importorskip("skops")


def _data():
    rng = np.random.RandomState(0)
    X = rng.randn(240, 4)
    y = (X[:, 0] + 0.3 * rng.randn(240) > 0).astype(int)
    return X, y


def _sisa(directory):
    return SISAClassifier(
        SGDClassifier(random_state=0),
        n_shards=3,
        n_slices=3,
        checkpoint_dir=directory,
        random_state=0,
    )


def _listed(sisa):
    return {e["file"] for c in sisa.checkpoints_ for e in c if e is not None}


@pytest.mark.parametrize("wrap", ["unlearnable", "pipeline"])
def test_composite_deletes_superseded_files_only_when_it_commits(tmp_path, wrap):
    X, y = _data()
    step = _sisa(tmp_path)
    if wrap == "unlearnable":
        pipe = sk_make_pipeline(FunctionTransformer(), step)
        model = Unlearnable(pipe).fit(X, y)
        sisa = lambda: model.estimator_[-1]  # noqa: E731
    else:
        model = make_pipeline(FunctionTransformer(), step).fit(X, y)
        sisa = lambda: model[-1]  # noqa: E731
    before = set(os.listdir(tmp_path))
    assert before == _listed(sisa())

    # A failure after the SISA step planned (here: at the history record).
    class Boom(Exception):
        pass

    history = model.unlearn_history_

    class Failing(list):
        def append(self, item):
            raise Boom

    model.__dict__["unlearn_history_"] = Failing(history)
    with pytest.raises(Boom):
        model.unlearn(X[:3])
    model.__dict__["unlearn_history_"] = list(history)
    # The old model's files are all there, the new ones are gone.
    assert set(os.listdir(tmp_path)) == before == _listed(sisa())

    model.unlearn(X[:3])
    assert set(os.listdir(tmp_path)) == _listed(sisa())
    assert before - set(os.listdir(tmp_path))  # the superseded files went
    gold = clone(step).set_params(checkpoint_dir=None).fit(X[3:], y[3:])
    assert_array_equal(sisa().predict(X), gold.predict(X))


def test_cli_keeps_the_old_checkpoints_until_the_new_model_is_saved(
    tmp_path, monkeypatch, capsys
):
    from skunlearn import cli

    X, y = _data()
    ckdir = tmp_path / "ckpt"
    model = _sisa(str(ckdir)).fit(X, y)
    cli.save_model(model, tmp_path / "model.skops")
    before = set(os.listdir(ckdir))
    np.savetxt(tmp_path / "rows.csv", X[:2], delimiter=",")
    argv = [
        "forget",
        str(tmp_path / "model.skops"),
        "--rows",
        str(tmp_path / "rows.csv"),
        "--header",
        "no",
        "--output",
        str(tmp_path / "new.skops"),
        "--checkpoint-dir",
        str(ckdir),
    ]

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(cli, "_dump", broken_dump)
        assert cli.main(argv) != 0
    assert "disk full" in capsys.readouterr().err
    assert not (tmp_path / "new.skops").exists()
    assert set(os.listdir(ckdir)) == before  # the old model is still whole

    assert cli.main(argv) == 0
    capsys.readouterr()
    new = cli.load_model(tmp_path / "new.skops")
    new.set_checkpoint_dir(ckdir)
    assert set(os.listdir(ckdir)) == _listed(new)
    assert before - set(os.listdir(ckdir))
    gold = clone(model).set_params(checkpoint_dir=None).fit(X[2:], y[2:])
    assert_array_equal(new.predict(X), gold.predict(X))
