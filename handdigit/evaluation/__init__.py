"""Stage 4, the weights measured and described: accuracy, loss, per-class precision and recall,
calibration and figures on the MNIST test set and on drawn digits, the latter through the
Recognizer as a user's drawing goes (`handdigit.evaluation.metrics`, `handdigit evaluate`), and the
model card of the shipped weights (`handdigit.evaluation.model_card`, `python -m handdigit.model_card
RUN_DIR`).

    from handdigit.evaluation import evaluate_weights
    report = evaluate_weights()                 # the shipped weights on the test set
"""

from handdigit.evaluation.metrics import (
    CALIBRATION_BINS,
    DRAWN_SEED,
    confusion_matrix,
    evaluate_drawn,
    evaluate_model,
    evaluate_weights,
    load_model,
    precision_recall,
    reliability,
    write_figures,
)

__all__ = [
    "CALIBRATION_BINS",
    "DRAWN_SEED",
    "reliability",
    "confusion_matrix",
    "evaluate_drawn",
    "evaluate_model",
    "evaluate_weights",
    "load_model",
    "precision_recall",
    "write_figures",
]
