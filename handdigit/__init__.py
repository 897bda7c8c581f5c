"""HandDigit: draw a digit and watch a from-scratch CNN (tinycnn) recognise it.

`import handdigit` stays light: submodules (data, training, evaluation, plots) load on use.
"""

__version__ = "0.1.0"
