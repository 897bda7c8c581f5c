"""What kernel loops are written with: `prange`, `inline` and `helper`.

A kernel here is a plain Python function of loops over NumPy arrays, written into an output array
its caller provides. The Numba backend (tinycnn.kernels.dispatch) compiles it twice: once with
Numba's `prange`, which spreads that loop's iterations over the cores, and once with `prange`
standing for `range`, the serial twin. Until then `prange` is `range`, so the loops also run, slowly,
as plain Python: step through them with a debugger on a tiny array.

Functions a kernel calls are marked, so that they are compiled with it:

    @inline        compiled into every kernel that calls it (small arithmetic on scalars);
    @helper        compiled once, called by the kernels (a larger piece of a loop body).
"""

prange = range


def inline(function):
    """Mark `function` to be compiled into the kernels that call it (Numba's inline="always")."""
    function.compiled_as = "inline"
    return function


def helper(function):
    """Mark `function` to be compiled on its own and called by the kernels."""
    function.compiled_as = "helper"
    return function
