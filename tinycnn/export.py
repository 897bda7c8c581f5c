"""A tinycnn Sequential as an ONNX graph, so a network trained here runs in any ONNX runtime.

    from tinycnn.export import to_onnx
    to_onnx(model, "digits.onnx")        # needs the `onnx` package (pip install 'handdigit[export]')

The graph takes `input`, (N, H, W, C) float32 (tinycnn's channels-last layout, the batch size
dynamic), and gives `logits`, (N, K): no preprocessing and no softmax inside, as
`model.predict` does. ONNX's Conv and MaxPool work channels-first, so the graph transposes the
images once at the start, and transposes back to channels-last right before a Flatten, so that
the flattened vector lists its values in tinycnn's order (row, column, channel) and the Dense
kernels apply unchanged. Layer by layer:

    Conv2D     -> Conv (kernel (kh, kw, C_in, C_out) -> (C_out, C_in, kh, kw); "same" as explicit pads)
    ReLU       -> Relu
    MaxPool2D  -> MaxPool
    Dropout    -> nothing (it is the identity at inference)
    Flatten    -> Transpose to channels-last, then Flatten
    Dense      -> Gemm (x @ kernel + bias)
"""

import os

import numpy as np

from tinycnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU

OPSET = 17
IR_VERSION = 8  # read by every onnxruntime since 1.10


def _onnx_modules():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'handdigit[export]'") from None
    return onnx, helper, numpy_helper


def _conv_pads(layer):
    """ONNX pads [top, left, bottom, right] for the layer's built geometry."""
    height, width, _ = layer.input_shape
    g = layer.geometry
    bottom = max((g.out_h - 1) * g.stride_h + g.kernel_h - height - g.pad_top, 0)
    right = max((g.out_w - 1) * g.stride_w + g.kernel_w - width - g.pad_left, 0)
    return [g.pad_top, g.pad_left, bottom, right]


def to_graph(model, name=None):
    """The onnx.ModelProto of `model` (a built tinycnn Sequential), checked by onnx.checker."""
    onnx, helper, numpy_helper = _onnx_modules()
    nodes, initializers = [], []
    current, channels_first = "input", False

    def add(op, inputs, **attributes):
        nonlocal current
        output = f"{op.lower()}_{len(nodes)}"
        nodes.append(helper.make_node(op, [current, *inputs], [output], **attributes))
        current = output

    def constant(label, array):
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, np.float32), label))
        return label

    for layer in model.layers:
        if isinstance(layer, (Conv2D, MaxPool2D)) and not channels_first:
            add("Transpose", [], perm=[0, 3, 1, 2])
            channels_first = True
        if isinstance(layer, Conv2D):
            kernel = layer.params["kernel"].transpose(3, 2, 0, 1)
            add(
                "Conv",
                [
                    constant(f"{layer.name}/kernel", kernel),
                    constant(f"{layer.name}/bias", layer.params["bias"]),
                ],
                kernel_shape=list(layer.kernel_size),
                strides=list(layer.strides),
                pads=_conv_pads(layer),
            )
        elif isinstance(layer, ReLU):
            add("Relu", [])
        elif isinstance(layer, MaxPool2D):
            add("MaxPool", [], kernel_shape=list(layer.pool_size), strides=list(layer.strides))
        elif isinstance(layer, Dropout):
            continue
        elif isinstance(layer, Flatten):
            if channels_first:
                add("Transpose", [], perm=[0, 2, 3, 1])
                channels_first = False
            add("Flatten", [], axis=1)
        elif isinstance(layer, Dense):
            add(
                "Gemm",
                [
                    constant(f"{layer.name}/kernel", layer.params["kernel"]),
                    constant(f"{layer.name}/bias", layer.params["bias"]),
                ],
            )
        else:
            raise ValueError(f"to_onnx: no ONNX translation for {layer.describe()}")
    if channels_first:
        raise ValueError("to_onnx: the network must end in Dense layers (after a Flatten) to give logits")
    nodes[-1].output[0] = "logits"
    graph = helper.make_graph(
        nodes,
        name or model.name,
        [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, ["N", *model.input_shape])],
        [helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, ["N", *model.output_shape])],
        initializers,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="tinycnn")
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto, full_check=True)
    return proto


def to_onnx(model, path, name=None):
    """Write `model` as an ONNX file at `path` (atomically); returns the path."""
    from tinycnn.weights_file import write_bytes_atomic

    if model.dtype != np.float32:
        raise ValueError(f"to_onnx: export a float32 model (this one is {model.dtype})")
    return write_bytes_atomic(os.fspath(path), to_graph(model, name).SerializeToString())
