"""conv2d and its gradients as matrix products: what ``cnnref.conv2d`` runs.

The identities are the literal form's (literal.py); what
changes is how a correlation is computed (im2col.py: one matrix product per
block of images instead of one sum per tap):

* forward:  Y = correlate(pad(X), W) + b                    (im2col)
* dL/dW:    dW_rows = dY_rows @ patches(pad(X))             (the forward's product, adjoint in W)
* dL/dX:    full correlation of spread(dY) with rot180(W^T), cropped by the padding
            (the literal identity; one channels-last copy spreads, pads and crops),
            or, with at least four times as many output as input channels, the adjoint of the
            forward's product: col2im(W_rows^T @ dY_rows), which builds a smaller matrix
* dL/db:    dL/dY summed over batch and pixels
"""

from __future__ import annotations

import numpy as np

from .. import blocks
from ..arguments import Pair, effective_kernel
from .geometry import ConvGeometry, conv2d_backward_call, conv2d_call
from .im2col import add_columns, channels_last, output_size, patch_blocks, patch_bytes_per_image


@conv2d_call
def conv2d(
    geometry: ConvGeometry, x: np.ndarray, w: np.ndarray, b: np.ndarray | None
) -> np.ndarray:
    """2-D convolution as PyTorch defines it: a cross-correlation, NCHW.

    ``x`` is (N, C, H, W), ``w`` is (O, C/groups, kh, kw), ``b`` is (O,) or None.
    Returns (N, O, OH, OW) with ``OH = (H + 2*padding - dilation*(kh-1) - 1) // stride + 1``.
    """
    x_cl = padded_channels_last(x, geometry.padding)
    return correlate_channels_last(
        x_cl, w, geometry.stride, geometry.dilation, geometry.groups, bias=b
    )


