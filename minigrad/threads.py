"""How many threads NumPy's BLAS may use: one, for the small matrices of this project.

A matrix product of 8 x 32 numbers takes a microsecond; handing it to a pool of BLAS
threads costs more than that, and on a machine with two cores the threads of one process
fight with each other (and with any other busy process) for them. Training the toy
models and running the tests are both thousands of such products, so both run with one
BLAS thread. Measured on 2 cores (python examples/train_attention.py, wall time): about
3.5 s either way on an idle machine, and about 4 s with one thread against about 6 s with
the default pool while another process keeps a core busy. Large matrices are
another matter: `one_blas_thread()` is a context manager, used around small-matrix work
only, and leaves the setting as it was afterwards.
"""

import contextlib


@contextlib.contextmanager
def one_blas_thread():
    """Limit NumPy's BLAS (and OpenMP) pools to one thread inside the block."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
