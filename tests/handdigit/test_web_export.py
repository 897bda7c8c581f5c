"""`handdigit export-web DIR`: what the static page's files hold, checked against the network they
came from (the browser side is tests/browser/test_static_page.py), and the refusals."""

import base64
import json
import os

import numpy as np
import pytest

from handdigit.recognition.calibration import read_calibration
from handdigit.recognition.distance import read_distance
from handdigit.recognition.head import load_network
from handdigit.resources import shipped_weights_path
from handdigit.web import WebExportError, export_web
from handdigit.web.export import PAGE_FILES, layer_specs, model_script

from .helpers import run_handdigit


def read_model_js(path):
    """The JSON object model.js assigns, and its weights decoded."""
    text = path.read_text()
    prefix = "var HandDigit_MODEL = "
    start = text.index(prefix) + len(prefix)
    entry = json.loads(text[start : text.rindex(";")])
    dtype = np.dtype(entry["precision"]).newbyteorder("<")
    weights = np.frombuffer(base64.b64decode(entry["weights"]), dtype).astype(np.float32)
    return entry, weights


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    directory = tmp_path_factory.mktemp("site") / "page"
    result = run_handdigit("export-web", directory)
    assert result.returncode == 0, result.stderr
    assert "python -m http.server -d" in result.stdout
    return directory


def test_the_folder_holds_the_page_and_a_model_under_10_mb(exported):
    assert sorted(os.listdir(exported)) == sorted([*PAGE_FILES, "model.js"])
    assert (exported / "model.js").stat().st_size < 10_000_000
    html = (exported / "index.html").read_text()
    for script in ("preprocess.js", "network.js", "model.js", "pad.js"):
        assert f'<script src="{script}"></script>' in html
    assert "http://" not in html and "https://" not in html  # nothing fetched from elsewhere


def test_model_js_holds_every_weight_of_the_network_with_its_not_a_digit_head(exported):
    path = shipped_weights_path()
    network = load_network(path)
    entry, weights = read_model_js(exported / "model.js")
    assert entry["format"] == "handdigit.web-model" and entry["precision"] == "float16"
    distance = read_distance(path)
    distance_size = 0 if distance is None else distance.means.size + distance.whitening.size
    assert entry["weight_count"] == network.parameter_count == weights.size - distance_size
    with_weights = [layer for layer in network.layers if layer.params]
    described = [spec for spec in entry["layers"] if "kernel" in spec]
    assert [spec["type"] for spec in described] == ["conv2d", "conv2d", "dense", "dense"]
    for layer, spec in zip(with_weights, described, strict=True):
        for name in ("kernel", "bias"):
            value = layer.params[name]
            stored = weights[spec[name] : spec[name] + value.size].reshape(value.shape)
            # float16 keeps 11 significant bits: each weight within half a unit in the last place
            np.testing.assert_allclose(stored, value, rtol=2**-11, atol=2**-25)
            np.testing.assert_array_equal(stored, value.astype(np.float16).astype(np.float32))
    assert described[-1]["output_shape"] == [11]  # the ten digits and "not a digit"
    calibration = read_calibration(path)
    assert entry["calibration"] == {
        "temperature": calibration.temperature,
        "score": calibration.score,
        "threshold": calibration.threshold,
        "distance_weight": calibration.distance_weight,
        "distance_centre": calibration.distance_centre,
        "views": {"shift": 1.5, "threshold": calibration.views.threshold, "margin": calibration.views.margin},
    }
    if distance is not None:  # the feature distance's arrays, after the layers' weights
        for name, value in (("means", distance.means), ("whitening", distance.whitening)):
            offset = entry["distance"][name]
            stored = weights[offset : offset + value.size].reshape(value.shape)
            np.testing.assert_array_equal(stored, value.astype(np.float16).astype(np.float32))
    else:
        assert entry["distance"] is None


def test_taught_centres_go_into_the_page_after_the_digits_means(tmp_path):
    """A taught recognizer's distance (handdigit.recognition.distance.with_taught) exports its
    taught means after the ten digits' means, and says how many centres there are."""
    network = load_network(shipped_weights_path())
    distance = read_distance(shipped_weights_path())
    taught = distance.with_taught(np.random.default_rng(0).random((4, 256)), [3, 3, 8, 8])
    path = tmp_path / "model.js"
    path.write_text(
        model_script(network, read_calibration(shipped_weights_path()), "float32", distance=taught)
    )
    entry, weights = read_model_js(path)
    assert entry["distance"]["centres"] == 12
    start, end = entry["distance"]["means"], entry["distance"]["whitening"]
    np.testing.assert_array_equal(
        weights[start:end], np.concatenate([distance.means, taught.taught_means]).ravel()
    )
    np.testing.assert_array_equal(weights[end:], distance.whitening.ravel())


