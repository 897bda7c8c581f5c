"""The same network and the same work in each contender: HandDigit (tinycnn), PyTorch, Keras.

The seed recipe: Conv2D(32, 3x3) - ReLU - Conv2D(64, 3x3) - ReLU - MaxPool 2x2 - Dropout 0.25 -
Flatten - Dense(256) - ReLU - Dropout 0.5 - Dense(10); Adam (lr 1e-3, eps 1e-7); batch 128;
pixels in [0, 1]; a fresh random order every epoch. Each contender is a class with
`train_epoch(order)` -> (mean loss, accuracy), `predict(x)` -> logits or probabilities for
(N, 28, 28, 1) float32, and `save(path)` / `load_and_predict` for the cold-start measurement.
Peers are imported only when asked for, so a missing one is a note, not a failure.
"""

import numpy as np

BATCH = 128
THREADS = 2


class TinyCnn:
    name = "HandDigit (tinycnn)"

    def __init__(self, images, labels, seed=0):
        import tinycnn
        from handdigit.architecture import build_model
        from tinycnn import Adam, SoftmaxCrossEntropy

        tinycnn.warmup()
        self.images, self.labels = images, labels
        self.model = build_model(seed=seed)
        self.loss = SoftmaxCrossEntropy()
        self.optimizer = Adam(learning_rate=1e-3, epsilon=1e-7)

    def train_epoch(self, order):
        total_loss = correct = 0.0
        for start in range(0, len(order), BATCH):
            index = order[start : start + BATCH]
            logits = self.model.forward(self.images[index], training=True)
            total_loss += self.loss.forward(logits, self.labels[index]) * len(index)
            self.model.backward(self.loss.backward(), input_gradient=False)
            self.optimizer.step(self.model)
            correct += np.count_nonzero(logits.argmax(axis=1) == self.labels[index])
        return total_loss / len(order), correct / len(order)

    def predict(self, x, batch_size=BATCH):
        return self.model.predict(x, batch_size=batch_size)

    def save(self, path):
        self.model.save(path)


class Torch:
    name = "PyTorch"

    def __init__(self, images, labels, seed=0):
        import torch
        from torch import nn

        torch.set_num_threads(THREADS)
        torch.manual_seed(seed)
        self.torch = torch
        self.images = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))  # NCHW
        self.labels = torch.from_numpy(labels.astype(np.int64))
        self.model = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(),
            nn.Conv2d(32, 64, 3), nn.ReLU(),
            nn.MaxPool2d(2), nn.Dropout(0.25),
            nn.Flatten(),
            nn.Linear(9216, 256), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(256, 10),
        )  # fmt: skip
        self.loss = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3, eps=1e-7)

    def train_epoch(self, order):
        self.model.train()
        order = self.torch.from_numpy(order)
        total_loss = correct = 0.0
        for start in range(0, len(order), BATCH):
            index = order[start : start + BATCH]
            x, y = self.images[index], self.labels[index]
            self.optimizer.zero_grad(set_to_none=True)
            logits = self.model(x)
            loss = self.loss(logits, y)
            loss.backward()
            self.optimizer.step()
            total_loss += loss.item() * len(index)
            correct += (logits.argmax(dim=1) == y).sum().item()
        return total_loss / len(order), correct / len(order)

    def predict(self, x, batch_size=BATCH):
        self.model.eval()
        with self.torch.no_grad():
            tensor = self.torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
            return np.concatenate(
                [self.model(tensor[i : i + batch_size]).numpy() for i in range(0, len(tensor), batch_size)]
            )

    def save(self, path):
        self.torch.save(self.model.state_dict(), path)


class Keras:
    name = "Keras (TensorFlow)"

    def __init__(self, images, labels, seed=0):
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(THREADS)
        import keras
        from keras import layers

        keras.utils.set_random_seed(seed)
        self.images, self.labels = images, labels
        self.model = keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                layers.Conv2D(32, 3, activation="relu"),
                layers.Conv2D(64, 3, activation="relu"),
                layers.MaxPooling2D(2),
                layers.Dropout(0.25),
                layers.Flatten(),
                layers.Dense(256, activation="relu"),
                layers.Dropout(0.5),
                layers.Dense(10),
            ]
        )
        self.model.compile(
            optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-7),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )

    def train_epoch(self, order):
        history = self.model.fit(
            self.images[order], self.labels[order], batch_size=BATCH, epochs=1, shuffle=False, verbose=0
        )
        return history.history["loss"][-1], history.history["accuracy"][-1]

    def predict(self, x, batch_size=BATCH):
        if len(x) <= batch_size:
            return np.asarray(self.model.predict_on_batch(x))
        return self.model.predict(x, batch_size=batch_size, verbose=0)

    def save(self, path):
        self.model.save(path)


CONTENDERS = {"tinycnn": TinyCnn, "torch": Torch, "keras": Keras}


def available(name):
    """None if the contender can run here, else a note saying why not."""
    import importlib.util

    module = {"tinycnn": "numba", "torch": "torch", "keras": "tensorflow"}[name]
    if importlib.util.find_spec(module) is None:
        extra = {"torch": "pip install torch==2.13.0", "keras": "pip install tensorflow"}.get(name, "")
        return f"{CONTENDERS[name].name} skipped: {module} is not installed ({extra})"
    return None
