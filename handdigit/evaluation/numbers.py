"""Numbers of several digits to measure `Recognizer.read_number` on, composed two ways:

- **mnist**: 2-5 MNIST test digits written on one line, each cropped to its ink and scaled
  (the number's size, each digit within 15% of it), standing on a baseline that wanders a few
  pixels, with gaps from touching (-2 px between ink boxes) to half a digit's height;
- **drawn**: 2-5 digits of one Hershey vector font (stroke by stroke, a generator training never
  used), slanted together, one pen (3 px to 14% of the height), gaps between ink edges from
  slightly touching (-4% of the height) to 45% of it.

    report = evaluate_numbers(recognizer, count=500, seed=2026)
    report["mnist"]["right"], report["drawn"]["by_length"], ...
"""

import time

import numpy as np

SOURCES = ("mnist", "drawn")


def compose_from_mnist(images, labels, rng, with_indices=False, lengths=(2, 5)):
    """(image (H, W) uint8 dark on white, the digits as text) of one number from MNIST digits
    (and the digits' indices in `images` when `with_indices`), of lengths[0] to lengths[1] digits."""
    from PIL import Image

    count = int(rng.integers(lengths[0], lengths[1] + 1))
    chosen = rng.integers(len(labels), size=count)
    size = rng.uniform(1.4, 2.2)
    pieces = []
    for index in chosen:
        digit = images[index].astype(np.float32) / 255
        rows, columns = np.flatnonzero(digit.max(axis=1) > 0.1), np.flatnonzero(digit.max(axis=0) > 0.1)
        digit = digit[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
        scale = size * rng.uniform(0.85, 1.15)
        shape = (max(1, round(digit.shape[1] * scale)), max(1, round(digit.shape[0] * scale)))
        pieces.append(np.asarray(Image.fromarray(digit).resize(shape, Image.Resampling.BILINEAR)))
    tallest = max(piece.shape[0] for piece in pieces)
    canvas = np.zeros(
        (tallest + 40, sum(p.shape[1] for p in pieces) + int(0.5 * tallest) * count + 40), np.float32
    )
    x = 20
    for piece in pieces:
        y = min(
            max(20 + tallest - piece.shape[0] + int(rng.integers(-4, 5)), 0), canvas.shape[0] - piece.shape[0]
        )
        region = canvas[y : y + piece.shape[0], x : x + piece.shape[1]]
        np.maximum(region, piece[: region.shape[0], : region.shape[1]], out=region)
        x = max(0, x + piece.shape[1] + int(rng.integers(-2, int(0.5 * tallest) + 1)))
    canvas = canvas[:, : x + 20]
    text = "".join(str(labels[index]) for index in chosen)
    image = (255 * (1 - np.clip(canvas, 0, 1))).astype(np.uint8)
    return (image, text, chosen) if with_indices else (image, text)


def compose_drawn(rng, lengths=(2, 5)):
    """(image (H, W) uint8 dark on white, the digits as text) of one number of lengths[0] to
    lengths[1] digits drawn with a Hershey vector font."""
    from handdigit.data.hershey import glyph
    from handdigit.evaluation.proxies import HERSHEY_DIGIT_FONTS
    from handdigit.preprocess import rasterize

    count = int(rng.integers(lengths[0], lengths[1] + 1))
    digits = rng.integers(10, size=count)
    font = HERSHEY_DIGIT_FONTS[rng.integers(len(HERSHEY_DIGIT_FONTS))]
    height = rng.uniform(50, 110)
    pen = rng.uniform(3, 0.14 * height)
    slant = rng.uniform(-0.3, 0.3)
    placed, x = [], 20.0
    for digit in digits:
        strokes = glyph(str(digit), font)
        every = np.concatenate(strokes)
        low, high = every.min(axis=0), every.max(axis=0)
        scale = height * rng.uniform(0.9, 1.1) / max(high[1] - low[1], 1e-6)
        top = 20 + rng.uniform(-0.06, 0.06) * height
        shaped = []
        for stroke in strokes:
            points = (stroke - low) * scale
            points[:, 0] += slant * (height - points[:, 1])
            shaped.append(points)
        left = np.concatenate(shaped)[:, 0].min()
        shaped = [points + (x - left, top) for points in shaped]
        placed.extend(shaped)
        x = np.concatenate(shaped)[:, 0].max() + pen + rng.uniform(-0.04, 0.45) * height
    every = np.concatenate(placed)
    size = (int(every[:, 1].max() + 25), int(every[:, 0].max() + 25))
    return rasterize([points.tolist() for points in placed], size, pen), "".join(map(str, digits))


def evaluate_numbers(recognizer, count=500, seed=2026, mnist=None, sources=SOURCES):
    """{source: {"right", "count", "by_length": {n: [right, count]}, "wrong": [(truth, read)],
    "ms_per_number"}} of `count` composed numbers per source; for "mnist" also "alone": [right,
    count] of the numbers whose every digit the recognizer reads right on its own (what the
    segmentation gets right when the digits themselves are no obstacle)."""
    if "mnist" in sources and mnist is None:
        from handdigit.data import load_mnist

        mnist = load_mnist()
    if "mnist" in sources:
        read_alone = recognizer.predict_proba(mnist.test_images).argmax(axis=1) == mnist.test_labels
    report = {}
    for number, source in enumerate(sources):
        rng = np.random.default_rng([seed, number])
        right, by_length, wrong, seconds, alone = 0, {}, [], 0.0, [0, 0]
        for _ in range(count):
            if source == "mnist":
                image, truth, chosen = compose_from_mnist(mnist.test_images, mnist.test_labels, rng, True)
            else:
                (image, truth), chosen = compose_drawn(rng), None
            started = time.perf_counter()
            text = recognizer.read_number(image).text
            seconds += time.perf_counter() - started
            tally = by_length.setdefault(len(truth), [0, 0])
            tally[0] += text == truth
            tally[1] += 1
            right += text == truth
            if chosen is not None and read_alone[chosen].all():
                alone[0] += text == truth
                alone[1] += 1
            if text != truth:
                wrong.append((truth, text))
        report[source] = {
            "right": right,
            "count": count,
            "by_length": dict(sorted(by_length.items())),
            "wrong": wrong,
            "ms_per_number": 1000 * seconds / count,
            **({"alone": alone} if source == "mnist" else {}),
        }
    return report
