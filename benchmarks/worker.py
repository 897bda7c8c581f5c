"""One contender in its own process, doing one piece of work per command (JSON lines on stdin).

A process per contender keeps their thread pools, allocators and peak memory apart, and lets the
parent interleave them: it sends "epoch" to each in turn, so all see the same machine load.

    python benchmarks/worker.py CONTENDER [IMAGES]   # then commands on stdin, one JSON reply per line:
    {"do": "epoch"}                            -> {"seconds", "loss", "accuracy", "max_rss_mib"}
    {"do": "latency", "repeats": 300}          -> {"samples_ms": [...], "max_rss_mib"}
    {"do": "throughput", "images": 10000}      -> {"seconds", "images_per_s", "max_rss_mib"}
    {"do": "quit"}
Thread settings: every worker gets the same environment (see THREAD_ENVIRONMENT) and 2 threads.
"""

import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TRAIN_IMAGES = 42_000
THREAD_ENVIRONMENT = {
    "OMP_NUM_THREADS": "2",
    "OPENBLAS_NUM_THREADS": "2",
    "MKL_NUM_THREADS": "2",
    "NUMBA_NUM_THREADS": "2",
    "TF_NUM_INTRAOP_THREADS": "2",
    "TF_NUM_INTEROP_THREADS": "2",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    # NumPy's OpenBLAS only (what tinycnn sets when imported first): idle threads sleep within ~20 us.
    "OPENBLAS_THREAD_TIMEOUT": "16",
}


def max_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds():
    """CPU time (user + system) this process and its threads have used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_data(count=TRAIN_IMAGES):
    from handdigit.data import load_mnist

    mnist = load_mnist(os.environ.get("HANDDIGIT_DATA"), progressbar=False)
    images = (mnist.train_images[:count].astype(np.float32) / 255)[..., None]
    test = (mnist.test_images.astype(np.float32) / 255)[..., None]
    return images, mnist.train_labels[:count].astype(np.intp), test


def main():
    from contenders import CONTENDERS

    name = sys.argv[1]
    images, labels, test = load_data(int(sys.argv[2]) if len(sys.argv) > 2 else TRAIN_IMAGES)
    contender = CONTENDERS[name](images, labels)
    rng = np.random.default_rng(1)
    print(json.dumps({"ready": True, "max_rss_mib": max_rss_mib()}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command["do"] == "quit":
            break
        if command["do"] == "epoch":
            order = rng.permutation(len(labels))
            started = time.perf_counter()
            loss, accuracy = contender.train_epoch(order)
            reply = {
                "seconds": time.perf_counter() - started,
                "loss": float(loss),
                "accuracy": float(accuracy),
            }
        elif command["do"] == "latency":
            samples = []
            for index in range(command["repeats"]):
                image = test[index % len(test)][None]
                started = time.perf_counter()
                contender.predict(image)
                samples.append((time.perf_counter() - started) * 1e3)
            reply = {"samples_ms": samples}
        elif command["do"] == "throughput":
            batch = test[: command["images"]]
            started = time.perf_counter()
            contender.predict(batch)
            seconds = time.perf_counter() - started
            reply = {"seconds": seconds, "images_per_s": len(batch) / seconds}
        elif command["do"] == "cpu":
            reply = {}
        else:
            reply = {"error": f"unknown command {command['do']!r}"}
        reply["max_rss_mib"] = max_rss_mib()
        reply["cpu_seconds"] = cpu_seconds()
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
