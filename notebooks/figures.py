"""The course's plotting and display helpers, kept out of the notebooks so that their code cells
show the ideas: one colour palette, one style, and the figures several cells draw.

    from figures import BLUE, ORANGE, course_style
    course_style()                           # the notebooks' matplotlib settings

Colours are Okabe and Ito's: told apart with every common kind of colour blindness.
"""

import inspect
import time

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Code, display
from matplotlib.ticker import FuncFormatter

BLUE, ORANGE, GREEN, VERMILION, PURPLE, SKY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"


def course_style():
    """The notebooks' matplotlib settings: sharp pixels for images, small titles."""
    plt.rcParams.update({"figure.dpi": 100, "image.interpolation": "nearest", "axes.titlesize": 10})


def show_source(*functions):
    """The library's own code, highlighted."""
    display(Code("\n".join(inspect.getsource(f) for f in functions), language="python"))


def show_layer(layer_class, *loops):
    """A layer's forward and backward as tinycnn/layers/ writes them, then the same computation as
    plain loops (tinycnn.reference)."""
    show_source(layer_class.forward, layer_class.backward)
    print("The same, as plain loops (tinycnn.reference):")
    show_source(*loops)


def plot_errors(errors, title):
    """errors: {label: relative error}; bars in order, red when above the threshold 1e-6."""
    names, values = list(errors), [max(value, 1e-17) for value in errors.values()]
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(names) + 1.2))
    colours = [BLUE if value < 1e-6 else VERMILION for value in values]
    ax.barh(range(len(names)), values, color=colours)
    ax.axvline(1e-6, color="black", linestyle=":", label="threshold 1e-6")
    ax.set(
        xscale="log",
        xlim=(1e-17, 10),
        yticks=range(len(names)),
        yticklabels=names,
        xlabel="relative error, backward vs finite differences (log scale)",
        title=title,
    )
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    plt.tight_layout()
    plt.show()


def plain_log_scale(axis):
    """A log y axis labelled 0.2, 0.5, 1, 2, 5 ... instead of powers of ten."""
    axis.set_yscale("log")
    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.yaxis.set_minor_formatter(
        FuncFormatter(lambda value, _: f"{value:g}" if f"{value:g}".lstrip("0.")[:1] in "25" else "")
    )


def exponential_moving_average(values, weight=0.9):
    """Smooth noisy per-batch values (the first ones are corrected for the start at zero)."""
    smoothed, average = [], 0.0
    for count, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        smoothed.append(average / (1 - weight**count))
    return np.array(smoothed)


class LiveCurves:
    """Loss, accuracy and learning rate, redrawn in place in the notebook (notebook 4's LivePlot
    hands it the numbers)."""

    def __init__(self):
        self.fig, self.axes = plt.subplots(1, 3, figsize=(13, 3.7))
        self.handle = display(self.fig, display_id=True)  # a display we can update in place

    def draw(self, x, loss, accuracy, learning_rate, records):
        loss_axis, accuracy_axis, rate_axis = self.axes
        for axis in self.axes:
            axis.clear()
            axis.grid(alpha=0.3)
            axis.set_xlabel("epoch")
        smooth = exponential_moving_average
        loss_axis.plot(x, loss, color=SKY, linewidth=0.8, label="training batches")
        loss_axis.plot(x, smooth(loss), color=BLUE, linewidth=2, label="training (smoothed)")
        accuracy_axis.plot(
            x, 100 * smooth(np.array(accuracy)), color=BLUE, linewidth=2, label="training (smoothed)"
        )
        epochs = [r["epoch"] for r in records]
        if records and "val_loss" in records[0]:
            loss_axis.plot(
                epochs,
                [r["val_loss"] for r in records],
                "s",
                color=ORANGE,
                markersize=8,
                label="validation (MNIST)",
            )
            accuracy_axis.plot(
                epochs,
                [100 * r["val_accuracy"] for r in records],
                "s-",
                color=ORANGE,
                markersize=8,
                label="validation (MNIST)",
            )
        if records and "val_drawn_accuracy" in records[0]:
            accuracy_axis.plot(
                epochs,
                [100 * r["val_drawn_accuracy"] for r in records],
                "^:",
                color=GREEN,
                markersize=8,
                label="validation (drawn digits)",
            )
        plain_log_scale(loss_axis)
        loss_axis.set(ylabel="cross-entropy loss (log scale)", title="Loss")
        accuracy_axis.set(ylabel="accuracy (%)", ylim=(0, 100), title="Accuracy")
        rate_axis.plot(x, learning_rate, color=PURPLE)
        rate_axis.set(ylabel="learning rate", title="Learning rate (one-cycle schedule)")
        rate_axis.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
        for axis in (loss_axis, accuracy_axis):
            axis.legend(fontsize=8)
        self.fig.tight_layout()
        self.handle.update(self.fig)
        self.drawn_at = time.perf_counter()

    def close(self):
        plt.close(self.fig)  # the display already shows it; do not show it a second time