def test_float32_weights_are_stored_exactly(tmp_path):
    network = load_network(shipped_weights_path())
    path = tmp_path / "model.js"
    path.write_text(model_script(network, read_calibration(shipped_weights_path()), "float32"))
    entry, weights = read_model_js(path)
    _, expected = layer_specs(network)
    np.testing.assert_array_equal(weights, expected)
    distance = read_distance(shipped_weights_path())
    if distance is not None:
        path.write_text(
            model_script(network, read_calibration(shipped_weights_path()), "float32", distance=distance)
        )
        entry, weights = read_model_js(path)
        np.testing.assert_array_equal(weights[entry["distance"]["whitening"] :], distance.whitening.ravel())
    assert entry["layers"][0]["padding"] == [0, 0] and entry["layers"][0]["output_shape"] == [26, 26, 32]


def test_a_file_without_a_rule_gives_a_page_that_never_says_not_a_digit(tmp_path):
    from tinycnn import Sequential

    plain = tmp_path / "plain.npz"
    Sequential.load(shipped_weights_path()).save(plain)
    export_web(tmp_path / "page", plain)
    entry, weights = read_model_js(tmp_path / "page" / "model.js")
    assert entry["calibration"] == {
        "temperature": 1.0,
        "score": None,
        "threshold": None,
        "distance_weight": None,
        "distance_centre": None,
        "views": None,
    }
    assert entry["distance"] is None
    assert entry["layers"][-1]["output_shape"] == [10] and weights.size == 2_380_938


def test_a_folder_that_is_not_empty_is_refused_and_left_alone(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = run_handdigit("export-web", tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("not empty; give a new or empty folder (nothing is overwritten)")
    assert "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == ["notes.txt"]
    file = tmp_path / "notes.txt"
    with pytest.raises(WebExportError, match="is a file"):
        export_web(file)


def test_bad_weights_and_precision_are_one_line_and_create_nothing(tmp_path):
    result = run_handdigit("export-web", tmp_path / "page", "--weights", tmp_path / "missing.npz")
    assert result.returncode == 1 and "missing.npz" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "page").exists()
    result = run_handdigit("export-web", tmp_path / "page", "--precision", "int4")
    assert result.returncode == 2 and "invalid choice: 'int4'" in result.stderr
    with pytest.raises(WebExportError, match="precision must be one of"):
        export_web(tmp_path / "page", precision="float64")


def test_an_interrupted_export_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    moved = []

    def interrupted_replace(source, target):
        if moved:
            raise KeyboardInterrupt
        moved.append(target)
        os.rename(source, target)

    monkeypatch.setattr("handdigit.web.export.os.replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        export_web(tmp_path)
    # model.js went in first; index.html, which loads it, comes last: the page is never half there
    assert sorted(os.listdir(tmp_path)) == ["model.js"]


def test_a_layer_the_page_cannot_run_is_named():
    from tinycnn import Sequential
    from tinycnn.layers.base import Layer

    class Doubler(Layer):
        def compute_output_shape(self, input_shape):
            return input_shape

        def forward(self, x, training=False):
            return 2 * x

        def backward(self, dy):
            return 2 * dy

    model = Sequential([Doubler()], input_shape=(28, 28, 1))
    with pytest.raises(WebExportError, match="the web page has no .*Doubler"):
        layer_specs(model)


def test_float16_weights_leave_the_answers_on_mnist_test_unchanged(mnist):
    """What the page computes (float32 arithmetic on float16-rounded weights) against the shipped
    float32 network, on 2,000 MNIST test images."""
    network = load_network(shipped_weights_path())
    images = mnist.test_images[:2000, :, :, None].astype(np.float32) / 255
    reference = network.predict(images, batch_size=500)
    network.set_weights(
        {name: value.astype(np.float16).astype(np.float32) for name, value in network.get_weights().items()}
    )
    rounded = network.predict(images, batch_size=500)
    agreement = np.mean(reference[:, :10].argmax(1) == rounded[:, :10].argmax(1))
    assert agreement >= 0.999, agreement
    assert np.max(np.abs(reference - rounded)) < 0.2
