"""`handdigit export --onnx` and the shipped network against two independent runtimes:
onnxruntime on 1,000 MNIST test images and onnx's reference evaluator (plain NumPy, written from
the ONNX specification) on 100, both within 1e-4 of tinycnn's logits."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from tinycnn import Sequential  # noqa: E402

from .helpers import run_handdigit  # noqa: E402


def onnxruntime_logits(path, images):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"input": images})[0]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    from handdigit.resources import shipped_weights_path

    path = tmp_path_factory.mktemp("onnx") / "digits.onnx"
    result = run_handdigit("export", "--onnx", path)
    assert result.returncode == 0, result.stderr
    assert "output 'logits' (N, 10)" in result.stdout
    return Sequential.load(shipped_weights_path()), path


def test_the_shipped_network_in_onnxruntime_gives_tinycnns_logits(shipped, mnist):
    model, path = shipped
    images = (mnist.test_images[:1000, :, :, None] / 255).astype(np.float32)
    expected = model.predict(images)
    got = onnxruntime_logits(path, images)
    assert got.shape == (1000, 10)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    assert (got.argmax(1) == mnist.test_labels[:1000]).mean() > 0.99


def test_the_shipped_network_in_onnxs_reference_evaluator_gives_tinycnns_logits(shipped, mnist):
    from onnx.reference import ReferenceEvaluator

    model, path = shipped
    images = (mnist.test_images[1000:1100, :, :, None] / 255).astype(np.float32)
    (got,) = ReferenceEvaluator(str(path)).run(["logits"], {"input": images})
    np.testing.assert_allclose(got, model.predict(images), atol=1e-4, rtol=0)


def test_the_graph_has_the_documented_names_shapes_and_no_softmax(shipped):
    _, path = shipped
    graph = onnx.load(str(path)).graph
    (given_input,) = graph.input
    (given_output,) = graph.output
    assert given_input.name == "input" and given_output.name == "logits"
    dims = [d.dim_param or d.dim_value for d in given_input.type.tensor_type.shape.dim]
    assert dims == ["N", 28, 28, 1]
    assert [d.dim_param or d.dim_value for d in given_output.type.tensor_type.shape.dim] == ["N", 10]
    ops = [node.op_type for node in graph.node]
    assert ops == [
        "Transpose",
        "Conv",
        "Relu",
        "Conv",
        "Relu",
        "MaxPool",
        "Transpose",
        "Flatten",
        "Gemm",
        "Relu",
        "Gemm",
    ]


def test_export_refuses_a_place_it_cannot_write_in_one_line(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("mine")
    result = run_handdigit("export", "--onnx", taken / "digits.onnx")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"--onnx {taken}: is a file, not a directory" in result.stderr
