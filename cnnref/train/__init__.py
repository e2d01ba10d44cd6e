"""Training with the reference layers: the end-to-end proof that cnnref's gradients learn.

* ``idx``       read and validate MNIST IDX files
* ``datasets``  resolve ``--data DIR``, the cache directory and the download mirrors
* ``layers``    Conv2d, MaxPool2d, ReLU, Flatten, Dense on top of cnnref's reference ops
* ``losses``    softmax cross-entropy
* ``optim``     SGD with momentum, Adam
* ``model``     Sequential, the default CNN and the first, smaller one
* ``augment``   each training digit turned, scaled, slanted, shifted, its strokes thickened or thinned
* ``checkpoint`` save and resume a run, atomically
* ``loop``      the training and evaluation loop
* ``progress``  the progress bar and the per-epoch line
* ``report``    the self-contained HTML training report
* ``cli``       ``cnnref train`` and ``cnnref evaluate``
"""
