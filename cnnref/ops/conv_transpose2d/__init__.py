"""conv_transpose2d: the transposed 2-D convolution (conv2d's dL/dX as an op) and its gradients."""