@conv2d_backward_call
def conv2d_backward(
    geometry: ConvGeometry, dy: np.ndarray, x: np.ndarray, w: np.ndarray, bias: bool, need_dx: bool
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients ``(dx, dw, db)`` of a loss L given ``dy = dL/dY`` for ``Y = conv2d(x, w, b, ...)``.

    ``db`` is None when ``b`` is None; ``dx`` is None with ``need_dx=False``
    (a network's first layer, whose input needs no gradient: PyTorch skips it too).
    """
    dy_rows = gradient_rows(dy, geometry.groups)
    # NaN and inf in dy propagate through the products, as in PyTorch: no warning.
    with np.errstate(invalid="ignore", over="ignore"):
        dx = input_gradient(dy, dy_rows, w, x.shape, geometry) if need_dx else None
        dw = weight_gradient(dy_rows, x, w.shape, geometry)
        db = dy_rows.sum(axis=2).reshape(-1) if bias else None
    return dx, dw, db


def correlate_channels_last(
    x_cl: np.ndarray,
    kernel: np.ndarray,
    stride: Pair,
    dilation: Pair,
    groups: int,
    bias: np.ndarray | None = None,
) -> np.ndarray:
    """The literal ``correlate`` (valid, grouped) of channels-last ``x_cl`` with ``kernel``
    (G*O, C, kh, kw), plus ``bias`` per output channel, returned NCHW:
    ``K_rows @ patches^T`` per block of images (im2col).

    A product with 64 or more terms per output runs as one large GEMM per
    block; a shorter one costs less than moving its result, so it is written
    straight into place, one image at a time.
    """
    n = x_cl.shape[0]
    out_channels, _, kh, kw = kernel.shape
    oh, ow = output_size(x_cl.shape[1:3], (kh, kw), stride, dilation)
    out_per_group = out_channels // groups
    rows = kernel_rows(kernel, groups)
    y = np.empty((n, out_channels, oh, ow), dtype=np.result_type(x_cl, kernel))
    y_groups = y.reshape(n, groups, out_per_group, oh * ow)
    bias_column = None if bias is None else bias.reshape(groups, out_per_group, 1)

    def correlate(run: slice) -> None:
        for images, patches in patch_blocks(x_cl, (kh, kw), stride, dilation, groups, run):
            count, length = images.stop - images.start, patches.shape[2]
            target = y_groups[images]  # (images, G, O, pixels)
            if length < 64:
                per_image = patches.reshape(groups, count, oh * ow, length).transpose(1, 0, 3, 2)
                np.matmul(rows, per_image, out=target)
            else:
                product = large_product(rows, patches)  # (G, O, images * pixels)
                target[...] = product.reshape(groups, out_per_group, count, oh * ow).transpose(
                    2, 0, 1, 3
                )
            if bias_column is not None:
                target += bias_column

    blocks.for_each_run(n, patch_bytes_per_image(x_cl, (kh, kw), stride, dilation), correlate)
    return y


def weight_gradient(
    dy_rows: np.ndarray, x: np.ndarray, w_shape: tuple[int, ...], geometry: ConvGeometry
) -> np.ndarray:
    """dL/dW[o, (i, j, c)] = sum over windows of dY[window, o] * patches(pad(X))[window, (i, j, c)].

    The literal form's correlation of X with dY, computed as the forward's
    matrix product taken the other way: ``dY_rows @ patches``, summed over blocks in
    block order (``blocks.add_over_blocks``), whichever threads computed them.
    """
    groups, stride, dilation = geometry.groups, geometry.stride, geometry.dilation
    out_channels, per_group, kh, kw = w_shape
    x_cl = padded_channels_last(x, geometry.padding)
    n = x_cl.shape[0]

    def block_term(images: slice) -> np.ndarray:
        one_block = patch_blocks(x_cl, (kh, kw), stride, dilation, groups, images)
        _, patches = next(one_block)
        term = np.matmul(columns_of(dy_rows, images, n), patches)
        one_block.close()  # only now may its scratch buffer, which patches views, be reused
        return term

    image_bytes = patch_bytes_per_image(x_cl, (kh, kw), stride, dilation)
    dw_rows = np.zeros((groups, out_channels // groups, kh * kw * per_group), dtype=dy_rows.dtype)
    blocks.add_over_blocks(dw_rows, n, image_bytes, blocks.PATCH_BUDGET_BYTES, block_term)
    dw = dw_rows.reshape(groups, out_channels // groups, kh, kw, per_group).transpose(0, 1, 4, 2, 3)
    return np.ascontiguousarray(dw.reshape(w_shape))


def input_gradient(
    dy: np.ndarray,
    dy_rows: np.ndarray,
    w: np.ndarray,
    x_shape: tuple[int, ...],
    geometry: ConvGeometry,
) -> np.ndarray:
    """dL/dX, through whichever of two equal forms moves less memory.

    The correlation copies kh*kw*O numbers per input pixel into its patch
    matrix; the scatter's matrix holds kh*kw*C per output pixel, but adding it
    back takes kh*kw strided passes, each several times as slow per number
    as a copy (measured, the scatter against the correlation: 4x faster at
    C=1, O=32; 1.2x slower at C=32, O=64).
    """
    if 4 * x_shape[1] <= w.shape[0]:
        return scattered_input_gradient(dy_rows, w, x_shape, geometry)
    return correlated_input_gradient(dy, w, x_shape, geometry)


def correlated_input_gradient(
    dy: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], geometry: ConvGeometry
) -> np.ndarray:
    """dL/dX = crop(full_correlation(spread(dY), rot180(W^T))), as in the literal form.

    The full correlation pads spread(dY) by the dilated kernel's reach on each
    side; cropping the padding off the result is the same as starting that
    padded copy ``padding`` rows later and computing only H x W outputs, so a
    single channels-last copy (shifted, spread, zero elsewhere) feeds one
    correlation.  Rows no window reached read only zeros, so get zero gradient.
    """
    _, _, height, width = x_shape
    reach_h, reach_w = (effective_kernel(k, d) - 1 for k, d in zip(w.shape[-2:], geometry.dilation))
    reach = (reach_h, reach_w)
    start = (reach_h - geometry.padding[0], reach_w - geometry.padding[1])
    spread = channels_last(
        dy, size=(height + reach[0], width + reach[1]), offset=start, spacing=geometry.stride
    )
    kernel = rotated_transposed_kernel(w, geometry.groups)
    return correlate_channels_last(spread, kernel, (1, 1), geometry.dilation, geometry.groups)


def scattered_input_gradient(
    dy_rows: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], geometry: ConvGeometry
) -> np.ndarray:
    """dL/dX = crop(col2im(W_rows^T @ dY_rows)): the forward's product, adjoint in X.

    Each window's dY, weighted by the kernel, is added back onto the input
    pixels that window read; what lands on padding is cropped off.
    """
    n, channels, height, width = x_shape
    (ph, pw), groups = geometry.padding, geometry.groups
    kh, kw = w.shape[-2:]
    pixels_per_image = dy_rows.shape[2] // max(1, n)  # OH * OW
    column_bytes_per_image = kh * kw * channels * pixels_per_image * dy_rows.itemsize
    rows_transposed = kernel_rows(w, groups).transpose(0, 2, 1)  # (G, kh*kw*C, O)
    dx = np.empty((n, channels, height, width), dtype=dy_rows.dtype)

    def scatter(run: slice) -> None:
        for images in blocks.batch_blocks(run, column_bytes_per_image, blocks.PATCH_BUDGET_BYTES):
            count = images.stop - images.start
            dx_padded = np.zeros((count, channels, height + 2 * ph, width + 2 * pw), dx.dtype)
            columns = np.matmul(rows_transposed, columns_of(dy_rows, images, n))
            add_columns(dx_padded, columns, (kh, kw), geometry.stride, geometry.dilation)
            dx[images] = dx_padded[:, :, ph : ph + height, pw : pw + width]

    blocks.for_each_run(n, column_bytes_per_image, scatter)
    return dx


def large_product(rows: np.ndarray, patches: np.ndarray) -> np.ndarray:
    """``rows @ patches^T``: (G, O, windows), possibly as a transposed view.

    Both orientations of the product give the same sums.  OpenBLAS's sgemm
    runs these tall, narrow shapes about 30% faster as ``(patches @ rows^T)^T``
    (which pays for moving the transposed result into place), its dgemm
    about 10% faster as written (measured on this project's 2-core AVX-512
    machines).
    """
    if patches.dtype == np.float32:
        return np.matmul(patches, rows.transpose(0, 2, 1)).transpose(0, 2, 1)
    return np.matmul(rows, patches.transpose(0, 2, 1))


def kernel_rows(kernel: np.ndarray, groups: int) -> np.ndarray:
    """(G*O, C, kh, kw) -> (G, O, kh*kw*C): each kernel read in the patches' (i, j, c) order."""
    out_channels, per_group, kh, kw = kernel.shape
    grouped = kernel.reshape(groups, out_channels // groups, per_group, kh, kw)
    return grouped.transpose(0, 1, 3, 4, 2).reshape(
        groups, out_channels // groups, kh * kw * per_group
    )


def rotated_transposed_kernel(kernel: np.ndarray, groups: int) -> np.ndarray:
    """rot180(W^T): (G*O, C, kh, kw) -> (G*C, O, kh, kw), in- and out-channels swapped within
    each group and each kernel flipped along both axes (the literal form's two steps in one)."""
    out_channels, per_group, kh, kw = kernel.shape
    grouped = kernel.reshape(groups, out_channels // groups, per_group, kh, kw)
    swapped = grouped.transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
    return swapped.reshape(groups * per_group, out_channels // groups, kh, kw)


def gradient_rows(dy: np.ndarray, groups: int) -> np.ndarray:
    """dL/dY as (G, O, N * OH * OW): one column per window, in the patches' row order."""
    n, out_channels, oh, ow = dy.shape
    grouped = dy.reshape(n, groups, out_channels // groups, oh * ow)
    rows = np.empty((groups, out_channels // groups, n, oh * ow), dtype=dy.dtype)

    def copy(images: slice) -> None:
        rows[:, :, images] = grouped[images].transpose(1, 2, 0, 3)

    blocks.for_each_run(n, dy[:1].nbytes, copy)
    return rows.reshape(groups, out_channels // groups, n * oh * ow)


def columns_of(rows: np.ndarray, images: slice, n: int) -> np.ndarray:
    """The columns of ``rows`` (G, O, N * pixels) that belong to a block of images."""
    pixels = rows.shape[2] // max(1, n)
    return rows[:, :, images.start * pixels : images.stop * pixels]


def padded_channels_last(x: np.ndarray, padding: Pair) -> np.ndarray:
    """pad(x) of the literal form, channels-last."""
    (ph, pw), (height, width) = padding, x.shape[-2:]
    return channels_last(x, size=(height + 2 * ph, width + 2 * pw), offset=padding)
