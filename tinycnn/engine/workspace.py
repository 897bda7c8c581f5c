"""Scratch buffers that live as long as their engine step and grow, never shrink.

Page-faulting a fresh 80 MiB buffer for every batch costs several times the copy into it, so an
engine step asks its `Workspace` for named buffers instead of allocating. A request smaller than the
buffer gets a view of its first elements (the last, smaller batch of an epoch reuses the big one).

A workspace buffer is internal to its step: what a step returns to its caller is always a fresh
array, never a view into a workspace that a later call would overwrite.
"""

import numpy as np


class Workspace:
    """Named, reusable scratch arrays: `workspace.get("cols", (rows, width), np.float32)`."""

    def __init__(self):
        self._buffers = {}

    def get(self, name, shape, dtype):
        """A C-contiguous array of `shape` and `dtype`; its contents are undefined."""
        dtype = np.dtype(dtype)
        size = int(np.prod(shape))
        buffer = self._buffers.get(name)
        if buffer is None or buffer.dtype != dtype or buffer.size < size:
            buffer = np.empty(size, dtype)
            self._buffers[name] = buffer
        return buffer[:size].reshape(shape)

    def clear(self):
        """Release every buffer (they are made again on the next request)."""
        self._buffers.clear()

    @property
    def nbytes(self):
        """Bytes held by all buffers."""
        return sum(buffer.nbytes for buffer in self._buffers.values())
