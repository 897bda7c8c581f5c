"""The drawn part of the training data: synthetic drawings of digits, and of things that are not
digits, as the Recognizer would see them (28x28 views), made on every core and the same whatever
their number.

Digit drawings come in renditions that real users' input has and MNIST lacks:

    style     a digit style (handdigit.data.synthetic), any pen, slant, size and place; one in
              five with exact lines and curves, as a ruler or a drawing program's shape tools
              draw them (a network that saw only wobbly squares took a ruled one for a 0)
    writer    an MNIST training writer's digit redrawn with a drawing app's round pen
    polyline  a style as a tablet sampling few points gives it: 6-14 points joined by straight
              segments, pen-up moves joined or not (a mouse user clicking corners looks the same),
              the pen lifted at a corner and the strokes drawn in another order and direction
              than the style's (writers' habits differ: joined, they draw other lines)
    low-res   a writer's digit or a style counted over a coarse 7-16 cell grid (a low-resolution
              scan) and scaled back up, blocky or blurred; some with the ink thickened first
    extreme   a style very small (a digit in a corner of the canvas), very thin or very thick,
              squashed or stretched

Non-digit drawings (handdigit.data.nondigits: letters, shapes, symbols, scribbles) come in the same
renditions, so that none of them says "digit" by itself. Their label is NOT_A_DIGIT.

Drawing i comes from its own generator, seeded by (seed, i): the set is the same drawn in one
process or in several, and in any order. A seed is an int or a sequence of ints (a run's seed and
a stream number, say).
"""

import json
import os

import numpy as np

NOT_A_DIGIT = 10  # the label of a drawing that is not a digit
RENDITIONS = ("style", "writer", "polyline", "low-res", "extreme")
# Shares of the digit drawings (without writers: the writers' shares go to styles).
DIGIT_SHARES = {"style": 0.22, "writer": 0.25, "polyline": 0.28, "low-res": 0.15, "extreme": 0.10}
NONDIGIT_SHARES = {"style": 0.47, "polyline": 0.28, "low-res": 0.15, "extreme": 0.10}
RULER_SHARE = 0.2  # of the "style" drawings, this share drawn with exact lines (a ruler, a shape tool)
CHUNK = 256  # drawings per task given to a process
PARALLEL_FROM = 2000  # fewer drawings than this are made in the calling process


def plan_drawings(count, nondigits, seed, writer_labels=None):
    """(labels (N,), renditions (N,) str, writer index per drawing or -1) of `count` digit and
    `nondigits` non-digit drawings, class-balanced digits first, in a shuffled order."""
    rng = np.random.default_rng([*_words(seed), 0])
    digit_shares = dict(DIGIT_SHARES)
    if writer_labels is None:
        digit_shares["style"] += digit_shares.pop("writer")
    labels = np.concatenate([np.arange(count) % 10, np.full(nondigits, NOT_A_DIGIT)])
    renditions = np.concatenate(
        [
            rng.choice(list(digit_shares), count, p=list(digit_shares.values())),
            rng.choice(list(NONDIGIT_SHARES), nondigits, p=list(NONDIGIT_SHARES.values())),
        ]
    ).astype(object)
    writers = np.full(len(labels), -1)
    if writer_labels is not None:
        by_digit = {digit: np.flatnonzero(writer_labels == digit) for digit in range(10)}
        for index in np.flatnonzero(labels < NOT_A_DIGIT):
            if renditions[index] in ("writer", "low-res") and len(by_digit[labels[index]]):
                writers[index] = rng.choice(by_digit[labels[index]])
            elif renditions[index] == "writer":
                renditions[index] = "style"
    order = rng.permutation(len(labels))
    return labels[order], renditions[order], writers[order]


def drawn_views(count, seed, writers=None, nondigits=0, canvas=84, processes=None, progress=None):
    """`count` digit drawings and `nondigits` non-digit ones, preprocessed as the Recognizer sees
    them: (views (N, 28, 28) float32 in [0, 1], labels (N,) intp, NOT_A_DIGIT for non-digits,
    renditions (N,) str).

    writers: (images (M, 28, 28) uint8, labels (M,)) of real writers to redraw (the MNIST training
    images), or None. A smaller canvas than the app's renders faster and looks the same after
    preprocessing scales the ink to 20 px. processes: how many processes draw (default: every CPU
    for large sets); the result does not depend on it. progress(done) is called as chunks finish.
    """
    drawing = start_drawing(count, seed, writers, nondigits, canvas, processes, progress)
    return drawing.finished()


