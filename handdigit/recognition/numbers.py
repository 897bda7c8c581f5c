"""Reading a number of several digits: the image cut into digits, each read by the Recognizer.

    reading = recognizer.read_number(image)   # anything Recognizer.predict accepts
    reading.text      # "42"; "" when there is no digit
    reading.digits    # [Prediction, ...], left to right, one per character of text
    reading.boxes     # [(x0, y0, x1, y1), ...] in the image's pixels, x1 and y1 exclusive

Segmentation by recognition, on the image's ink (handdigit.preprocess.ink_from_image), first
sheared upright (the shear that leaves the fewest columns with ink: leaning digits overlap):
1. **Pieces**: the strong ink (above INK_LEVEL) in 8-connected pieces (scipy.ndimage.label); a
   piece far smaller than the others in both size and ink (a stray dot) is dropped.
2. **Parts**: a piece whose horizontal centre lies within another's extent belongs to it (a 4 or
   a 5 drawn in two strokes, a 7's crossbar): a number's digits stand side by side, and a slanted
   neighbour never overlaps up to its middle.
3. **Where a digit may end**: between two parts (a straight line down the gap), and, inside a part
   wider than SPLIT_FROM times its height (touching digits), near the columns where its ink is
   thinnest, along the path down through the least ink; and straight down that column too when
   the straight line crosses fewer strokes than the path (two round digits touching side by side
   merge their sides into one thick stroke, which the path goes round, through the inside of one
   of them: two touching 0s were read "130", a C, a 3 and a 0).
4. **The best reading**: every run from one such place to another (narrow enough to be a digit)
   is read by the network, upright and as written (the two views' logits averaged: setting a
   number upright bends each digit a little); the reading chosen is the sequence of runs whose
   scores (how much each looks like a digit, on the weights' not-a-digit scale) add up highest,
   each run paying SEGMENT_COST (a run that is not a digit NOT_A_DIGIT_COST more, and so does a
   run read as 1 less than ONE_HEIGHT as high as the typical part: a 1 stands as tall as the
   digits beside it, a shorter stroke is a piece of one of them; or one a straight cut bounds,
   the side of a round digit), and a run that takes in parts
   with paper between them paying up to MERGE_COST as that gap widens; a cut whose path crosses
   more than FREE_CROSSINGS strokes pays CROSSING_COST for each one more (touching digits meet at
   one place; a cut down the middle of a 0 or an 8 crosses two strokes). So two halves of an 8
   must each look more like a digit than the whole 8 does, a 1 broken in two pieces is read whole,
   and a 1 beside a 0 is not read as one 6.
5. **What is left out**: runs far shorter than the number's digits (a dash, a bar cut off a shape);
   runs the rule calls "not a digit"; a whole part only when it scores
   RELAXED below the rule's threshold (beside other digits, a digit-sized mark is more likely an
   odd digit than a letter), a run cut out of a part as the rule says. (Cutting can make digit-like
   halves of a wide shape: a five-pointed star reads "88".)

An image read as one run is read by Recognizer.predict on the whole image, so that for a one-digit
image `text == str(recognizer.predict(image).digit)` (or "" when predict says "not a digit").
"""

from dataclasses import dataclass, field

import numpy as np

from handdigit.preprocess import ink_from_image
from handdigit.recognition.calibration import NEEDS_HEAD
from handdigit.recognition.images import load_image

INK_LEVEL = 0.25  # ink above this is a stroke for the pieces; fainter ink is an edge
SLANTS = np.linspace(-0.6, 0.6, 25)  # shears tried to set leaning handwriting upright
SPECK_SIZE = 0.3  # a piece smaller than this share of the typical piece's height ...
SPECK_INK = 0.15  # ... with less than this share of the most ink is a speck
INSET = 0.1  # a piece whose centre lies within another's extent (less this share at each side) is part of it
SPLIT_FROM = 0.75  # a part wider than this times its height may be touching digits
MIN_DIGIT_WIDTH = 0.1  # cuts inside a part at least this share of its height apart
EVEN_CUTS = 0.3  # inside a wide part, a cut is also tried every this share of its height
CUT_MARGIN = 0.0  # a run cut out of a part must score this far above the threshold to be a digit (5 cost
# a sixth of the MNIST numbers whose digits touch)
CUT_BAND = 0.1  # a cut's path strays at most this share of the part's height from its column
STRAIGHTNESS = 0.01  # what a cut's path pays per column it strays, against ink it crosses
MAX_DIGIT_WIDTH = 1.4  # a run wider than this times the typical height is not tried as one digit
SEGMENT_COST = 10.0  # what each digit of a reading must earn (digit-odds scale: log-odds)
SCORE_CAP = 40.0  # a run's score counts up to this: one very clear digit cannot carry a bad one
NOT_A_DIGIT_COST = 10.0  # more for a run the rule calls "not a digit"
MERGE_COST = 5.0  # reading two parts as one digit costs up to this, as the paper between them widens
CLEAR_GAP = 0.25  # ... the full cost from a gap of this share of the typical height
CROSSING_COST = 5.0  # a cut through more than FREE_CROSSINGS strokes pays this for each one more
FREE_CROSSINGS = 1  # (touching digits meet at one place; a cut down the middle of a 0 crosses two)
SHORTEST = 0.4  # a run less high than this share of the typical part's height is not a digit (a dash, a dot, a cut bar)
RELAXED = 6.0  # inside a number, a run is left out only this far below the not-a-digit threshold
ONE_HEIGHT = 0.7  # a run read as 1 less high than this share of the typical part's height is doubtful
MARGIN = 0.15  # paper around each run, as a share of its height, as a drawing has


