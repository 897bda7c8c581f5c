"""The library's error types: each message names the layer (or file) and what was expected."""


class ShapeError(ValueError):
    """An array whose rank, shape or dtype does not fit the layer or model it was given to."""


class WeightsFileError(ValueError):
    """A weights or state file that is missing, damaged, or does not match the architecture."""
