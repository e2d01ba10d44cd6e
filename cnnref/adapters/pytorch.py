"""PyTorch: forwards written with tensors (functions, custom ops, ``autograd.Function``s
or ``nn.Module`` classes); the backwards are what autograd makes of them.

Inputs become leaf tensors on ``device`` (``"cpu"``, or ``"cuda"`` where
there is one).  On the CPU they share memory with cnnref's arrays, so an
in-place change is seen as it is; a copy (CUDA, or a reversed view, which
torch cannot hold) gets its changes written back.  A forward's result that
shares memory with an input tensor raises, on any device: a copy to the host
would hide it.  A gradient autograd hands back in an input's own buffer (db
as dy itself, when nothing is summed) is copied (``differentiable.fresh``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

import numpy as np

from ..ops.signatures import SIGNATURES
from ..precision import BFLOAT16
from .arrays import as_array
from .autograd import from_autograd
from .candidate import Adapted
from .differentiable import check_forwards


def torch_forward(
    *,
    device: str = "cpu",
    geometry: str = "pairs",
    unsupported: Iterable[str] = (),
    conventions: object = None,
    **forwards: Callable[..., Any] | None,
) -> Adapted:
    """A candidate from tensor forwards with cnnref's signatures (``F.conv2d`` has one).

    ``forwards``: one keyword per op (``conv2d=``, ``max_pool2d=``,
    ``conv_transpose2d=``, ``avg_pool2d=``); ``device``: ``"cpu"`` or
    ``"cuda"`` (inputs are moved there, results come back as NumPy arrays);
    ``geometry``: as ``from_vjp`` takes it.  On the CPU, where PyTorch's float16 and
    bfloat16 backward kernels round their partial sums in the half format, the adapter
    declares ``{"accumulation": "half"}`` unless ``conventions`` says otherwise
    (docs/half-precision.md).

    >>> layers = torch_forward(conv2d=my_conv2d, max_pool2d=my_max_pool2d)  # doctest: +SKIP
    """
    import torch

    target = torch.device(device)
    if conventions is None and target.type == "cpu":
        conventions = {"accumulation": "half"}

    def wrap(array: np.ndarray) -> Any:
        return _tensor(torch, array, target).requires_grad_()

    def backward(y: Any, dy: np.ndarray) -> None:
        y.backward(_tensor(torch, dy, y.device))

    def value(tensor: Any) -> Any:
        return as_array(tensor.detach().cpu() if isinstance(tensor, torch.Tensor) else tensor)

    return from_autograd(
        wrap,
        backward=backward,
        value=value,
        geometry=geometry,
        what=f"PyTorch forwards on {target}",
        unsupported=unsupported,
        conventions=conventions,
        **cast(
            dict[str, Any],
            {op: forward and _unaliased(torch, op, forward) for op, forward in forwards.items()},
        ),
    )


def torch_module(
    *,
    device: str = "cpu",
    parameters: tuple[str, str] = ("weight", "bias"),
    unsupported: Iterable[str] = (),
    conventions: object = None,
    **classes: Callable[..., Any] | None,
) -> Adapted:
    """A candidate from ``nn.Module`` classes built as PyTorch's own layers are.

    ``conv2d`` and ``conv_transpose2d`` are made as ``nn.Conv2d(in_channels,
    out_channels, kernel_size, stride=, ..., bias=)`` and
    ``nn.ConvTranspose2d`` are, ``max_pool2d`` and ``avg_pool2d`` as
    ``nn.MaxPool2d(kernel_size, stride=, ...)`` and ``nn.AvgPool2d``, the adaptive pools as
    ``nn.AdaptiveAvgPool2d(output_size)`` and ``nn.AdaptiveMaxPool2d``: a
    module per call, cnnref's ``w`` and ``b`` in place of its ``parameters``
    (``torch.func.functional_call``).

    >>> layers = torch_module(conv2d=nn.Conv2d, max_pool2d=nn.MaxPool2d)  # doctest: +SKIP
    """
    from torch.func import functional_call

    check_forwards(classes, "torch_module")
    weight_name, bias_name = parameters

    def convolution(make: Callable[..., Any], transposed: bool) -> Callable[..., Any]:
        def forward(x, w, b=None, **geometry):
            groups = geometry.get("groups", 1)
            out_channels = w.shape[1] * groups if transposed else w.shape[0]
            module = make(
                x.shape[1], out_channels, tuple(w.shape[2:]), bias=b is not None, **geometry
            ).to(x.device)
            values = {weight_name: w} | ({bias_name: b} if b is not None else {})
            return functional_call(module, values, (x,))

        return forward

    def pooling(make: Callable[..., Any]) -> Callable[..., Any]:
        # kernel_size (output_size for the adaptive pools) and the rest, as the layer takes them
        return lambda x, *size, **geometry: make(*size, **geometry)(x)

    convolutions = {
        "conv2d": lambda make: convolution(make, False),
        "conv_transpose2d": lambda make: convolution(make, True),
    }
    return torch_forward(
        device=device,
        unsupported=unsupported,
        conventions=conventions,
        **cast(
            dict[str, Any],
            {op: make and convolutions.get(op, pooling)(make) for op, make in classes.items()},
        ),
    )


def _tensor(torch: Any, array: np.ndarray, device: Any) -> Any:
    """``array`` as a tensor on ``device``: the same memory where torch can hold it.

    bfloat16 crosses as its 16-bit integer bits (torch reads no ml_dtypes array)."""
    bits = array.dtype == BFLOAT16
    if bits:
        array = array.view(np.int16)
    if device.type == "cpu" and min(array.strides, default=0) >= 0 and array.flags.writeable:
        tensor = torch.from_numpy(array)
    else:
        tensor = torch.from_numpy(np.ascontiguousarray(array)).to(device)
    return tensor.view(torch.bfloat16) if bits else tensor


def _unaliased(torch: Any, op: str, forward: Callable[..., Any]) -> Callable[..., Any]:
    """``forward``, raising if its result shares memory with an input tensor."""
    names = SIGNATURES[op].operands

    def checked(*inputs: Any, **geometry: Any) -> Any:
        y = forward(*inputs, **geometry)
        name = _shared_input(torch, y, dict(zip(names, inputs)))
        if name is not None:
            raise ValueError(
                f"the forward given to torch_forward as {op} returned a tensor that shares "
                f"memory with its input {name}: results must be new tensors"
            )
        return y

    return checked


def _shared_input(torch: Any, y: Any, inputs: dict[str, Any]) -> str | None:
    if not isinstance(y, torch.Tensor):
        return None
    storage = y.untyped_storage().data_ptr()
    for name, tensor in inputs.items():
        if isinstance(tensor, torch.Tensor) and tensor.untyped_storage().data_ptr() == storage:
            return name
    return None