@dataclass(frozen=True)
class NumberReading:
    """The digits read in an image, left to right (see the module docstring)."""

    text: str
    digits: list = field(default_factory=list)
    boxes: list = field(default_factory=list)


@dataclass
class _Run:
    """The ink between two edges, as a drawing to read: `upright` from the sheared image, `as_written`
    the same pixels where they are in the image; its box in the image's pixels, the widest gap
    between the parts in it, and whether it cuts through a part."""

    upright: np.ndarray
    as_written: np.ndarray
    box: tuple
    gap: int
    cut: bool


@dataclass
class _Part:
    labels: list  # the piece labels in this part
    x0: int
    y0: int
    x1: int
    y1: int
    cuttable: bool = False

    @property
    def width(self):
        return self.x1 - self.x0

    @property
    def height(self):
        return self.y1 - self.y0

    @property
    def centre(self):
        return (self.x0 + self.x1) / 2


def read_number(recognizer, image, polarity="auto"):
    """The NumberReading of `image` by `recognizer` (a handdigit Recognizer)."""
    from scipy import ndimage

    luminance, alpha = load_image(image)
    ink, offsets = _upright(ink_from_image(luminance, alpha, polarity))
    labels, count = ndimage.label(ink > INK_LEVEL, structure=np.ones((3, 3), bool))
    if count == 0:
        return NumberReading("")
    parts = _grouped(_without_specks(_pieces(labels, ink, ndimage.find_objects(labels))))
    owner = ndimage.grey_dilation(labels, size=(3, 3))  # faint edges go with the stroke beside them
    typical_height = float(np.median([part.height for part in parts]))
    edges, crossings, keys = _edges(ink, labels, parts)
    columns = [int(key) for key in keys]
    runs = {}
    widest = MAX_DIGIT_WIDTH * typical_height
    for i in range(len(edges)):
        for j in range(i + 1, len(edges)):
            if columns[i] == columns[j]:
                continue  # a cut's path and its straight twin: between them lies a sliver of stroke
            if edges[j].min() - edges[i].max() > 2 * widest and j > i + 1:
                break  # the edges lie in the gaps: a run's ink is narrower than its span
            run = _run(ink, labels, owner, parts, edges[i], edges[j], offsets)
            if run is not None and (j == i + 1 or run.box[2] - run.box[0] <= widest):
                runs[(i, j)] = run
    spans = list(runs)
    predictions = dict(zip(spans, _read_runs(recognizer, [runs[span] for span in spans]), strict=True))
    merging = {span: MERGE_COST * min(1.0, runs[span].gap / (CLEAR_GAP * typical_height)) for span in spans}
    cut = {span: runs[span].cut for span in spans}
    height = {span: runs[span].box[3] - runs[span].box[1] for span in spans}
    short = {span: height[span] < SHORTEST * typical_height for span in spans}
    straight = [column != key for column, key in zip(columns, keys, strict=True)]
    short_one = {
        span: predictions[span].digit == 1
        and (height[span] < ONE_HEIGHT * typical_height or straight[span[0]] or straight[span[1]])
        for span in spans
    }
    chosen = _best_reading(recognizer, spans, predictions, merging, cut, short_one, crossings)
    if len(chosen) == 1 and chosen[0] == (0, len(edges) - 1):  # one digit: predict's answer, its rule's too
        whole = recognizer.predict(image, polarity)
        kept = [] if whole.digit is None or whole.not_a_digit else [whole]
        return NumberReading("".join(str(p.digit) for p in kept), kept, [runs[chosen[0]].box for _ in kept])
    return _reading(
        [
            (predictions[span], runs[span].box, -CUT_MARGIN if runs[span].cut else RELAXED)
            for span in chosen
            if not short[span]
        ],
        recognizer.calibration,
    )


