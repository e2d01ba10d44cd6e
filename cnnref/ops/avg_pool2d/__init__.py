"""avg_pool2d: the mean of each window, and its gradient."""
