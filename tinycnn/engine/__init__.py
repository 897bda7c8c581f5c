"""Engines: how a Sequential's layers are run, kept apart from what the layers compute.

- "plain": each layer's own forward and backward, one after another, as written in
  tinycnn/layers/ (the code to read beside the maths).
- "fast" (the default): the same maths, planned for speed (tinycnn.engine.fast): Conv2D -> ReLU
  (-> MaxPool2D) fused into one pass per chunk of images, chunks on every core, Winograd's
  F(4x4, 3x3) for 3x3 convolutions where it pays, buffers reused from batch to batch.

Both give the same results up to float rounding. `model.plan(batch_size)` shows what runs.
One pass runs at a time in a process (tinycnn.engine.base says why).
"""

from tinycnn import kernels, settings
from tinycnn.engine import convolution
from tinycnn.engine import winograd as winograd_passes
from tinycnn.engine.fast import FastEngine
from tinycnn.engine.plain import PlainEngine

ENGINES = {"fast": FastEngine, "plain": PlainEngine}


def make(name, layers):
    """The engine called `name` for `layers`; ValueError naming the choices for any other name."""
    if not isinstance(name, str) or name not in ENGINES:
        raise ValueError(f"engine must be one of {tuple(ENGINES)}, got {name!r}")
    return ENGINES[name](layers)


def warmup(batch_size=None):
    """Compile, or load from Numba's on-disk cache, the kernels batches of `batch_size` images may
    run (every kernel when None), for float32; returns the backend's name. Below
    WINOGRAD_MIN_IMAGES images no convolution runs by Winograd, so its kernels, which take longer
    to compile than all the others together, are left for later (a drawing app passes 1)."""
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(f"warmup: batch_size must be a positive int or None, got {batch_size!r}")
    wanted = kernels.KERNELS
    small = batch_size is not None and batch_size < convolution.WINOGRAD_MIN_IMAGES
    if small and settings.current().conv_algorithm != "winograd":
        wanted = [kernel for kernel in kernels.KERNELS if kernel not in winograd_passes.KERNELS]
    return kernels.warmup(wanted)


__all__ = ["ENGINES", "FastEngine", "PlainEngine", "make", "warmup"]