def _read_runs(recognizer, runs):
    """A Prediction for each run, from the network's logits for its upright and its as-written
    drawing averaged: setting a leaning number upright bends each digit a little, and the average
    of the two views misreads fewer digits than either alone."""
    views = [[recognizer.preprocess(run.upright), recognizer.preprocess(run.as_written)] for run in runs]
    seen = [[view for view in pair if view is not None] for pair in views]
    readable = [index for index, pair in enumerate(seen) if pair]
    predictions = [recognizer.no_digit()] * len(runs)
    if readable:
        logits, distances = recognizer.outputs(np.stack([view for index in readable for view in seen[index]]))
        row = 0
        for index in readable:
            count = len(seen[index])
            distance = None
            if distances is not None:  # the geometric mean: the rule reads the log of a distance
                distance = float(np.exp(np.log(np.maximum(distances[row : row + count], 1e-12)).mean()))
            predictions[index] = recognizer._prediction(
                logits[row : row + count].mean(axis=0), seen[index][0], distance
            )
            row += count
    return predictions


def _best_reading(recognizer, spans, predictions, merging, cut, short_one, crossings):
    """The spans, from the first edge to the last, whose values (less what merging parts across
    a gap costs, and what cutting through strokes costs) add up highest."""
    edge_count = len(crossings)
    best = {0: (0.0, [])}
    for j in range(1, edge_count):
        through = CROSSING_COST * max(0, crossings[j] - FREE_CROSSINGS) if j < edge_count - 1 else 0.0
        options = [
            (
                best[i][0]
                + _value(recognizer, predictions[(i, j)], cut[(i, j)], short_one[(i, j)])
                - merging[(i, j)]
                - through,
                [*best[i][1], (i, j)],
            )
            for (i, end) in spans
            if end == j and i in best
        ]
        if options:
            best[j] = max(options, key=lambda option: option[0])
    return best.get(edge_count - 1, (0.0, []))[1]


def _value(recognizer, prediction, cut=False, short_one=False):
    """What a run adds to a reading: its digit score (capped) less the cost of one more digit,
    and more if it is not a digit (for a run cut out of a part: unless it is clearly one), or a 1
    far shorter than the digits beside it (a piece of one of them)."""
    if prediction.digit is None:
        return -1e9
    if recognizer.calibration.score in NEEDS_HEAD:  # the head's log-odds, whatever the rule adds
        score = prediction.digit_odds
    else:  # no rule in the weights: the log-odds of the most probable digit
        confidence = min(prediction.confidence, 1 - 1e-9)
        score = float(np.log(confidence / (1 - confidence)))
    doubtful = (
        short_one
        or _below(recognizer.calibration, prediction, 0.0)
        or (cut and _below(recognizer.calibration, prediction, -CUT_MARGIN))
    )
    return min(score, SCORE_CAP) - SEGMENT_COST - (NOT_A_DIGIT_COST if doubtful else 0.0)


def _below(calibration, prediction, relaxed):
    """True when the rule would call it "not a digit" with its threshold lowered by `relaxed`;
    for the "odds-and-distance" rule, the head's own rule (its digit odds against their
    threshold): a piece cut out of touching digits lies far from whole digits' features, which
    the distance would hold against it (measured: 1 in 80 more MNIST numbers misread)."""
    if calibration.score == "odds-and-distance":
        return prediction.digit_odds < calibration.odds_threshold - relaxed
    return calibration.threshold is not None and prediction.score < calibration.threshold - relaxed


def _reading(readings, calibration):
    """The NumberReading of [(Prediction, box, how far below the threshold it may score)]."""
    kept = []
    for prediction, box, relaxed in readings:
        if prediction.digit is None:
            continue
        if _below(calibration, prediction, relaxed):
            continue
        kept.append((prediction, box))
    return NumberReading(
        "".join(str(p.digit) for p, _ in kept), [p for p, _ in kept], [box for _, box in kept]
    )


def _pieces(labels, ink, slices):
    pieces = []
    for label, where in enumerate(slices, start=1):
        if where is not None:
            rows, columns = where
            amount = float(ink[where][labels[where] == label].sum())
            pieces.append((label, columns.start, rows.start, columns.stop, rows.stop, amount))
    return pieces


