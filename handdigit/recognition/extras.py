"""Arrays a weights file keeps beside the network (the not-a-digit head, the feature distance),
read and validated the same way: all of them or none, float32, the expected shapes, finite."""

import numpy as np

from tinycnn.errors import WeightsFileError


def read_arrays(path, shapes, what):
    """{name: array} of the extra arrays `shapes` ({name: shape}) names, validated, or None when
    the file has none of them; WeightsFileError naming `what` ("the not-a-digit head") otherwise."""
    from tinycnn.model import read_extra

    extra = read_extra(path)
    present = [name for name in shapes if name in extra]
    if not present:
        return None
    if len(present) < len(shapes):
        missing = ", ".join(name for name in shapes if name not in extra)
        raise WeightsFileError(f"{path}: {what} is incomplete ({missing} is missing)")
    for name, shape in shapes.items():
        value = extra[name]
        if value.dtype != np.float32 or value.shape != shape:
            raise WeightsFileError(
                f"{path}: {what}'s {name} must be float32 {shape}, got {value.dtype} {value.shape}"
            )
        if not np.all(np.isfinite(value)):
            raise WeightsFileError(f"{path}: {what}'s {name} has NaN or infinite values")
    return {name: extra[name] for name in shapes}
