"""Chunk workers: every chunk runs once, on the worker the rule names, with one-thread BLAS and
serial kernels; errors and forks behave."""

import multiprocessing
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_info

from tinycnn.engine import workers
from tinycnn.kernels import dispatch


@given(n_images=st.integers(0, 600), images_per_chunk=st.integers(-1, 40), count=st.integers(1, 4))
def test_split_covers_every_image_once_in_even_chunks(n_images, images_per_chunk, count):
    chunks = workers.split(n_images, images_per_chunk, count)
    covered = [image for start, stop in chunks for image in range(start, stop)]
    assert covered == list(range(n_images))
    sizes = [stop - start for start, stop in chunks]
    assert all(0 < size <= max(1, images_per_chunk) for size in sizes)
    if chunks:
        rounds = -(-n_images // (max(1, images_per_chunk) * count))
        assert len(chunks) <= rounds * count  # no extra chunk for a remainder
        assert max(sizes) - min(sizes[:-1] or sizes) == 0  # all equal but the last


def test_split_of_the_reference_batch():
    assert workers.split(128, 9, 2) == [(start, start + 8) for start in range(0, 128, 8)]


def record_calls(chunks, count):
    """Run `chunks` on `count` workers whose first chunks wait for each other: they only all
    pass the barrier if they run at the same time."""
    calls, lock = [], threading.Lock()
    barrier = threading.Barrier(min(count, len(chunks)), timeout=20)

    def body(worker, start, stop, first):
        if first:
            barrier.wait()
        with lock:
            calls.append(
                (
                    worker,
                    start,
                    stop,
                    first,
                    threading.get_ident(),
                    getattr(dispatch._this_thread, "serial", False),
                )
            )

    used = workers.run(chunks, body, workers=count)
    return used, calls


@pytest.mark.parametrize("count", [2, 3])
def test_each_worker_runs_its_own_chunks_in_order_at_the_same_time(count):
    chunks = [(start, start + 1) for start in range(7)]
    used, calls = record_calls(chunks, count)
    assert used == count
    for worker in range(count):
        mine = [(start, stop, first) for who, start, stop, first, _, _ in calls if who == worker]
        expected = chunks[worker::count]
        assert mine == [(start, stop, index == 0) for index, (start, stop) in enumerate(expected)]
    threads = {who: {ident for w, *_, ident, _ in calls if w == who} for who in range(count)}
    assert all(len(idents) == 1 for idents in threads.values())
    assert len(set.union(*threads.values())) == count  # each worker its own thread
    assert threads[0] == {threading.get_ident()}  # the caller is worker 0
    assert all(serial for *_, serial in calls)


def test_one_worker_runs_in_the_calling_thread_with_threaded_kernels():
    used, calls = record_calls([(0, 2), (2, 4)], 1)
    assert used == 1
    assert [(worker, start, first) for worker, start, _, first, _, _ in calls] == [
        (0, 0, True),
        (0, 2, False),
    ]
    assert {ident for *_, ident, _ in calls} == {threading.get_ident()}
    assert not any(serial for *_, serial in calls)


def test_blas_runs_on_one_thread_inside_and_as_before_after():
    before = [entry["num_threads"] for entry in threadpool_info() if entry["user_api"] == "blas"]
    seen = []

    def body(worker, start, stop, first):
        seen.append([entry["num_threads"] for entry in threadpool_info() if entry["user_api"] == "blas"])

    workers.run([(0, 1), (1, 2)], body, workers=2)
    assert seen and all(threads == [1] * len(before) for threads in seen)
    assert [entry["num_threads"] for entry in threadpool_info() if entry["user_api"] == "blas"] == before


@pytest.mark.parametrize("failing_worker", [0, 1])
def test_an_error_in_any_worker_is_raised_after_all_have_stopped(failing_worker):
    finished = []

    def body(worker, start, stop, first):
        if worker == failing_worker and first:
            raise ValueError(f"chunk {start} failed")
        finished.append(start)

    with pytest.raises(ValueError, match="failed"):
        workers.run([(index, index + 1) for index in range(6)], body, workers=2)
    other = 1 - failing_worker
    assert sorted(finished) == list(range(6))[other::2]  # the other worker ran to its end
    assert not getattr(dispatch._this_thread, "serial", False)  # the caller's thread restored


def _run_in_child(queue):
    total = np.zeros(2)
    workers.run(
        [(0, 1), (1, 2)], lambda worker, start, stop, first: total.__setitem__(worker, stop), workers=2
    )
    queue.put(total.tolist())


def test_workers_run_in_a_forked_child():
    """The helper thread does not survive a fork; the child makes its own instead of waiting."""
    workers.run([(0, 1), (1, 2)], lambda *arguments: None, workers=2)  # the parent's helper exists
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_run_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the forked child hung in workers.run"
    assert queue.get(timeout=5) == [1.0, 2.0]
