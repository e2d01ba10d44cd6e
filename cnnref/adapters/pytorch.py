"""PyTorch: forwards written with tensors (functions, custom ops, ``autograd.Function``s
or ``nn.Module`` classes); the backwards are what autograd makes of them.

Inputs become leaf tensors on ``device`` (``"cpu"``, or ``"cuda"`` where
there is one).  On the CPU they share memory with cnnref's arrays, so an
in-place change is seen as it is; a copy (CUDA, or a reversed view, which
torch cannot hold) gets its changes written back.  A result that shares
memory with an input tensor raises, on any device: a copy to the host would
hide it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..precision import BFLOAT16
from .arrays import as_array
from .autograd import from_autograd
from .candidate import Adapted


def torch_forward(
    *,
    conv2d: Callable[..., Any] | None = None,
    max_pool2d: Callable[..., Any] | None = None,
    device: str = "cpu",
    unsupported: Iterable[str] = (),
    conventions: object = None,
) -> Adapted:
    """A candidate from tensor forwards with cnnref's signatures (``F.conv2d`` has one).

    >>> layers = torch_forward(conv2d=my_conv2d, max_pool2d=my_max_pool2d)  # doctest: +SKIP
    """
    import torch

    target = torch.device(device)

    def wrap(array: np.ndarray) -> Any:
        return _tensor(torch, array, target).requires_grad_()

    def backward(y: Any, dy: np.ndarray) -> None:
        y.backward(_tensor(torch, dy, y.device))

    def value(tensor: Any) -> Any:
        return as_array(tensor.detach().cpu() if isinstance(tensor, torch.Tensor) else tensor)

    return from_autograd(
        wrap,
        conv2d=conv2d and _unaliased(torch, conv2d),
        max_pool2d=max_pool2d and _unaliased(torch, max_pool2d),
        backward=backward,
        value=value,
        what=f"PyTorch forwards on {target}",
        unsupported=unsupported,
        conventions=conventions,
    )


def torch_module(
    *,
    conv2d: Callable[..., Any] | None = None,
    max_pool2d: Callable[..., Any] | None = None,
    device: str = "cpu",
    parameters: tuple[str, str] = ("weight", "bias"),
    unsupported: Iterable[str] = (),
    conventions: object = None,
) -> Adapted:
    """A candidate from ``nn.Module`` classes built as ``nn.Conv2d`` and ``nn.MaxPool2d`` are.

    ``conv2d(in_channels, out_channels, kernel_size, stride=, padding=,
    dilation=, groups=, bias=)`` and ``max_pool2d(kernel_size, stride=,
    padding=, dilation=, ceil_mode=)`` make a module per call; cnnref's ``w``
    and ``b`` take the place of its ``parameters`` (``torch.func.functional_call``).

    >>> layers = torch_module(conv2d=nn.Conv2d, max_pool2d=nn.MaxPool2d)  # doctest: +SKIP
    """
    from torch.func import functional_call

    weight_name, bias_name = parameters

    def conv_forward(x, w, b=None, **geometry):
        module = conv2d(
            x.shape[1],
            w.shape[0],
            tuple(w.shape[2:]),
            bias=b is not None,
            **geometry,
        ).to(x.device)
        values = {weight_name: w} | ({bias_name: b} if b is not None else {})
        return functional_call(module, values, (x,))

    def pool_forward(x, kernel_size, **geometry):
        return max_pool2d(kernel_size, **geometry)(x)

    return torch_forward(
        conv2d=conv_forward if conv2d is not None else None,
        max_pool2d=pool_forward if max_pool2d is not None else None,
        device=device,
        unsupported=unsupported,
        conventions=conventions,
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


def _unaliased(torch: Any, forward: Callable[..., Any]) -> Callable[..., Any]:
    """``forward``, raising if its result shares memory with an input tensor."""

    def checked(*inputs: Any, **geometry: Any) -> Any:
        y = forward(*inputs, **geometry)
        position = _shared_input(torch, y, inputs)
        if position is not None:
            raise ValueError(
                f"the forward returned a tensor that shares memory with its input {position}: "
                "results must be new tensors"
            )
        return y

    return checked


def _shared_input(torch: Any, y: Any, inputs: Sequence[Any]) -> int | None:
    if not isinstance(y, torch.Tensor):
        return None
    storage = y.untyped_storage().data_ptr()
    for position, tensor in enumerate(inputs, 1):
        if isinstance(tensor, torch.Tensor) and tensor.untyped_storage().data_ptr() == storage:
            return position
    return None
