"""One check per exercise: the learner's function against an independent reference on inputs the
check draws (several shapes, float64), raising `Wrong` with a diagnosis, or returning what passed.

References: `tinycnn.reference` (plain loops), the library's own layers and optimizers, finite
differences, and brute force (receptive fields by perturbing inputs). Inputs come from a fixed
seed, so a verdict never changes from one run to the next. Where a wrong result matches a mistake
many people make, the message names the mistake (not the fix).
"""

import copy

import numpy as np

from exercises.verdicts import Wrong, as_array, compare, relative_error
from tinycnn import reference

SEED = 2026


def _rng():
    return np.random.default_rng(SEED)


def _matches(got, variant):
    try:
        got, variant = np.asarray(got, np.float64), np.asarray(variant, np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == variant.shape and relative_error(got, variant) < 1e-6


def _compare_with_mistakes(label, got, expected, mistakes=()):
    """compare(), but a result equal to a known mistake gets that mistake's message."""
    try:
        return compare(label, got, expected)
    except Wrong:
        for variant, message in mistakes:
            if _matches(got, variant):
                raise Wrong(f"{label}: {message}") from None
        raise


def _parts(result, names):
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        raise Wrong(f"return a tuple ({', '.join(names)}), got {type(result).__name__}")
    return result


def _shapes(rng, count):
    """`count` small (N, H, W, C_in, C_out, KH, KW) convolution shapes."""
    for _ in range(count):
        kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        yield (
            int(rng.integers(1, 4)),
            int(rng.integers(kh, 8)),
            int(rng.integers(kw, 8)),
            int(rng.integers(1, 4)),
            int(rng.integers(1, 5)),
            kh,
            kw,
        )


# --- notebook 1 -------------------------------------------------------------------------------
def check_conv2d_forward(conv2d_forward):
    rng, worst = _rng(), 0.0
    for n, h, w, c, f, kh, kw in _shapes(rng, 6):
        x, kernel, bias = rng.normal(size=(n, h, w, c)), rng.normal(size=(kh, kw, c, f)), rng.normal(size=f)
        got = conv2d_forward(x, kernel, bias)
        expected = reference.conv2d_forward(x, kernel, bias)
        mistakes = [
            (
                reference.conv2d_forward(x, kernel[::-1, ::-1], bias),
                "the kernel is flipped: the layers slide it as it is (cross-correlation)",
            ),
            (expected - bias, "the bias is missing"),
        ]
        worst = max(
            worst,
            _compare_with_mistakes(f"y for x {x.shape}, kernel {kernel.shape}", got, expected, mistakes),
        )
    return f"matches tinycnn.reference.conv2d_forward on 6 random shapes (largest relative error {worst:.1e})"


def _receptive_field_brute_force(layers):
    """How many inputs the first output of a 1-D stack of (kernel, stride) layers depends on,
    found by perturbing each input of a long enough signal."""
    length = 1
    for kernel, stride in layers:
        length = length * stride + kernel
    length += 8

    def first_output(signal):
        for kernel, stride in layers:
            signal = np.array(
                [signal[i : i + kernel].sum() for i in range(0, len(signal) - kernel + 1, stride)]
            )
        return signal[0]

    base = first_output(np.zeros(length))
    return sum(first_output(np.eye(length)[i]) != base for i in range(length))


def check_receptive_field(receptive_field):
    rng = _rng()
    stacks = [[(3, 1)], [(3, 1), (3, 1)], [(3, 1), (3, 1), (2, 2)], [(5, 2), (3, 2)]]
    stacks += [
        [(int(rng.integers(1, 6)), int(rng.integers(1, 4))) for _ in range(int(rng.integers(2, 6)))]
        for _ in range(6)
    ]
    for layers in stacks:
        expected = _receptive_field_brute_force(layers)
        got = receptive_field(layers)
        if got != expected:
            ignores_strides = sum(kernel - 1 for kernel, _ in layers) + 1
            hint = (
                ": that would be right if every stride were 1; a stride multiplies the step "
                "between the inputs that the next layer's neighbouring units read"
                if got == ignores_strides
                else ""
            )
            raise Wrong(
                f"receptive_field({layers}) returned {got!r}; perturbing the inputs one by one says otherwise{hint}"
            )
    return f"agrees with brute force (perturbing each input) on {len(stacks)} stacks of layers"


# --- notebook 2 -------------------------------------------------------------------------------
def check_conv2d_backward(conv2d_backward):
    rng, worst = _rng(), 0.0
    for n, h, w, c, f, kh, kw in _shapes(rng, 5):
        x, kernel = rng.normal(size=(n, h, w, c)), rng.normal(size=(kh, kw, c, f))
        dy = rng.normal(size=(n, h - kh + 1, w - kw + 1, f))
        dx, dkernel, dbias = _parts(conv2d_backward(x, kernel, dy), ("dx", "dkernel", "dbias"))
        ref_dx, ref_dkernel, ref_dbias = reference.conv2d_backward(x, kernel, dy)
        flipped_dx = reference.conv2d_backward(x, kernel[::-1, ::-1], dy)[0]
        worst = max(
            worst,
            _compare_with_mistakes(
                "dx", dx, ref_dx, [(flipped_dx, "the kernel is flipped the wrong way round")]
            ),
            _compare_with_mistakes(
                "dkernel",
                dkernel,
                ref_dkernel,
                [(ref_dkernel / n, "averaged over the batch; the loss's gradient already is")],
            ),
            _compare_with_mistakes(
                "dbias",
                dbias,
                ref_dbias,
                [(dy[0].sum(axis=(0, 1)), "only the first image's gradient is counted")],
            ),
        )
    return f"dx, dkernel and dbias match tinycnn.reference.conv2d_backward on 5 random shapes (largest relative error {worst:.1e})"


def check_dense_backward(dense_backward):
    rng, worst = _rng(), 0.0
    for _ in range(5):
        n, d, u = (int(v) for v in rng.integers(1, 7, 3))
        x, kernel, dy = rng.normal(size=(n, d)), rng.normal(size=(d, u)), rng.normal(size=(n, u))
        dx, dkernel, dbias = _parts(dense_backward(x, kernel, dy), ("dx", "dkernel", "dbias"))
        ref = reference.dense_backward(x, kernel, dy)
        worst = max(
            worst,
            compare("dx", dx, ref[0]),
            compare("dkernel", dkernel, ref[1]),
            _compare_with_mistakes(
                "dbias", dbias, ref[2], [(dy.mean(axis=0), "averaged over the batch instead of summed")]
            ),
        )
    return f"dx, dkernel and dbias match tinycnn.reference.dense_backward on 5 random shapes (largest relative error {worst:.1e})"


def check_softmax_cross_entropy_gradient(gradient):
    rng, worst = _rng(), 0.0
    for scale in (1.0, 5.0, 1000.0):
        n, k = int(rng.integers(1, 6)), int(rng.integers(2, 11))
        logits, labels = scale * rng.normal(size=(n, k)), rng.integers(0, k, n)
        got = gradient(logits, labels)
        expected = reference.softmax_cross_entropy(logits, labels)[1]
        label = f"dlogits for logits of size about {scale:g}"
        if scale > 100 and not np.all(np.isfinite(as_array(label, got, expected))):
            raise Wrong(f"{label} has NaN or infinite entries: exp of a large logit overflows")
        worst = max(worst, compare(label, got, expected))
    return f"matches the mean softmax cross-entropy's gradient (tinycnn.reference) with logits up to 1000 (largest relative error {worst:.1e})"


def _sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def check_sigmoid_layer(layer_class):
    rng = _rng()
    layer = layer_class()
    x = rng.normal(scale=3, size=(4, 7))
    y = layer.forward(x)
    worst = compare("forward(x)", y, _sigmoid(x))
    dy = rng.normal(size=x.shape)
    dx = layer.backward(dy)
    step = 1e-6
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):  # d(sum dy * sigmoid(x)) / dx, one entry at a time
        plus, minus = x.copy(), x.copy()
        plus[index] += step
        minus[index] -= step
        numeric[index] = np.sum(dy * (_sigmoid(plus) - _sigmoid(minus))) / (2 * step)
    worst = max(
        worst,
        _compare_with_mistakes(
            "backward(dy)",
            dx,
            numeric,
            [
                (dy * x * (1 - x), "uses the layer's input where the formula needs its output"),
                (dy * _sigmoid(x), "is missing a factor of the derivative"),
            ],
        ),
    )
    return f"forward matches the sigmoid and backward matches finite differences (largest relative error {worst:.1e})"


