"""conv2d_backward with dL/dW 1% too large: one bug that fails several properties."""

import cnnref


def conv2d_backward(dy, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    dx, dw, db = cnnref.conv2d_backward(dy, x, w, b, stride, padding, dilation, groups)
    return dx, dw * 1.01, db