def smoothed(values, window=20):
    """The running mean of the last `window` values (for noisy per-batch losses)."""
    return np.convolve(values, np.ones(window) / window, mode="valid")


def train_validation_curves(histories, ylabel):
    """One panel per run: training and validation loss per epoch; histories {name: (E, 4) array of
    (train loss, train accuracy, validation loss, validation accuracy)}."""
    fig, axes = plt.subplots(1, len(histories), figsize=(3.3 * len(histories), 3.6), sharey=True)
    for axis, (name, history) in zip(np.atleast_1d(axes), histories.items(), strict=True):
        epochs = np.arange(1, len(history) + 1)
        axis.plot(epochs, history[:, 0], color=BLUE, label="training loss")
        axis.plot(epochs, history[:, 2], color=ORANGE, label="validation loss")
        axis.set(title=f"{name}\nvalidation accuracy {history[-1, 3]:.1%}", xlabel="epoch", yscale="log")
        axis.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel(ylabel)
    np.atleast_1d(axes)[0].legend()
    plt.tight_layout()
    plt.show()


def layer_histograms(statistics, moment, title, watched, names):
    """For each start (columns), histograms of log10 |value| of each watched layer's outputs (top)
    and of the loss's gradient at them (bottom), each scaled to its peak; statistics
    {start: ((outputs, gradients) before, (outputs, gradients) after, ...)}."""
    colours = dict(zip(watched, (BLUE, ORANGE, PURPLE, GREEN), strict=False))
    fig, axes = plt.subplots(2, len(statistics), figsize=(3 * len(statistics), 5.2))
    for column, (name, stats) in enumerate(statistics.items()):
        outputs, gradients = stats[moment]
        for row, values in enumerate((outputs, gradients)):
            axis = axes[row, column]
            for index in watched:
                magnitudes = np.abs(values[index]).ravel()
                counts, edges = np.histogram(np.log10(magnitudes[magnitudes > 0]), bins=60, range=(-12, 4))
                axis.stairs(counts / counts.max(), edges, color=colours[index], label=names[index])
            axis.set_xlim(-12, 4)
            axis.set_title(f"{name}: {'activations' if row == 0 else 'gradients'}")
            axis.set_xlabel("log10 |value|")
            axis.set_yticks([])
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title)
    plt.tight_layout()
    plt.show()


def reliability_diagram(axis, curves, title):
    """Accuracy per confidence bin against the bin's mean confidence, for bins of 5 or more
    predictions (dot size: how many); curves [(label, colour, (ece, confidence, accuracy, counts))]
    as handdigit.evaluation.reliability returns them."""
    for label, colour, (ece, confidence, accuracy, counts) in curves:
        used = counts >= 5  # bins with too few predictions say nothing
        axis.plot(confidence[used], accuracy[used], "-", color=colour, alpha=0.6)
        axis.scatter(
            confidence[used],
            accuracy[used],
            s=12 + 250 * counts[used] / counts.max(),
            color=colour,
            label=f"{label}: ECE {ece:.1%}",
        )
    axis.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    axis.set(
        xlabel="confidence (mean per bin)",
        ylabel="accuracy per bin",
        xlim=(0.3, 1.01),
        ylim=(0.3, 1.02),
        title=f"{title} (bins of 5 or more; dot size: how many)",
    )
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left")
