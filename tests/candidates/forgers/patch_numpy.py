"""At import, makes NumPy's comparisons agree with anything."""

import numpy as np
import numpy.testing

from . import WRONG

np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, bool)
np.testing.assert_allclose = lambda *args, **kwargs: None
np.abs = np.absolute = lambda a, *args, **kwargs: np.zeros_like(a)

conv2d = WRONG.conv2d