# --- notebook 3 -------------------------------------------------------------------------------
def check_maxpool_backward(maxpool_backward):
    rng, worst = _rng(), 0.0
    for _ in range(5):
        n, h, w, c = (
            int(rng.integers(1, 3)),
            int(rng.integers(2, 9)),
            int(rng.integers(2, 9)),
            int(rng.integers(1, 4)),
        )
        x = rng.permutation(n * h * w * c).reshape(n, h, w, c) / 10.0  # distinct values: no ties
        y, argmax = reference.maxpool_forward(x, 2)
        dy = rng.normal(size=y.shape)
        expected = reference.maxpool_backward(dy, argmax, x.shape, 2)
        spread = np.zeros_like(x)
        spread[:, : 2 * y.shape[1], : 2 * y.shape[2]] = np.repeat(np.repeat(dy, 2, axis=1), 2, axis=2) / 4
        worst = max(
            worst,
            _compare_with_mistakes(
                f"dx for x {x.shape}",
                maxpool_backward(x, dy),
                expected,
                [(spread, "the gradient is shared out over the whole window, as for an average")],
            ),
        )
    return f"matches tinycnn.reference's max-pool backward on 5 shapes, odd sizes included (largest relative error {worst:.1e})"


def _average_pool(x):
    n, h, w, c = x.shape
    y = np.zeros((n, h // 2, w // 2, c))
    for i in range(h // 2):
        for j in range(w // 2):
            y[:, i, j, :] = x[:, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, :].mean(axis=(1, 2))
    return y


def check_avgpool_backward(avgpool_backward):
    rng, worst = _rng(), 0.0
    for _ in range(4):
        shape = (
            int(rng.integers(1, 3)),
            int(rng.integers(2, 7)),
            int(rng.integers(2, 7)),
            int(rng.integers(1, 3)),
        )
        x = rng.normal(size=shape)
        dy = rng.normal(size=_average_pool(x).shape)
        numeric = np.zeros(shape)
        for index in np.ndindex(shape):  # finite differences of sum(dy * pool(x))
            bumped = x.copy()
            bumped[index] += 1.0  # the pool is linear: a step of 1 is exact
            numeric[index] = np.sum(dy * (_average_pool(bumped) - _average_pool(x)))
        worst = max(worst, compare(f"dx for x {shape}", avgpool_backward(dy, shape), numeric))
    return (
        f"matches finite differences of a 2x2 average pool on 4 shapes (largest relative error {worst:.1e})"
    )


def check_dropout_forward(dropout_forward):
    for rate in (0.25, 0.5, 0.7):
        rng = _rng()
        x = rng.normal(size=(50, 200)) + 3.0
        result = _parts(dropout_forward(x, rate, np.random.default_rng(1)), ("y", "keep"))
        y, keep = result
        keep = np.asarray(keep)
        if keep.shape != x.shape:
            raise Wrong(f"keep has shape {keep.shape}; it should have x's shape {x.shape}")
        if not np.all((keep == 0) | (keep == 1)):
            raise Wrong("keep should hold only True/False (or 1/0): which units survive")
        kept = float(np.mean(keep))
        spread = 4 * np.sqrt(rate * (1 - rate) / x.size)
        if abs(kept - (1 - rate)) > spread:
            raise Wrong(
                f"with rate={rate} you keep {kept:.1%} of the units; the rate is the fraction dropped, "
                f"so about {1 - rate:.0%} should survive"
            )
        expected = reference.dropout_forward(x, keep.astype(bool), rate)
        _compare_with_mistakes(
            f"y (rate {rate})",
            y,
            expected,
            [(x * keep, "the survivors are not scaled up, so the expected output is smaller than x")],
        )
        same_seed = np.asarray(dropout_forward(x, rate, np.random.default_rng(1))[1])
        other_seed = np.asarray(dropout_forward(x, rate, np.random.default_rng(2))[1])
        if not np.array_equal(same_seed, keep) or np.array_equal(other_seed, keep):
            raise Wrong("the mask does not follow `rng` (the same generator state should give the same mask)")
    return "keeps about 1 - rate of the units, scales them as inverted dropout, and draws its mask from rng (rates 0.25, 0.5, 0.7)"


def check_dropout_backward(dropout_backward):
    rng, worst = _rng(), 0.0
    for rate in (0.2, 0.5, 0.8):
        dy = rng.normal(size=(6, 9))
        keep = rng.random(dy.shape) >= rate
        expected = reference.dropout_backward(dy, keep, rate)
        worst = max(
            worst,
            _compare_with_mistakes(
                f"dx (rate {rate})",
                dropout_backward(dy, keep, rate),
                expected,
                [
                    (dy / (1 - rate), "the mask is forgotten: dropped units pass gradient back"),
                    (dy * keep, "the 1/(1 - rate) scale of the forward pass is missing"),
                ],
            ),
        )
    return f"matches tinycnn.reference.dropout_backward for rates 0.2, 0.5, 0.8 (largest relative error {worst:.1e})"


# --- notebook 4 -------------------------------------------------------------------------------
class _OneParameter:
    """The smallest thing an optimizer can step: one layer holding one parameter."""

    def __init__(self, value):
        self.name = "p"
        self.params = {"w": value.copy()}
        self.grads = {"w": np.zeros_like(value)}
        self.layers = [self]


def _library_steps(optimizer, start, gradients):
    holder = _OneParameter(start)
    states = []
    for gradient in gradients:
        holder.grads["w"][...] = gradient
        optimizer.step(holder)
        states.append(holder.params["w"].copy())
    return states


def check_sgd_momentum_step(sgd_momentum_step):
    from tinycnn.optimizers import SGD

    rng = _rng()
    start = rng.normal(size=(3, 4))
    gradients = [rng.normal(size=start.shape) + 1.0 for _ in range(6)]
    learning_rate, momentum = 0.1, 0.9
    expected = _library_steps(SGD(learning_rate, momentum=momentum), start, gradients)
    param, velocity, averaged = start.copy(), np.zeros_like(start), start.copy()
    average = np.zeros_like(start)
    worst = 0.0
    for step, (gradient, target) in enumerate(zip(gradients, expected, strict=True), 1):
        param, velocity = _parts(
            sgd_momentum_step(param.copy(), gradient, velocity.copy(), learning_rate, momentum),
            ("param", "velocity"),
        )
        average = momentum * average + (1 - momentum) * gradient
        averaged = averaged - learning_rate * average
        worst = max(
            worst,
            _compare_with_mistakes(
                f"param after step {step}",
                param,
                target,
                [
                    (
                        averaged,
                        "your velocity averages recent gradients; tinycnn's (as PyTorch's) adds them up",
                    )
                ],
            ),
        )
        param, velocity = np.asarray(param, np.float64), np.asarray(velocity, np.float64)
    return f"six steps agree with tinycnn.optimizers.SGD(momentum=0.9) (largest relative error {worst:.1e})"


def check_adam_step(adam_step):
    from tinycnn.optimizers import Adam

    rng = _rng()
    start = rng.normal(size=(5,))
    gradients = [rng.normal(size=start.shape) for _ in range(8)]
    settings = {"learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
    expected = _library_steps(Adam(**settings), start, gradients)
    param, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    worst = 0.0
    for t, (gradient, target) in enumerate(zip(gradients, expected, strict=True), 1):
        previous = param.copy()
        param, m, v = _parts(
            adam_step(param.copy(), gradient, m.copy(), v.copy(), t, **settings), ("param", "m", "v")
        )
        param = as_array("param", param, target)
        try:
            worst = max(worst, compare(f"param after step {t}", param, target, tolerance=1e-5))
        except Wrong as error:
            taken, wanted = param - previous, target - previous
            ratio = float(np.median(np.abs(taken) / np.maximum(np.abs(wanted), 1e-300)))
            if t == 1 and not 0.9 < ratio < 1.1 and np.all(np.sign(taken) == np.sign(wanted)):
                raise Wrong(
                    f"the first step is {ratio:.3g} times the right size: what does m (and v) hold after one "
                    "step, started from zero?"
                ) from None
            raise error
        m, v = np.asarray(m, np.float64), np.asarray(v, np.float64)
    return f"eight steps agree with tinycnn.optimizers.Adam (largest relative error {worst:.1e})"


def _tiny_problem():
    from tinycnn import Dense, ReLU, Sequential, SoftmaxCrossEntropy
    from tinycnn.optimizers import SGD

    rng = _rng()
    images, labels = rng.normal(size=(50, 12)), rng.integers(0, 3, 50)
    model = Sequential([Dense(8), ReLU(), Dense(3)], input_shape=(12,), dtype=np.float64, seed=3)
    return model, SoftmaxCrossEntropy(), SGD(0.1), images, labels


def check_train_epoch(train_epoch):
    model, loss, optimizer, images, labels = _tiny_problem()
    from exercises.fallbacks import train_epoch as library_epoch  # forward, loss, backward, step per batch

    reference_model, reference_loss, reference_optimizer = copy.deepcopy((model, loss, optimizer))
    expected_losses = library_epoch(reference_model, reference_loss, reference_optimizer, images, labels, 16)
    losses = train_epoch(model, loss, optimizer, images, labels, 16)
    if losses is None or len(losses) != len(expected_losses):
        count = "nothing" if losses is None else f"{len(losses)} losses"
        raise Wrong(
            f"returned {count}; an epoch of {len(images)} examples in batches of 16 has "
            f"{len(expected_losses)} batches, the last one smaller"
        )
    compare("the batch losses", losses, expected_losses)
    weights, expected = model.get_weights(), reference_model.get_weights()
    for name in expected:
        compare(f"the weights {name} after the epoch", weights[name], expected[name])
    return f"the same {len(losses)} batch losses and final weights as forward, loss, backward, step on each batch in order"


# --- notebook 5 -------------------------------------------------------------------------------
def _fgsm_problem():
    from tinycnn import Conv2D, Dense, Flatten, ReLU, Sequential

    rng = _rng()
    model = Sequential(
        [Conv2D(3, 3), ReLU(), Flatten(), Dense(10)], input_shape=(8, 8, 1), dtype=np.float64, seed=5
    )
    images = rng.uniform(0, 1, size=(3, 8, 8, 1))
    images[0, :2] = 0.0  # some pixels at the ends of the range: the clip matters
    images[1, -2:] = 1.0
    return model, images, rng.integers(0, 10, 3)


def check_fgsm(fgsm):
    from tinycnn import SoftmaxCrossEntropy

    model, images, labels = _fgsm_problem()
    epsilon = 0.1
    loss = SoftmaxCrossEntropy()

    def loss_of(x):
        return sum(loss.forward(model.forward(x[i : i + 1]), labels[i : i + 1]) for i in range(len(x)))

    numeric = np.zeros_like(images)  # dLoss/dpixel by central differences: no backward pass involved
    step = 1e-5
    for index in np.ndindex(images.shape):
        plus, minus = images.copy(), images.copy()
        plus[index] += step
        minus[index] -= step
        numeric[index] = (loss_of(plus) - loss_of(minus)) / (2 * step)
    got = as_array(
        "the adversarial images", fgsm(copy.deepcopy(model), images.copy(), labels, epsilon), images
    )
    if got.shape != images.shape:
        raise Wrong(f"the adversarial images have shape {got.shape}; the input's is {images.shape}")
    if got.min() < 0 or got.max() > 1:
        raise Wrong("some pixels leave [0, 1]: an image must stay an image")
    moved = got - images
    if np.max(np.abs(moved)) > epsilon + 1e-9:
        raise Wrong(f"a pixel moved by {np.max(np.abs(moved)):.3g}, more than epsilon = {epsilon}")
    clear = np.abs(numeric) > 1e-6  # where the gradient's sign is not in doubt
    expected = np.clip(images + epsilon * np.sign(numeric), 0, 1)
    upward = np.clip(images - epsilon * np.sign(numeric), 0, 1)
    if _matches(got[clear], upward[clear]):
        raise Wrong(
            "every pixel moves against the loss's gradient: that makes the network more sure, not less"
        )
    compare("the adversarial images (where the gradient is not 0)", got[clear], expected[clear])
    if loss_of(got) <= loss_of(images):
        raise Wrong("the loss did not go up")
    return (
        f"each pixel moves by epsilon along the sign of the loss's gradient (checked by finite differences), "
        f"clipped to [0, 1]: the loss goes from {loss_of(images):.3f} to {loss_of(got):.3f}"
    )
