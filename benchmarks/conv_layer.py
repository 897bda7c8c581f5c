"""The second convolution of the reference network, piece by piece, against its peers.

Input (128, 26, 26, 32), 3x3 kernel, 64 filters (output (128, 24, 24, 64)), then 2x2 max-pool:
- the tinycnn kernels (im2col, col2im, pool forward/backward),
- the naive NumPy way (fancy-index gather, np.add.at scatter, fresh arrays every call),
- the bytes-moved floor (a plain copy of as many bytes as the kernel writes),
- the Winograd F(4x4, 3x3) transforms the layer runs at this size (tinycnn.winograd),
- the whole Conv2D layer forward+backward as the fast engine runs it, by Winograd (its choice
  here) and by im2col, each also with one chunk worker (every chunk in turn, kernels split across
  the cores: see tinycnn.engine.workers), and as written (the plain engine), vs PyTorch's conv2d
  (NCHW and channels-last),
- cold compile vs cached load of the kernels (fresh processes, private Numba cache).
All contenders are timed round-robin in one run. Usage: python benchmarks/conv_layer.py [--repeats N]
"""

import argparse
import os
import subprocess
import sys
import tempfile

# First, as for any tinycnn user: tinycnn.settings sets OPENBLAS_THREAD_TIMEOUT before NumPy loads.
import tinycnn.settings  # noqa: F401

# isort: split
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import format_timing, interleaved, machine_facts, write_results  # noqa: E402

import tinycnn  # noqa: E402
from tinycnn import Conv2D, MaxPool2D, Sequential, kernels, settings, winograd  # noqa: E402

N, H, W, C, F, K = 128, 26, 26, 32, 64, 3
OH, OW = H - K + 1, W - K + 1


def naive_indices():
    """Gather indices (CS231n style) so that cols = x[:, rows, columns, channels]."""
    kh, kw, c = np.meshgrid(np.arange(K), np.arange(K), np.arange(C), indexing="ij")
    oh, ow = np.meshgrid(np.arange(OH), np.arange(OW), indexing="ij")
    rows = oh.reshape(-1, 1) + kh.reshape(1, -1)
    columns = ow.reshape(-1, 1) + kw.reshape(1, -1)
    channels = np.broadcast_to(c.reshape(1, -1), rows.shape)
    return rows, columns, channels


def naive_im2col(x, indices):
    rows, columns, channels = indices
    return x[:, rows, columns, channels].reshape(-1, K * K * C)


def naive_col2im(cols, indices):
    rows, columns, channels = indices
    dx = np.zeros((N, H, W, C), cols.dtype)
    np.add.at(dx, (slice(None), rows, columns, channels), cols.reshape(N, OH * OW, K * K * C))
    return dx


