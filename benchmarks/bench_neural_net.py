"""Approximate unlearning for skorch nets, every method against the gold standard.

Cases: two bundled data sets (digits: 1,797 rows, 10 classes; breast_cancer:
569 rows, 2 classes) and a generated one (``make_classification``, 3,000
rows, 4 classes: forget sets large enough to resolve the forget-accuracy
mark, which breast_cancer's 39 rows cannot), two regimes, two forget sets,
with and without calibration rows:

- *memorising*: 15% of the labels flipped at random (the same noise in the
  training and the test rows, so forget rows and unseen rows are drawn
  alike), an over-parameterised MLP (two hidden layers of 512) trained with
  Adam to about zero training loss (100 epochs), ``train_split=None``;
- *generalising*: clean labels, the same MLP trained 30 epochs;
- forget sets: 10% of the training rows at random, or every row of class 1;
- calibration: none (``unlearn(X_f, y_f)``), or half of the held-out rows
  as ``X_calib`` (the other half is the test set).

Every method unlearns from the same trained net; the gold standard is the
same net retrained on the retained rows (another seed), and ``gold'`` a
second retraining with a third seed: how far two retrained nets differ is
the noise floor of every comparison. Columns: ``time`` (CPU seconds of
``unlearn`` over those of retraining, one torch thread: robust to a busy
machine); accuracy on the forget rows (``f``), the test rows (``te``); the
loss-attack membership AUC of the forget rows against unseen test rows (of
the forgotten class in the class case); ``marks``: which of the issue's
marks the row misses against the gold standard (``f`` within 0.05, ``te``
at most 0.03 below, ``auc`` within 0.05, ``t`` at most 15% of retraining;
``ok`` when it meets them all; a test accuracy more than 0.03 *above* the
gold standard's is shown, not counted as a miss; where ``f`` misses but
``f - te``, how much better the forget rows are fitted than unseen ones,
is within 0.05 of the gold standard's, that is shown too: the net then
generalises differently from the gold standard, and its forget rows sit
where its own unseen rows do).

Measured here (``--quick --repeats 10 --methods auto``: CPU, one thread,
medians of ten seeds), the default (``reset_repair``) against the gold
standard, ``time f te auc`` without / with calibration rows (``bc``:
breast_cancer; ``gen.``: the generated set; ``mem`` / ``gen``: the
memorising / generalising regime):

=================  ==============  ==================  ==================
case               gold f te auc   none                calib
=================  ==============  ==================  ==================
digits mem 10%     .724 .752 .492  .09 .744 .754 .499  .10 .744 .754 .499
digits mem class   .000 .676 .476  .10 .000 .680 .523  .11 .000 .680 .520
digits gen 10%     .984 .978 .485  .14 .968 .967 .479  .01 1.00 .983 .512
digits gen class   .000 .876 .467  .13 .000 .867 .460  .12 .000 .867 .462
bc mem 10%         .769 .750 .489  .10 .769 .797 .485  .10 .795 .791 .466
bc mem class       .000 .407 .506  .12 .000 .407 .503  .12 .000 .407 .503
bc gen 10%         .962 .977 .495  .14 .974 .971 .491  .02 1.00 .971 .490
bc gen class       .000 .372 .482  .13 .000 .372 .483  .12 .000 .372 .483
gen. mem 10%       .631 .641 .491  .08 .660 .659 .496  .09 .660 .657 .499
gen. mem class     .000 .546 .506  .11 .000 .550 .491  .11 .000 .550 .495
gen. gen 10%       .855 .851 .489  .12 .840 .829 .500  .14 .855 .839 .496
gen. gen class     .000 .677 .489  .12 .000 .667 .490  .12 .000 .669 .484
=================  ==============  ==================  ==================

Every mark is met in all 12 cases, with and without calibration rows;
closest: a class forget's AUC on digits (0.047 off; its noise is 0.059 per
seed) and the generated set's generalising net with calibration rows (14%
of retraining: still improving at the end of its 30 epochs, the reset
trains on while the calibration accuracy is short). On breast_cancer
retraining takes 0.14 s, so fixed costs (about 20 ms) are a large share of
the time. On one seed, the other methods at their defaults
meet every mark in at most 6 of the 12 cases (NegGrad+ without calibration
rows; the others 3 or fewer): on memorising nets they either leave the
forget rows fitted or are stopped by the guards and rolled back.

Run from the repository root:
``PYTHONPATH=. python benchmarks/bench_neural_net.py --quick`` (about 3
minutes on one CPU thread), or without ``--quick`` for both calibration
settings on three seeds.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import copy
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skunlearn.neural_net import UnlearningNeuralNetClassifier, membership_auc
from skunlearn.neural_net._methods import METHODS

CLASSIFIER_METHODS = [m for m, c in METHODS.items() if "classification" in c.tasks]
REGIMES = {"memorising": (0.15, 100), "generalising": (0.0, 30)}
MARKS = {"f": 0.05, "te": 0.03, "auc": 0.05, "time": 0.15}


def _generated(return_X_y=True):
    # 3,000 rows, 4 classes: forget sets large enough for the marks
    return make_classification(
        n_samples=3000,
        n_features=20,
        n_informative=10,
        n_classes=4,
        n_clusters_per_class=2,
        random_state=0,
    )


DATA = {
    "digits": load_digits,
    "breast_cancer": load_breast_cancer,
    "generated": _generated,
}


def load(name, noise, seed):
    X, y = DATA[name](return_X_y=True)
    rng = np.random.RandomState(seed)
    y = y.copy()
    k = int(y.max()) + 1
    flip = rng.rand(y.size) < noise
    y[flip] = (y[flip] + rng.randint(1, k, flip.sum())) % k
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    sc = StandardScaler().fit(X_tr)
    f = np.float32
    return (
        sc.transform(X_tr).astype(f),
        y_tr.astype(np.int64),
        sc.transform(X_te).astype(f),
        y_te.astype(np.int64),
    )


def make_net(n_features, n_classes, epochs, device, width=512):
    module = torch.nn.Sequential(
        torch.nn.Linear(n_features, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, n_classes),
    )
    return UnlearningNeuralNetClassifier(
        module,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=epochs,
        batch_size=64,
        train_split=None,
        device=device,
        verbose=0,
        iterator_train__shuffle=True,
    )


def per_row_loss(net, X, y):
    proba = np.clip(net.predict_proba(X), 1e-12, 1)
    return -np.log(proba[np.arange(len(y)), y])


def measure(net, X_f, y_f, X_te, y_te, X_mia, y_mia):
    return {
        "f": float((net.predict(X_f) == y_f).mean()),
        "te": float((net.predict(X_te) == y_te).mean()),
        "auc": membership_auc(
            per_row_loss(net, X_f, y_f), per_row_loss(net, X_mia, y_mia)
        ),
    }


def timed_fit(make, X, y, seed):
    # seeded before the module is built: its initial weights come from the seed
    torch.manual_seed(seed)
    net = make()
    t0 = time.process_time()
    net.fit(X, y)
    return net, time.process_time() - t0


def run_case(
    data, regime, scenario, methods, calibrations, seed, device, width, epochs=None
):
    noise, regime_epochs = REGIMES[regime]
    epochs = epochs or regime_epochs
    X, y, X_held, y_held = load(data, noise, seed)
    n_classes = int(max(y.max(), y_held.max())) + 1
    rng = np.random.RandomState(seed)
    # half of the held-out rows calibrate, the other half test
    calib = np.zeros(len(X_held), bool)
    calib[rng.permutation(len(X_held))[: len(X_held) // 2]] = True
    X_c, y_c, X_te, y_te = X_held[calib], y_held[calib], X_held[~calib], y_held[~calib]
    if scenario == "random":
        forget = np.sort(rng.choice(len(X), len(X) // 10, replace=False))
        mia = np.arange(len(X_te))
    else:
        forget = np.flatnonzero(y == 1)
        mia = np.flatnonzero(y_te == 1)
    keep = np.setdiff1d(np.arange(len(X)), forget)
    X_f, y_f = X[forget], y[forget]
    args = (X_f, y_f, X_te, y_te, X_te[mia], y_te[mia])

    def new():
        return make_net(X.shape[1], n_classes, epochs, device, width)

    original, _ = timed_fit(new, X, y, seed)
    gold, t_gold = timed_fit(new, X[keep], y[keep], seed + 1)
    gold2, _ = timed_fit(new, X[keep], y[keep], seed + 2)
    n_f, n_u = len(forget), len(mia)
    g = measure(gold, *args)
    rows = {
        # the noise floors: auc_se, the AUC's spread when forget and unseen
        # rows are alike (about 0.06 for a class forget); f_se, that of the
        # difference between two nets' accuracies on the forget rows
        ("gold", ""): dict(
            g,
            time=1.0,
            auc_se=float(np.sqrt((n_f + n_u + 1) / (12 * n_f * n_u))),
            f_se=float(np.sqrt(2 * max(g["f"] * (1 - g["f"]), 1e-4) / n_f)),
        ),
        ("gold'", ""): dict(measure(gold2, *args), time=float("nan")),
        ("original", ""): dict(measure(original, *args), time=float("nan")),
    }
    for m in methods:
        for cal in calibrations:
            net = copy.deepcopy(original).set_params(unlearn_method=m)
            kw = {"X_calib": X_c, "y_calib": y_c} if cal == "calib" else {}
            t0 = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                net.unlearn(X_f, y_f, **kw)
            dt = time.process_time() - t0
            d = net.unlearn_history_[-1]["details"]
            rows[(m, cal)] = dict(
                measure(net, *args), time=dt / t_gold, epochs=d.get("epochs", 0)
            )
    return rows


def misses(row, gold):
    """Marks missed against the gold standard; test accuracy only counts when
    it is lower (a net that generalises better than the retrained one, as an
    early-stopped retraining may on noisy labels, loses nothing)."""
    out = [k for k in ("f", "auc") if abs(row[k] - gold[k]) > MARKS[k]]
    if row["te"] < gold["te"] - MARKS["te"]:
        out.append("te")
    if row["time"] > MARKS["time"]:
        out.append("t")
    return out


def _median(values):
    values = [v for v in values if not np.isnan(v)]
    return float(np.median(values)) if values else float("nan")


def summarise(results):
    """Median over seeds of every row of one case."""
    keys = results[0].keys()
    return {
        k: {
            c: _median([r[k][c] for r in results])
            for c in results[0][k]
            if c != "epochs"
        }
        for k in keys
    }


def print_case(title, med):
    gold = med[("gold", "")]
    print(
        f"\n== {title} (noise: AUC s.e. {gold['auc_se']:.3f}, "
        f"forget accuracy s.e. {gold['f_se']:.3f}) =="
    )
    head = ("method", "calib", "time", "f", "te", "auc")
    print(" ".join(f"{h:>{16 if i == 0 else 6}}" for i, h in enumerate(head)), " marks")
    for (name, cal), row in med.items():
        mark = ""
        if cal or name == "gold'":
            miss = misses(row, gold)
            mark = "ok" if not miss else "miss " + ",".join(miss)
            notes = []
            if row["te"] > gold["te"] + MARKS["te"]:
                notes.append("te above gold")
            gap, gold_gap = row["f"] - row["te"], gold["f"] - gold["te"]
            if "f" in miss and "class" not in title and abs(gap - gold_gap) <= 0.05:
                # the forget rows sit where this net's unseen rows do
                notes.append(f"f - te {gap:+.3f} vs gold's {gold_gap:+.3f}")
            if notes:
                mark += " (" + "; ".join(notes) + ")"
        t = "" if np.isnan(row["time"]) else f"{row['time']:.3f}"
        print(
            f"{name:>16} {cal:>6} {t:>6} {row['f']:6.3f} {row['te']:6.3f} "
            f"{row['auc']:6.3f}  {mark}"
        )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one seed, width 256")
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--data", default="digits,breast_cancer,generated")
    p.add_argument("--regimes", default="memorising,generalising")
    p.add_argument("--scenarios", default="random,class")
    p.add_argument("--calibration", default="none,calib")
    p.add_argument("--methods", default="auto," + ",".join(CLASSIFIER_METHODS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--epochs", type=int, default=None, help="training epochs of every regime"
    )
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    repeats = args.repeats or (1 if args.quick else 3)
    width = 256 if args.quick else 512
    methods = args.methods.split(",")
    calibrations = args.calibration.split(",")
    default = UnlearningNeuralNetClassifier._default_method
    print(
        f"device={args.device} repeats={repeats} width={width} "
        f"default method (auto)={default}"
    )
    summary, t_start = {}, time.perf_counter()
    for data in args.data.split(","):
        for regime in args.regimes.split(","):
            for scenario in args.scenarios.split(","):
                results = [
                    run_case(
                        data,
                        regime,
                        scenario,
                        methods,
                        calibrations,
                        seed,
                        args.device,
                        width,
                        args.epochs,
                    )
                    for seed in range(repeats)
                ]
                med = summarise(results)
                print_case(f"{data}, {regime}, {scenario} forget", med)
                summary[(data, regime, scenario)] = med
    print(f"\n== summary: cases meeting every mark (of {len(summary)}) ==")
    for m in methods:
        for cal in calibrations:
            n_ok = sum(
                not misses(med[(m, cal)], med[("gold", "")]) for med in summary.values()
            )
            times = [med[(m, cal)]["time"] for med in summary.values()]
            print(f"{m:>16} {cal:>6} {n_ok:3d}   median time {np.median(times):.3f}")
    print(f"\n(total {time.perf_counter() - t_start:.0f} s)")
    return summary


if __name__ == "__main__":
    main()
