"""The course's exercises: you write a function in a notebook and `attempt` checks it on the spot.

    from exercises import attempt

    def conv2d_forward(x, kernel, bias):
        ...                                   # your loops

    conv2d_forward = attempt("conv2d_forward", conv2d_forward)

`attempt` runs the exercise's check (exercises.checks: your function against an independent
reference on inputs it draws, with CS231n's relative error) and prints one verdict: what passed,
or what is wrong (a shape, a scale, a sign, which entries) without the answer. It returns your
function when it passes and the library's version (exercises.fallbacks) when it does not, so the
notebook runs on to the end either way.

The unfinished functions are in exercises.stubs (each notebook shows the same), the solutions in
exercises.solutions, apart: with HANDDIGIT_SOLUTIONS=1 in the environment (how CI runs the
notebooks) `attempt` checks and returns the solution instead of what the notebook holds.
"""

import os
import traceback
from dataclasses import dataclass

from exercises import checks, fallbacks, solutions, stubs
from exercises.verdicts import Wrong

HERE = os.path.dirname(os.path.abspath(__file__))
EXERCISES = {  # name: (notebook, check)
    "conv2d_forward": ("01", checks.check_conv2d_forward),
    "receptive_field": ("01", checks.check_receptive_field),
    "conv2d_backward": ("02", checks.check_conv2d_backward),
    "dense_backward": ("02", checks.check_dense_backward),
    "softmax_cross_entropy_gradient": ("02", checks.check_softmax_cross_entropy_gradient),
    "Sigmoid": ("02", checks.check_sigmoid_layer),
    "maxpool_backward": ("03", checks.check_maxpool_backward),
    "avgpool_backward": ("03", checks.check_avgpool_backward),
    "dropout_forward": ("03", checks.check_dropout_forward),
    "dropout_backward": ("03", checks.check_dropout_backward),
    "sgd_momentum_step": ("04", checks.check_sgd_momentum_step),
    "adam_step": ("04", checks.check_adam_step),
    "train_epoch": ("04", checks.check_train_epoch),
    "fgsm": ("05", checks.check_fgsm),
}


@dataclass(frozen=True)
class Verdict:
    name: str
    passed: bool
    message: str

    def __str__(self):
        return f"{'✓' if self.passed else '✗'} {self.name}: {self.message}"


def check(name, function):
    """The Verdict on `function` as the exercise `name` (never raises for a wrong function)."""
    if name not in EXERCISES:
        raise KeyError(f"no exercise {name!r}; the exercises are {', '.join(EXERCISES)}")
    try:
        return Verdict(name, True, EXERCISES[name][1](function))
    except NotImplementedError:
        return Verdict(name, False, "not written yet (it raises NotImplementedError).")
    except Wrong as wrong:
        return Verdict(name, False, f"{wrong}.")
    except Exception as error:  # the learner's code failed: where, in their code
        frames = [
            frame
            for frame in traceback.extract_tb(error.__traceback__)
            if os.path.dirname(os.path.abspath(frame.filename)) != HERE
        ]
        where = f" at line {frames[-1].lineno} of {frames[-1].name}: `{frames[-1].line}`" if frames else ""
        return Verdict(name, False, f"raised {type(error).__name__}: {error}{where}.")


def solutions_wanted():
    return os.environ.get("HANDDIGIT_SOLUTIONS", "") == "1"


def attempt(name, function):
    """Check `function` as the exercise `name`, print the verdict, and return it if it passed,
    else the library's version (with HANDDIGIT_SOLUTIONS=1: the solution, checked)."""
    if solutions_wanted():
        function = getattr(solutions, name)
    verdict = check(name, function)
    print(verdict)
    if verdict.passed:
        return function
    print("  The cells below use the library's version until yours passes.")
    return getattr(fallbacks, name)


__all__ = ["EXERCISES", "Verdict", "attempt", "check", "stubs", "solutions", "fallbacks"]
