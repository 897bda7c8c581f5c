"""Stage 1, the data: MNIST and what training adds to it.

- `handdigit.data.mnist`: the four MNIST files, found, downloaded if needed, verified and parsed;
- `handdigit.data.synthetic`: synthetic pen drawings of digits, which teach the network what canvas
  strokes look like;
- `handdigit.data.augment`: the random distortions applied to every training image.

    from handdigit.data import load_mnist
    mnist = load_mnist()            # mnist.train_images (60000, 28, 28) uint8, mnist.train_labels, ...
"""

from handdigit.data.mnist import (
    FILES,
    MIRRORS,
    Mnist,
    MnistError,
    cache_dir,
    load_mnist,
    locate,
    parse_idx,
    read_idx_file,
)

__all__ = [
    "FILES",
    "MIRRORS",
    "Mnist",
    "MnistError",
    "cache_dir",
    "load_mnist",
    "locate",
    "parse_idx",
    "read_idx_file",
]