def _without_specks(pieces):
    typical_height = np.median([y1 - y0 for _, _, y0, _, y1, _ in pieces])
    most_ink = max(amount for *_, amount in pieces)
    kept = [
        piece
        for piece in pieces
        if max(piece[4] - piece[2], piece[3] - piece[1]) >= SPECK_SIZE * typical_height
        or piece[5] >= SPECK_INK * most_ink
    ]
    return kept or pieces


def _grouped(pieces):
    """Pieces merged into parts wherever one's horizontal centre lies within another (transitively),
    sorted left to right."""
    parts = [_Part([label], x0, y0, x1, y1) for label, x0, y0, x1, y1, _ in pieces]
    merged = True
    while merged:
        merged = False
        pairs = [(i, j) for i in range(len(parts)) for j in range(i + 1, len(parts))]
        for i, j in pairs:
            a, b = parts[i], parts[j]
            narrow, wide = (a, b) if a.width <= b.width else (b, a)
            inset = INSET * wide.width
            if wide.x0 + inset <= narrow.centre <= wide.x1 - inset:
                parts[i] = _Part(
                    a.labels + b.labels, min(a.x0, b.x0), min(a.y0, b.y0), max(a.x1, b.x1), max(a.y1, b.y1)
                )
                del parts[j]
                merged = True
                break
    return sorted(parts, key=lambda part: part.centre)


def _edges(ink, labels, parts):
    """Where a digit may start or end, as (column, the boundary's column in every row), left to
    right: the first part's left, between parts (a straight line down the gap), the thinnest
    places inside wide parts (a path down through the least ink: touching digits lean and curl
    into each other), the last part's right."""
    height = ink.shape[0]
    edges = {parts[0].x0: np.full(height, parts[0].x0), parts[-1].x1: np.full(height, parts[-1].x1)}
    crossings = dict.fromkeys(edges, 0)
    for index, part in enumerate(parts):
        if part.width > SPLIT_FROM * part.height:
            cuts = _cuts(ink, labels, part)
            part.cuttable = bool(cuts)
            for cut in cuts:
                edges[cut], crossings[cut] = _cut_path(ink, labels, part, cut)
                straight, crossed = _straight_cut(ink, labels, part, cut)
                if crossed < crossings[cut]:  # its straight twin, just after it (keys sort by column)
                    edges[cut + 0.5], crossings[cut + 0.5] = straight, crossed
        if index + 1 < len(parts):
            following = parts[index + 1]
            between = (part.x1 + following.x0) / 2  # the gap's middle, kept between the two centres
            column = int(round(min(max(between, part.centre + 1), following.centre - 1)))
            edges[column], crossings[column] = np.full(height, column), 0
    keys = sorted(edges)
    return [edges[key] for key in keys], [crossings[key] for key in keys], keys


def _straight_cut(ink, labels, part, column):
    """The boundary straight down `column` through a part, and how many strokes it crosses: where
    two round digits touch side by side, their sides merge into one thick stroke, which a path
    through the least ink goes round (through one digit's inside, cutting it in two)."""
    rows = slice(part.y0, part.y1)
    stroke = (ink[rows, column] > INK_LEVEL) & np.isin(labels[rows, column], part.labels)
    return np.full(ink.shape[0], column), int(np.count_nonzero(stroke[1:] & ~stroke[:-1]) + stroke[0])


def _cut_path(ink, labels, part, column):
    """The boundary through a part near `column`: from its top row to its bottom, one column to
    the side at most per row, crossing as little ink as it can (dynamic programming)."""
    band = max(1, int(CUT_BAND * part.height))
    left, right = max(part.x0, column - band), min(part.x1, column + band + 1)
    rows = slice(part.y0, part.y1)
    cost = ink[rows, left:right] * np.isin(labels[rows, left:right], part.labels)
    cost = cost + STRAIGHTNESS * np.abs(np.arange(left, right) - column)[None, :]
    total = cost[0].copy()
    came_from = np.zeros(cost.shape, int)
    for row in range(1, len(cost)):
        neighbours = np.stack([np.r_[np.inf, total[:-1]], total, np.r_[total[1:], np.inf]])
        step = np.argmin(neighbours, axis=0)
        came_from[row] = np.arange(len(total)) + step - 1
        total = cost[row] + neighbours[step, np.arange(len(total))]
    path = np.empty(len(cost), int)
    path[-1] = int(np.argmin(total))
    for row in range(len(cost) - 1, 0, -1):
        path[row - 1] = came_from[row, path[row]]
    boundary = np.full(ink.shape[0], column)
    boundary[rows] = left + path
    crossed = cost[np.arange(len(path)), path] - STRAIGHTNESS * np.abs(left + path - column) > INK_LEVEL
    return boundary, int(np.count_nonzero(crossed[1:] & ~crossed[:-1]) + crossed[0])


