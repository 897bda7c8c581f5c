"""Chunk workers: each core runs whole chunks of images, start to end, at the same time.

A convolution that works a chunk of images at a time (tinycnn.engine's im2col and Winograd
passes) can run its chunks in two ways. With threaded kernels, every step of a chunk (a transform,
a matrix product, the next transform) is split across the cores, which meet again after each
step. With workers, each core takes its own chunks and runs every step of them alone: serial
kernels, BLAS on one thread. The second convolution's 36 matrix products per chunk are too small to
keep two BLAS threads busy (36 x (288 x 32) @ (32 x 64) for 8 images), and a chunk of a few images
stays in the core's own cache from one step to the next. The reference network's second
convolution block takes about a third less time this way (notebook 6, section 5).

    run(chunks, body, workers)  # body(worker, start, stop, first) for each (start, stop) in chunks

Worker `w` of `k` takes chunks w, w + k, w + 2k, ... in order, so which worker sums which images
is fixed: results do not depend on timing. `first` is True on each worker's first chunk (a body
that accumulates overwrites then). Buffers a body writes must be its worker's own; `Sums` keeps a
running sum (a kernel gradient over chunks) per worker and adds the workers' sums at the end.

How many workers there are is a setting (tinycnn.settings: `workers`), chosen once, never read
back from the process's thread state: how a batch is split never depends on another thread.
While workers run, NumPy's BLAS is set to one thread for the whole process (there is no per-thread
setting); the engine runs one pass at a time in a process, so no other tinycnn product runs then.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from tinycnn.kernels import serial_in_this_thread

_region = threading.Lock()  # one set of workers at a time: the BLAS limit is process-wide
_state = {"pid": None, "executor": None, "blas": None}


def split(n_images, images_per_chunk, workers):
    """(start, stop) ranges of at most about `images_per_chunk` images, as many for each worker.

    128 images in chunks of up to 9 for 2 workers: 16 chunks of 8, not 14 of 9 and one of 2."""
    if n_images <= 0:
        return []
    images_per_chunk = max(1, images_per_chunk)
    rounds = -(-n_images // (images_per_chunk * workers))
    step = max(1, -(-n_images // (rounds * workers)))
    return [(start, min(start + step, n_images)) for start in range(0, n_images, step)]


def run(chunks, body, workers):
    """Call body(worker, start, stop, first) for every (start, stop) of `chunks` on at most
    `workers` workers; return how many got a chunk. With one worker (or one chunk) everything
    runs here, in the calling thread, with the threaded kernels; an exception in any worker is
    raised here."""
    workers = min(workers, len(chunks))
    if workers <= 1:
        for number, (start, stop) in enumerate(chunks):
            body(0, start, stop, number == 0)
        return len(chunks) and 1

    def work(worker):
        with serial_in_this_thread():
            for number, (start, stop) in enumerate(chunks[worker::workers]):
                body(worker, start, stop, number == 0)

    with _region, _blas().limit(limits=1):
        pending = [_executor(workers).submit(work, worker) for worker in range(1, workers)]
        try:
            work(0)
        finally:
            for future in pending:
                future.exception()  # wait for every worker before the buffers are reused
        for future in pending:
            future.result()
    return workers


def _executor(workers):
    """The helper threads (workers - 1 of them), made again in a forked child (threads do not
    survive a fork, and a pool that thinks they did would wait forever)."""
    if _state["pid"] != os.getpid() or _state["executor"]._max_workers < workers - 1:
        _state["executor"] = ThreadPoolExecutor(workers - 1, thread_name_prefix="tinycnn-worker")
        _state["pid"] = os.getpid()
    return _state["executor"]


def _blas():
    """threadpoolctl's view of the BLAS libraries loaded, NumPy's among them (found once: it
    scans the process)."""
    if _state["blas"] is None:
        from threadpoolctl import ThreadpoolController

        _state["blas"] = ThreadpoolController().select(user_api="blas")
    return _state["blas"]


class Sums:
    """A running sum of matrix products over chunks, one per worker, in a workspace:

    sums = Sums(workspace, "kernel_gradient", (K, C_out), dtype)
    sums.add_product(worker, first, a, b)   # in each chunk: the worker's sum += a @ b
    total = sums.total(used)                # after run(): worker 0's sum plus the others'
    """

    def __init__(self, workspace, name, shape, dtype):
        self.workspace, self.name, self.shape, self.dtype = workspace, name, shape, dtype

    def of(self, worker, part="sum"):
        return self.workspace.get(f"{self.name} {part} {worker}", self.shape, self.dtype)

    def add_product(self, worker, first, a, b):
        """The worker's sum = a @ b on its first chunk, else += a @ b (through a scratch array)."""
        if first:
            np.matmul(a, b, out=self.of(worker))
        else:
            self.of(worker)[...] += np.matmul(a, b, out=self.of(worker, "partial"))

    def total(self, used):
        """The sum over the `used` workers' sums (held in worker 0's array)."""
        total = self.of(0)
        for worker in range(1, used):
            total += self.of(worker)
        return total
