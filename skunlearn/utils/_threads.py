"""Run small dense linear algebra on one BLAS thread."""

# SPDX-License-Identifier: BSD-3-Clause

from contextlib import nullcontext

_CONTROLLER = None


def _controller():
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def warm_up():
    """Build the thread-pool controller now (it scans loaded libraries, ~40 ms).

    Called from ``fit`` so that the first ``unlearn`` does not pay for it.
    """
    _controller()


def single_blas_thread(enabled=True):
    """Context limiting BLAS to one thread (when ``enabled``).

    For matrices of a few hundred rows, OpenBLAS's thread start-up and
    synchronisation cost more than the arithmetic, and far more on a busy
    machine (measured here: a 100 x 100 Cholesky solve took 4 ms with two
    threads, 0.2 ms with one). Strategies wrap their small solves in this.
    """
    if not enabled:
        return nullcontext()
    return _controller().limit(limits=1, user_api="blas")
