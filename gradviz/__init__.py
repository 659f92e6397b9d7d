"""gradviz: watch the gradient dynamics of RNN, LSTM and GRU cells live.

numpy's BLAS runs one thread per gradviz thread: the products gradviz multiplies are small
(n ≤ 1024), and OpenBLAS's own threads spin against each other and the window on a 2-core
machine (measured here: a float32 map 9× slower, a cursor row 50× slower under load). Set
OPENBLAS_NUM_THREADS yourself to override; :func:`single_threaded_blas` applies it when numpy
was imported first.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


_blas_limited = False


def single_threaded_blas() -> None:
    """Limit an already loaded BLAS to one thread (unless OPENBLAS_NUM_THREADS says otherwise).

    Once per process (about 4 ms): the window's controller calls it, so a program that imported
    numpy before gradviz (a benchmark, a test, a notebook opening the window) does not run its
    maps on two BLAS threads beside the window."""
    global _blas_limited
    if _blas_limited or os.environ.get("OPENBLAS_NUM_THREADS", "1") != "1":
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    _blas_limited = True