def naive_pool_forward(x):
    windows = x.reshape(N, OH // 2, 2, OW // 2, 2, F)
    return windows.max(axis=(2, 4))


def naive_pool_backward(x, y, dy):
    mask = x == np.repeat(np.repeat(y, 2, axis=1), 2, axis=2)
    return mask * np.repeat(np.repeat(dy, 2, axis=1), 2, axis=2)


def with_one_worker(function):
    """function, run with one chunk worker (the chunks one after another, threaded kernels)."""

    def run():
        with settings.use(workers=1):
            function()

    return run


def compile_times(repeats=3):
    """Seconds from a fresh process's `import tinycnn` to kernels ready: empty cache, then cached."""
    code = (
        "import time; t = time.perf_counter(); import tinycnn; tinycnn.warmup(); "
        "print(time.perf_counter() - t)"
    )
    cold, cached = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            for bucket in (cold, cached):
                result = subprocess.run(
                    [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
                )
                bucket.append(float(result.stdout.strip()))
    return {"cold_s": cold, "cached_s": cached}


def torch_contenders():
    try:
        import torch
    except ImportError:
        return {}, "PyTorch not installed (pip install '.[peers]'): skipped"
    torch.set_num_threads(2)
    conv = torch.nn.Conv2d(C, F, K)
    x_nchw = torch.rand(N, C, H, W, requires_grad=True)
    x_last = x_nchw.detach().to(memory_format=torch.channels_last).requires_grad_()
    gradient = torch.rand(N, F, OH, OW)
    gradient_last = gradient.to(memory_format=torch.channels_last)

    def run(x, dy):
        def step():
            conv.zero_grad(set_to_none=True)
            x.grad = None
            conv(x).backward(dy)

        return step

    return {
        "torch conv2d fwd+bwd (NCHW)": run(x_nchw, gradient),
        "torch conv2d fwd+bwd (channels-last)": run(x_last, gradient_last),
    }, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--no-compile", action="store_true", help="skip the cold/cached compile measurement")
    args = parser.parse_args()

    tinycnn.warmup()
    rng = np.random.default_rng(0)
    x = rng.random((N, H, W, C), dtype=np.float32)
    cols = np.empty((N * OH * OW, K * K * C), np.float32)
    copy_source = rng.random(cols.shape, dtype=np.float32)
    dx = np.empty_like(x)
    indices = naive_indices()

    conv = Conv2D(F, K)
    model = Sequential([conv], input_shape=(H, W, C), seed=0)
    model_im2col = Sequential([Conv2D(F, K, algorithm="im2col")], input_shape=(H, W, C), seed=0)
    model_as_written = Sequential([Conv2D(F, K)], input_shape=(H, W, C), seed=0, engine="plain")
    dy = rng.standard_normal((N, OH, OW, F), dtype=np.float32)

    def layer_forward_backward(network=model):
        network.forward(x, training=True)
        network.backward(dy)

    tiles_h, tiles_w = winograd.tiles(OH, OW)
    transformed_input = np.empty((winograd.POSITIONS, N * tiles_h * tiles_w, C), np.float32)
    products = rng.standard_normal((winograd.POSITIONS, N * tiles_h * tiles_w, F), dtype=np.float32)
    transformed_gradient = np.empty_like(products)

    def naive_layer_forward_backward():
        kernel = conv.params["kernel"].reshape(-1, F)
        columns = naive_im2col(x, indices)
        _ = columns @ kernel + conv.params["bias"]
        dy2 = dy.reshape(-1, F)
        _ = columns.T @ dy2, dy2.sum(axis=0)
        naive_col2im(dy2 @ kernel.T, indices)

    pool = MaxPool2D(2)
    pool.build((OH, OW, F))
    activations = rng.standard_normal((N, OH, OW, F), dtype=np.float32)
    pooled = pool.forward(activations, training=True, keep=False)
    pool_gradient = rng.standard_normal(pooled.shape, dtype=np.float32)
    argmax = np.empty(pooled.shape, np.int32)
    pool_out = np.empty_like(pooled)
    activations_gradient = np.empty_like(activations)

    contenders = {
        "im2col (tinycnn)": lambda: kernels.im2col_into(x, K, K, 1, 1, 0, 0, OH, OW, cols),
        "im2col (naive NumPy, allocating)": lambda: naive_im2col(x, indices),
        "copy floor (cols bytes)": lambda: np.copyto(cols, copy_source),
        "col2im (tinycnn)": lambda: kernels.col2im_into(cols, K, K, 1, 1, 0, 0, OH, OW, dx),
        "col2im (naive NumPy, np.add.at)": lambda: naive_col2im(cols, indices),
        "pool forward (tinycnn)": lambda: kernels.maxpool_forward_into(
            activations, 2, 2, 2, 2, pool_out, argmax
        ),
        "pool forward (naive NumPy)": lambda: naive_pool_forward(activations),
        "pool backward (tinycnn)": lambda: kernels.maxpool_backward_into(
            pool_gradient, argmax, 2, 2, 2, 2, activations_gradient
        ),
        "pool backward (naive NumPy)": lambda: naive_pool_backward(activations, pooled, pool_gradient),
        "Winograd input transform (tinycnn)": lambda: kernels.winograd_input_transform_into(
            x, tiles_h, tiles_w, transformed_input, 0
        ),
        "Winograd output transform (tinycnn)": lambda: kernels.winograd_output_transform_into(
            products, tiles_h, tiles_w, activations
        ),
        "Winograd gradient transform (tinycnn)": lambda: kernels.winograd_gradient_transform_into(
            activations, tiles_h, tiles_w, transformed_gradient
        ),
        "Winograd input gradient (tinycnn)": lambda: kernels.winograd_input_gradient_into(
            transformed_input, tiles_h, tiles_w, dx
        ),
        "Conv2D fwd+bwd (tinycnn)": layer_forward_backward,
        "Conv2D fwd+bwd (tinycnn, 1 worker)": with_one_worker(layer_forward_backward),
        "Conv2D fwd+bwd (tinycnn, im2col)": lambda: layer_forward_backward(model_im2col),
        "Conv2D fwd+bwd (tinycnn, im2col, 1 worker)": with_one_worker(
            lambda: layer_forward_backward(model_im2col)
        ),
        "Conv2D fwd+bwd (tinycnn, as written: plain engine)": lambda: layer_forward_backward(
            model_as_written
        ),
        "Conv2D fwd+bwd (naive NumPy im2col)": naive_layer_forward_backward,
    }
    peers, peer_note = torch_contenders()
    contenders.update(peers)
    # The naive col2im takes seconds: fewer repeats for everything keeps the run short.
    timings = interleaved(contenders, args.repeats)

    compile_result = None if args.no_compile else compile_times()
    payload = {
        "benchmark": "conv_layer",
        "shape": {"input": [N, H, W, C], "kernel": [K, K, C, F], "output": [N, OH, OW, F]},
        "machine": machine_facts(),
        "backend": tinycnn.backend(),
        "timings": timings,
        "compile": compile_result,
        "peer_note": peer_note,
    }
    ours = timings["Conv2D fwd+bwd (tinycnn)"]["median_ms"]
    lines = [
        "# Conv layer benchmark: the reference network's second convolution",
        "",
        f"Input (128, 26, 26, 32), 3x3, 64 filters, then 2x2 max-pool. Backend: {tinycnn.backend()}; "
        f"the fast engine runs the layer as: {model.plan(N)[0].how}. "
        f"{args.repeats} interleaved runs each; median (min–max).",
        "",
        "| contender | time | vs tinycnn layer |",
        "|---|---|---|",
    ]
    for name, timing in timings.items():
        lines.append(f"| {name} | {format_timing(timing)} | {timing['median_ms'] / ours:.2f}x |")
    if peer_note:
        lines += ["", peer_note]
    for torch_name in peers:
        ratio = ours / timings[torch_name]["median_ms"]
        lines.append(f"\ntinycnn layer / {torch_name}: **{ratio:.2f}x** (target: at most 1.2x)")
    by_im2col = timings["Conv2D fwd+bwd (tinycnn, im2col)"]["median_ms"]
    lines.append(f"\ntinycnn layer / the same layer by im2col: **{ours / by_im2col:.2f}x**")
    one_worker = timings["Conv2D fwd+bwd (tinycnn, 1 worker)"]["median_ms"]
    lines.append(
        f"\ntinycnn layer, one core per chunk ({payload['machine']['tinycnn_chunk_workers']} workers) / with one worker: "
        f"**{ours / one_worker:.2f}x**"
    )
    if compile_result:
        lines += [
            "",
            "Kernels ready in a fresh process (import + `tinycnn.warmup()`), seconds: "
            f"empty cache (compile) {', '.join(f'{t:.2f}' for t in compile_result['cold_s'])}; "
            f"cached {', '.join(f'{t:.2f}' for t in compile_result['cached_s'])}.",
        ]
    facts = payload["machine"]
    lines += [
        "",
        f"Machine: {facts['cpu']}, {facts['cores']} cores; Python {facts['python']}, NumPy {facts['numpy']} "
        f"({facts['blas']}), Numba {facts['numba']} ({facts['numba_threads']} threads, "
        f"{facts['numba_threading_layer']} layer; {facts['tinycnn_chunk_workers']} chunk workers), PyTorch {facts['torch']} "
        f"({facts.get('torch_threads')} threads); env {facts['env']}. {facts['date']}.",
        "",
        "Reproduce: `.venv/bin/python benchmarks/conv_layer.py`",
        "",
    ]
    path = write_results("conv_layer", payload, "\n".join(lines))
    print("\n".join(lines))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
