"""Figures: training curves, confusion matrix, misclassified digits, reliability diagram.

matplotlib is imported inside each function (with the file-only Agg backend when no display
backend was chosen), so `import handdigit` stays light. Colours come from the Okabe-Ito palette,
which colour-blind readers can tell apart. Each function saves a PNG atomically and returns its path.
"""

import io

import numpy as np

from handdigit.util import write_atomic

BLUE, ORANGE, GREEN, VERMILION = "#0072B2", "#E69F00", "#009E73", "#D55E00"


def pyplot():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg",) and not matplotlib.is_interactive():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path):
    plt = pyplot()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return write_atomic(path, lambda file: file.write(buffer.getvalue()), mode="wb")


def plot_training_curves(history, path):
    """Loss and accuracy per epoch, training (augmented) and validation."""
    plt = pyplot()
    epochs = [record["epoch"] for record in history]
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
    loss_axis.plot(epochs, [r["train_loss"] for r in history], "o-", color=BLUE, label="training (augmented)")
    accuracy_axis.plot(
        epochs, [100 * r["train_accuracy"] for r in history], "o-", color=BLUE, label="training (augmented)"
    )
    if history and "val_loss" in history[0]:
        loss_axis.plot(epochs, [r["val_loss"] for r in history], "s--", color=ORANGE, label="validation")
        accuracy_axis.plot(
            epochs, [100 * r["val_accuracy"] for r in history], "s--", color=ORANGE, label="validation"
        )
    if history and "val_drawn_loss" in history[0]:
        loss_axis.plot(
            epochs, [r["val_drawn_loss"] for r in history], "^:", color=GREEN, label="drawn digits"
        )
        accuracy_axis.plot(
            epochs, [100 * r["val_drawn_accuracy"] for r in history], "^:", color=GREEN, label="drawn digits"
        )
    loss_axis.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss", yscale="log")
    accuracy_axis.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for axis in (loss_axis, accuracy_axis):
        axis.grid(alpha=0.3)
        axis.legend()
        axis.xaxis.get_major_locator().set_params(integer=True)
    return save_figure(figure, path)


def plot_confusion_matrix(matrix, path, title="Confusion matrix (test set)"):
    """(10, 10) counts, rows = true digit, columns = prediction; log colour scale so errors show."""
    plt = pyplot()
    from matplotlib.colors import LogNorm

    figure, axis = plt.subplots(figsize=(6.4, 5.6))
    image = axis.imshow(
        np.maximum(matrix, 0.5), cmap="cividis", norm=LogNorm(vmin=0.5, vmax=max(matrix.max(), 1))
    )
    for true in range(matrix.shape[0]):
        for predicted in range(matrix.shape[1]):
            count = int(matrix[true, predicted])
            if count:
                colour = "black" if count > matrix.max() ** 0.5 else "white"
                axis.text(predicted, true, str(count), ha="center", va="center", fontsize=7.5, color=colour)
    axis.set(xticks=range(10), yticks=range(10), xlabel="predicted digit", ylabel="true digit", title=title)
    figure.colorbar(image, ax=axis, label="count (log scale)")
    return save_figure(figure, path)


def plot_misclassified(images, true_labels, predicted, confidences, path, columns=10):
    """A gallery of misclassified digits, each titled 'true -> predicted (confidence)'."""
    plt = pyplot()
    count = len(images)
    rows = max(1, int(np.ceil(count / columns)))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 1.15, rows * 1.35))
    for index, axis in enumerate(np.atleast_1d(axes).flat):
        axis.axis("off")
        if index < count:
            axis.imshow(images[index], cmap="gray_r", vmin=0, vmax=255 if images.dtype == np.uint8 else 1)
            axis.set_title(f"{true_labels[index]}→{predicted[index]} ({confidences[index]:.0%})", fontsize=8)
    figure.suptitle("Misclassified test digits: true → predicted (confidence)", fontsize=10)
    return save_figure(figure, path)


def plot_reliability(bin_confidence, bin_accuracy, bin_counts, ece, path):
    """Reliability diagram: per confidence bin, its accuracy (a bar) and its mean confidence (a dot at
    the same bin: the gap between them is the miscalibration), with the diagonal of perfect
    calibration."""
    plt = pyplot()
    edges = np.linspace(0, 1, len(bin_counts) + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    width = edges[1] - edges[0]
    used = bin_counts > 0
    figure, (axis, count_axis) = plt.subplots(
        2, 1, figsize=(5.4, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    axis.plot([0, 1], [0, 1], ":", color="grey", label="perfect calibration")
    axis.bar(
        centres[used],
        np.asarray(bin_accuracy)[used],
        width=width * 0.9,
        color=BLUE,
        alpha=0.85,
        label="accuracy",
    )
    axis.plot(
        centres[used],
        np.asarray(bin_confidence)[used],
        "o",
        color=VERMILION,
        label="mean confidence (above its bar: too sure)",
    )
    axis.set(
        ylabel="accuracy (bars), confidence (dots)",
        ylim=(0, 1.02),
        title=f"Reliability (expected calibration error {ece:.2%})",
    )
    axis.legend(loc="upper left")
    count_axis.bar(centres, bin_counts, width=width * 0.9, color=GREEN)
    count_axis.set(xlabel="confidence of the predicted digit", ylabel="images", yscale="log", xlim=(0, 1))
    return save_figure(figure, path)