def start_drawing(
    count, seed, writers=None, nondigits=0, canvas=84, processes=None, progress=None, order=None, out=None, after=None
):  # fmt: skip
    """The drawings of `drawn_views`, made in the background: returns a Drawing at once, its labels
    and renditions known, its views filled in as they are drawn (training starts on the first ones).

    order: the drawing indices in the order they are wanted (default 0, 1, 2, ...); out: the
    (N, 28, 28) float32 array to fill (default a new one); after: a Drawing to wait for before
    starting (so that two sets never share the cores at once). The drawings do not depend on any
    of these: drawing i comes from its own generator.
    """
    labels, renditions, chosen = plan_drawings(
        count, nondigits, seed, None if writers is None else writers[1]
    )
    sources = np.zeros((len(labels), 28, 28), np.uint8)
    if writers is not None:
        sources[chosen >= 0] = writers[0][chosen[chosen >= 0]]
    order = np.arange(len(labels)) if order is None else np.asarray(order, np.intp)
    if sorted(order.tolist()) != list(range(len(labels))):
        raise ValueError(f"start_drawing: order must list each of the {len(labels)} drawings once")
    tasks = [
        (seed, indices, labels[indices], renditions[indices], chosen[indices] >= 0, sources[indices], canvas)
        for indices in (order[start : start + CHUNK] for start in range(0, len(order), CHUNK))
    ]
    if processes is None:
        processes = _available_cpus() if len(labels) >= PARALLEL_FROM else 1
    views = np.zeros((len(labels), 28, 28), np.float32) if out is None else out
    if views.shape != (len(labels), 28, 28):
        raise ValueError(f"start_drawing: out must have shape {(len(labels), 28, 28)}, got {views.shape}")
    return Drawing(views, labels.astype(np.intp), renditions.astype(str), tasks, processes, progress, after)


class Drawing:
    """A set of drawings being made by a background thread (and its worker processes).

    labels, renditions: known from the start; views: filled as chunks arrive. `wait_for(indices)`
    blocks until those views are drawn, `finished()` until all are (then returns them), `close()`
    stops early. A failure in the background is raised again by the next wait.
    """

    def __init__(self, views, labels, renditions, tasks, processes, progress=None, after=None):
        import threading

        self.views, self.labels, self.renditions = views, labels, renditions
        self._ready = np.zeros(len(labels), bool)
        self._all_ready = len(labels) == 0
        self._error = None
        self._ended = False  # the background thread has returned
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(
            target=self._draw, args=(tasks, processes, progress, after), daemon=True, name="drawing"
        )
        self._thread.start()

    @property
    def done(self):
        """How many drawings are made."""
        return len(self.labels) if self._all_ready else int(self._ready.sum())

    def wait_for(self, indices):
        """Block until the drawings at `indices` are made."""
        if self._all_ready:
            return
        with self._changed:
            while self._error is None and not self._ended and not self._ready[indices].all():
                self._changed.wait()
            ready = self._ready[indices].all()
        if self._error is not None:
            raise RuntimeError(f"drawing the synthetic data failed: {self._error}") from self._error
        if not ready:
            raise RuntimeError("drawing was stopped (close()) before these drawings were made")

    def finished(self):
        """(views, labels, renditions) once every drawing is made."""
        self.wait_for(slice(None))
        self._thread.join()
        return self.views, self.labels, self.renditions

    def close(self):
        """Stop drawing (the views not yet made stay zero) and end the worker processes."""
        self._stop.set()
        self._thread.join()

    def _draw(self, tasks, processes, progress, after):
        try:
            if after is not None:
                after.finished()
            chunks = _run(tasks, processes)
            try:
                for indices, chunk in chunks:
                    self.views[indices] = chunk
                    with self._changed:
                        self._ready[indices] = True
                        self._all_ready = bool(self._ready.all())
                        self._changed.notify_all()
                    if progress is not None:
                        progress(self.done)
                    if self._stop.is_set():
                        break
            finally:
                chunks.close()
        except Exception as error:  # raised again in the waiting thread
            with self._changed:
                self._error = error
        finally:
            with self._changed:
                self._ended = True
                self._changed.notify_all()


def _run(tasks, processes):
    """(indices, views) of every task, in order, drawn by `processes` worker processes.

    The workers are fresh Pythons running this module (`python -m handdigit.data.drawings`), not
    forks of this process (which may run threads) nor spawns that re-import the caller's script:
    each reads a task (a JSON line, then the writers' images as raw bytes) and answers with the
    views as raw float32 bytes. One BLAS and Numba thread each: the processes share the cores."""
    if processes <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield task[1], _draw_chunk(*task)
        return
    import subprocess
    import sys
    import threading

    environment = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "NUMBA_NUM_THREADS": "1",
        "TINYCNN_WORKERS": "1",
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "handdigit.data.drawings"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
        )
        for _ in range(min(processes, len(tasks)))
    ]

    def feed(worker, mine):
        try:
            for seed, indices, labels, renditions, has_writer, sources, canvas in mine:
                header = {
                    "seed": _words(seed), "indices": indices.tolist(), "labels": labels.tolist(),
                    "renditions": [str(r) for r in renditions], "has_writer": has_writer.tolist(), "canvas": int(canvas),
                }  # fmt: skip
                worker.stdin.write((json.dumps(header) + "\n").encode())
                worker.stdin.write(np.ascontiguousarray(sources, np.uint8).tobytes())
                worker.stdin.flush()
            worker.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # the worker died: reading its answer says so

    feeders = [
        threading.Thread(target=feed, args=(worker, tasks[number :: len(workers)]), daemon=True)
        for number, worker in enumerate(workers)
    ]
    for feeder in feeders:
        feeder.start()
    try:
        for number, task in enumerate(tasks):
            worker = workers[number % len(workers)]
            size = len(task[2]) * 28 * 28 * 4
            answer = worker.stdout.read(size)
            if len(answer) != size:
                raise RuntimeError(f"a drawing process ended early (exit code {worker.wait()})")
            yield task[1], np.frombuffer(answer, np.float32).reshape(-1, 28, 28).copy()
    finally:
        for worker in workers:  # every answer read, or stopped early: none is needed any more
            if worker.poll() is None:
                worker.kill()
            worker.wait()


