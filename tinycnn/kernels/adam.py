"""One Adam step in a single pass over memory (Keras' form; see tinycnn.optimizers).

    m += (1 - beta_1) (g - m);  v += (1 - beta_2) (g^2 - v);  param -= alpha m / (sqrt(v) + epsilon)

All arrays of one shape and dtype, C-contiguous, updated in place. The scalars come in the
arrays' dtype, with 1 - beta precomputed: an integer literal here would promote float32
arithmetic to float64. Loops for Numba and a NumPy twin.
"""

import numpy as np

from tinycnn.kernels.loops import prange


def adam_update_loops(param, gradient, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon):
    """One Adam step on param, m and v, in place."""
    flat_param, flat_gradient = param.reshape(-1), gradient.reshape(-1)
    flat_m, flat_v = m.reshape(-1), v.reshape(-1)
    for i in prange(flat_param.size):
        g = flat_gradient[i]
        m_i = flat_m[i] + one_minus_beta_1 * (g - flat_m[i])
        v_i = flat_v[i] + one_minus_beta_2 * (g * g - flat_v[i])
        flat_m[i] = m_i
        flat_v[i] = v_i
        flat_param[i] -= (alpha * m_i) / (np.sqrt(v_i) + epsilon)


def adam_update_numpy(param, gradient, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon):
    """The NumPy twin of adam_update_loops."""
    m += one_minus_beta_1 * (gradient - m)
    v += one_minus_beta_2 * (np.square(gradient) - v)
    param -= (alpha * m) / (np.sqrt(v) + epsilon)


def adam_update_example():
    one = np.float32(1)
    arrays = [np.zeros((4, 4), np.float32) for _ in range(4)]
    return (*arrays, one, one, one, one)