def _cuts(ink, labels, part, count=16):
    """Columns inside a part to try cutting at: the local minima of its column profile (thinnest
    first), then every EVEN_CUTS of its height."""
    region = ink[part.y0 : part.y1, part.x0 : part.x1] * np.isin(
        labels[part.y0 : part.y1, part.x0 : part.x1], part.labels
    )
    profile = np.convolve(region.sum(axis=0), np.ones(3) / 3, mode="same")
    spacing = max(2, int(MIN_DIGIT_WIDTH * part.height))
    inside = range(spacing, part.width - spacing)
    minima = [c for c in inside if profile[c] <= profile[c - 1] and profile[c] <= profile[c + 1]]
    # and evenly spaced ones: where round digits touch, the ink is thickest, not thinnest
    every = list(range(spacing, part.width - spacing, max(1, int(EVEN_CUTS * part.height))))
    chosen = []
    for column in [*sorted(minima, key=lambda c: profile[c]), *every]:
        if all(abs(column - other) >= spacing for other in chosen):
            chosen.append(column)
        if len(chosen) == count:
            break
    return sorted(part.x0 + column for column in chosen)


def _upright(ink):
    """(the ink sheared upright, each row's shift): of the shears x' = x + slant (y - middle) for
    slant in SLANTS, the one that leaves the fewest columns with ink. Handwriting leans, and a
    leaning 1 reaches over its neighbour; upright, the paper between digits shows."""
    rows, columns = np.nonzero(ink > INK_LEVEL)
    height, width = ink.shape
    if len(rows) == 0:
        return ink, np.zeros(height, int)
    middle = (rows.min() + rows.max()) / 2
    best_slant, fewest = 0.0, None
    for slant in sorted(SLANTS, key=abs):  # the least shear wins a tie
        occupied = np.unique(columns + np.round(slant * (rows - middle)).astype(int)).size
        if fewest is None or occupied < fewest:
            best_slant, fewest = slant, occupied
    shifts = np.round(best_slant * (np.arange(height) - middle)).astype(int)
    offsets = shifts - shifts.min()  # x' = x + offsets[y], all >= 0
    upright = np.zeros((height, width + offsets.max()), ink.dtype)
    for row in range(height):
        upright[row, offsets[row] : offsets[row] + width] = ink[row]
    return upright, offsets


def _run(ink, labels, owner, parts, start, stop, offsets):
    """The _Run of the ink between two edges (each a column per row): whole parts whose centre lies
    between them, and the pixels between them of parts cut inside; None when there is no ink."""
    mask = np.zeros(ink.shape, bool)
    inside, cut_through = [], False
    columns_here = np.arange(ink.shape[1])[None, :]
    for part in parts:
        rows = slice(part.y0, part.y1)
        middle = (part.y0 + part.y1) // 2
        if part.cuttable:
            between = (columns_here >= start[rows, None]) & (columns_here < stop[rows, None])
        elif start[middle] <= part.centre < stop[middle]:
            between = np.ones((part.height, ink.shape[1]), bool)
        else:
            continue
        strokes = np.isin(labels[rows], part.labels)
        if part.cuttable and not (strokes & between).any():
            continue  # none of this part's strokes lies between the edges
        cut_through |= bool(part.cuttable and (strokes & ~between).any())  # some of it lies outside
        inside.append(part)
        mine = strokes | ((labels[rows] == 0) & np.isin(owner[rows], part.labels))
        mask[rows] |= mine & between
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
    pixel_rows, pixel_columns = np.nonzero(mask)
    original_columns = pixel_columns - offsets[pixel_rows]  # back from the upright image
    box = (int(original_columns.min()), int(y0), int(original_columns.max()) + 1, int(y1))
    run_ink = np.where(mask[y0:y1, x0:x1], ink[y0:y1, x0:x1], 0.0)
    margin = max(2, int(MARGIN * (y1 - y0)))
    gaps = [b.x0 - a.x1 for a, b in zip(inside, inside[1:], strict=False)]
    as_written = np.zeros((y1 - y0, box[2] - box[0]), np.float32)
    as_written[pixel_rows - y0, original_columns - box[0]] = ink[pixel_rows, pixel_columns]
    return _Run(
        1.0 - np.pad(run_ink, margin).astype(np.float32),
        1.0 - np.pad(as_written, margin),
        box,
        max([0, *gaps]),
        cut_through,
    )
