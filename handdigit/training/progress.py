"""Progress display for training: a tqdm bar per epoch and a line per finished epoch."""

import sys
import time

from handdigit.training import Callback


class TqdmProgress(Callback):
    """A bar with loss, accuracy and images/s while an epoch runs; a summary line after it."""

    def __init__(self, file=None):
        self.file = file or sys.stderr
        self.bar = None
        self.total_epochs = None
        self.drawings = self.drawn = 0

    def on_data_begin(self, drawings):
        self.drawings, self.drawn = drawings, 0
        if drawings:
            print(
                f"Drawing {drawings:,} synthetic digits and non-digits on other cores while training starts "
                "(the first epoch's bar shows how many are done)",
                file=self.file,
                flush=True,
            )

    def on_data_progress(self, done):
        self.drawn = done

    def on_train_begin(self, trainer):
        self.total_epochs = trainer.config.epochs

    def on_epoch_begin(self, epoch, steps):
        from tqdm.auto import tqdm

        self.started = time.perf_counter()
        self.bar = tqdm(
            total=steps, desc=f"epoch {epoch}/{self.total_epochs}", unit="batch", file=self.file, leave=False
        )

    def on_batch_end(self, step, metrics):
        rate = metrics["images"] / max(time.perf_counter() - self.started, 1e-9)
        drawn = {"drawn": f"{self.drawn / self.drawings:.0%}"} if self.drawn < self.drawings else {}
        self.bar.set_postfix(
            loss=f"{metrics['loss']:.4f}",
            acc=f"{metrics['accuracy']:.2%}",
            img_s=f"{rate:,.0f}",
            **drawn,
            refresh=False,
        )
        self.bar.update(1)

    def on_epoch_end(self, epoch, record):
        if self.bar is not None:
            self.bar.close()
        line = f"epoch {epoch}/{self.total_epochs}: loss {record['train_loss']:.4f} acc {record['train_accuracy']:.2%}"
        if "val_loss" in record:
            line += f" | val loss {record['val_loss']:.4f} val acc {record['val_accuracy']:.2%}"
        if "val_drawn_accuracy" in record:
            line += f" | drawn acc {record['val_drawn_accuracy']:.2%}"
        if "val_not_digit_rejected" in record:
            line += f" | not-digit rejected {record['val_not_digit_rejected']:.1%}"
        elif "val_not_digit_confidence" in record:
            line += f" | not-digit conf {record['val_not_digit_confidence']:.2f}"
        line += f" | lr {record['learning_rate']:.2e} | {record['epoch_seconds']:.1f} s"
        print(line, file=self.file, flush=True)

    def on_train_end(self, history):
        if self.bar is not None:
            self.bar.close()
