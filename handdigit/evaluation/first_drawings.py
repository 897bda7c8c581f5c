"""What people draw first to test a digit pad, on the pad's canvas at every pen width: is each one
read as "not a digit"?

An L is the first thing people draw to test a digit demo ("an L gives 6, 100%"), and it lies near
the not-a-digit line for every network trained so far: a retrain can move it across while every
proxy stays level (a short-based L reads as a 1 or a 6). So the model card shows these drawings,
each at pens of 8 to 30 CSS pixels on the pad's 280-pixel canvas (the pad's brush runs from 4 to
40, 18 by default), before weights are shipped:

    report = check_first_drawings(Recognizer.load())
    report["flagged"]                         # the share flagged, over every drawing and pen
    report["drawings"]["L"][2]                # {"pen": 18, "not_a_digit": True, "digit": 6, ...}

The browser tests draw the same L, star and A on the pad and its static page.
"""

import numpy as np

CANVAS = 280  # the pad's canvas, CSS pixels
PENS = (8, 12, 18, 24, 30)

L_SHAPE = [[(90, 50), (90, 230), (200, 230)]]  # its base 0.6 of its height
STAR = [
    [
        (140 + 95 * np.cos(np.pi / 2 + k * 4 * np.pi / 5), 150 - 95 * np.sin(np.pi / 2 + k * 4 * np.pi / 5))
        for k in range(6)
    ]
]
LETTER_A = [[(70, 240), (140, 40), (210, 240)], [(100, 165), (180, 165)]]

FIRST_DRAWINGS = {
    "L, short base": [[(105, 50), (105, 230), (168, 230)]],  # base 0.35 of the height
    "L": L_SHAPE,
    "L, wide base": [[(80, 50), (80, 230), (224, 230)]],  # base 0.8
    "star": STAR,
    "A": LETTER_A,
}


def check_first_drawings(recognizer, pens=PENS):
    """{"pens", "drawings": {name: [{"pen", "not_a_digit", "digit", "confidence", "score"}] (one per
    pen)}, "flagged": the share of (drawing, pen) read as not a digit}."""
    from handdigit.preprocess import rasterize

    drawings = {}
    for name, strokes in FIRST_DRAWINGS.items():
        predictions = recognizer.predict_many([rasterize(strokes, CANVAS, pen) for pen in pens])
        drawings[name] = [
            {
                "pen": pen,
                "not_a_digit": bool(prediction.not_a_digit),
                "digit": prediction.digit,
                "confidence": float(prediction.confidence),
                "score": None if prediction.score is None else float(prediction.score),
            }
            for pen, prediction in zip(pens, predictions, strict=True)
        ]
    flags = [entry["not_a_digit"] for entries in drawings.values() for entry in entries]
    return {"pens": list(pens), "drawings": drawings, "flagged": float(np.mean(flags))}


def first_drawings_markdown(report):
    """The report as a Markdown table: a row per drawing, a column per pen, each cell "not a digit"
    or the digit read and its confidence."""
    if not report:
        return ""
    pens = report["pens"]
    rows = "\n".join(
        f"| {name} | "
        + " | ".join(
            "not a digit" if entry["not_a_digit"] else f"**{entry['digit']}** ({entry['confidence']:.0%})"
            for entry in entries
        )
        + " |"
        for name, entries in report["drawings"].items()
    )
    return f"""
### What people draw first

The drawings people try first on a digit pad, drawn on its {CANVAS}-pixel canvas with pens of
{", ".join(str(pen) for pen in pens)} px (`handdigit.evaluation.first_drawings`): **{report["flagged"]:.0%}**
read as "not a digit". A digit in a cell is a drawing the network took for one.

| drawing | {" | ".join(f"{pen} px" for pen in pens)} |
|---|{"---|" * len(pens)}
{rows}
"""
