"""Stage 2, training: the reference network on MNIST and the synthetic drawings, from the command line
(`handdigit train`) or from Python.

    from handdigit.training import TrainConfig, Trainer
    history = Trainer(TrainConfig(epochs=15), out_dir="runs/a").run()    # or Trainer.resume("runs/a").run()

`handdigit.training.trainer` holds the loop, its configuration and its checkpoints (tinycnn.checkpoint);
`handdigit.training.progress` the progress display of the command line.
"""

from handdigit.training.trainer import (
    CHECKPOINT,
    DEFAULT_LEARNING_RATES,
    OPTIMIZERS,
    REJECTIONS,
    SCHEDULES,
    Callback,
    Split,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    TrainingInterrupted,
    evaluate_logits,
    learning_rate_schedule,
    make_optimizer,
    split_data,
    split_sizes,
)

__all__ = [
    "CHECKPOINT",
    "DEFAULT_LEARNING_RATES",
    "OPTIMIZERS",
    "REJECTIONS",
    "SCHEDULES",
    "Callback",
    "Split",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
    "evaluate_logits",
    "learning_rate_schedule",
    "make_optimizer",
    "split_data",
    "split_sizes",
]