def _serve():
    """A worker process: draw the chunks described on stdin, answer each on stdout (see _run)."""
    import sys

    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while True:
        line = source.readline()
        if not line:
            return
        task = json.loads(line)
        count = len(task["labels"])
        sources = np.frombuffer(source.read(count * 28 * 28), np.uint8).reshape(count, 28, 28)
        views = _draw_chunk(
            task["seed"], np.array(task["indices"]), np.array(task["labels"]), np.array(task["renditions"], object),
            np.array(task["has_writer"], bool), sources, task["canvas"],
        )  # fmt: skip
        sink.write(np.ascontiguousarray(views, np.float32).tobytes())
        sink.flush()


def _draw_chunk(seed, indices, labels, renditions, has_writer, sources, canvas):
    """The (n, 28, 28) views of the drawings at `indices` (see drawn_views)."""
    from handdigit.preprocess import to_mnist

    views = np.zeros((len(labels), 28, 28), np.float32)
    for offset, (index, label, rendition, writer, source) in enumerate(
        zip(indices, labels, renditions, has_writer, sources, strict=True)
    ):
        rng = np.random.default_rng([*_words(seed), 1, int(index)])
        view = None
        while view is None:  # a drawing too faint to count as a digit is drawn again
            image = draw(int(label), str(rendition), rng, canvas, source if writer else None)
            view = to_mnist(image.astype(np.float32) / np.float32(255))
        views[offset] = view
    return views


def draw(label, rendition, rng, canvas=84, writer=None):
    """One drawing, (canvas, canvas) uint8, dark ink on white: of digit `label` (or of something
    that is not a digit, label NOT_A_DIGIT) in `rendition`; `writer`: a (28, 28) MNIST digit to
    redraw for the "writer" and "low-res" renditions."""
    from handdigit.data import nondigits, synthetic
    from handdigit.preprocess import rasterize

    if rendition == "writer" and writer is not None:
        return synthetic.restroke(writer, rng.uniform(0.03, 0.2) * canvas, canvas)
    if rendition == "low-res" and writer is not None:  # the writer's own scan, coarser
        return synthetic.low_resolution(_enlarged(255 - writer, canvas), int(rng.integers(7, 17)), rng)
    if label == NOT_A_DIGIT:
        group, kind = nondigits.random_kind(rng)
        unit_strokes = nondigits.nondigit_strokes(group, kind, rng)
        rotation = 30.0 if group in ("shape", "scribble") else 12.0  # a symbol turned far can look like a 7
    else:
        styles = list(synthetic.STYLES[label])
        unit_strokes = synthetic.STYLES[label][styles[rng.integers(len(styles))]]
        rotation = 12.0
    brush = rng.uniform(0.02, 0.11) * canvas
    if rendition == "extreme":
        choice = rng.integers(4)
        height = (0.04, 0.12) if choice == 0 else (0.2, 0.85)
        aspect = (0.35, 0.6) if choice == 1 else (1.6, 2.6) if choice == 2 else (0.7, 1.35)
        strokes = synthetic.place_strokes(
            unit_strokes, rng, canvas, rotation=rotation, aspect=aspect, height=height
        )
        if choice == 0:
            brush = rng.uniform(0.008, 0.03) * canvas
        elif choice == 3:
            brush = (rng.uniform(0.005, 0.015) if rng.random() < 0.5 else rng.uniform(0.14, 0.22)) * canvas
        return rasterize(strokes, canvas, max(brush, 1.0))
    if rendition == "polyline":
        unit_strokes = synthetic.as_written(unit_strokes, rng, lift=0.4, reorder=0.4)
    ruler = rendition == "style" and rng.random() < RULER_SHARE
    strokes = synthetic.place_strokes(unit_strokes, rng, canvas, rotation=rotation, ruler=ruler)
    if rendition == "polyline":
        strokes = synthetic.as_polyline(strokes, int(rng.integers(6, 15)), join_pen_ups=rng.random() < 0.7)
        brush = rng.uniform(0.015, 0.09) * canvas
    image = rasterize(strokes, canvas, brush)
    if rendition == "low-res":
        image = synthetic.low_resolution(image, int(rng.integers(7, 17)), rng)
    return image


def _words(seed):
    """A seed (an int, or a sequence of ints such as (run seed, stream)) as a list of ints."""
    return [int(word) for word in np.atleast_1d(np.asarray(seed, dtype=np.int64))]


def _enlarged(image, canvas):
    """image (h, w) uint8 scaled to (canvas, canvas), bilinear."""
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((canvas, canvas), Image.Resampling.BILINEAR))


def _available_cpus():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


if __name__ == "__main__":
    _serve()
