"""A CUDA candidate: PyTorch's own conv2d and max_pool2d in float16 on the GPU, verified
through the process fence with ``--device cuda``.

It needs a GPU that torch can see.  CI has none, so without one the test is skipped, under
CI=true too (a GPU is hardware CI lacks, not a tool it should have), and says so.  The
``--device`` option and the fence that opens the device nodes (``/dev/nvidia*``) are
cnnref.verify's; ``device=`` is the PyTorch adapter's (docs/half-precision.md, "GPUs").
"""

from __future__ import annotations

import io

import pytest

from cnnref.oracles.torch_autograd import torch_available
from tests.conftest import require


@pytest.fixture
def cuda() -> None:
    require(torch_available(), "torch (pip install -e '.[test]')")
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU: torch.cuda.is_available() is False (CI has none)")


# The candidate's process builds it: cnnref verify --impl tests.test_gpu:cuda_float16_layers
def cuda_float16_layers():
    import torch.nn.functional as F

    from cnnref.adapters import torch_forward

    # cuDNN sums in float32 and rounds once: nothing to declare but the formats it is run in.
    return torch_forward(conv2d=F.conv2d, max_pool2d=F.max_pool2d, device="cuda")


PROPERTIES = [
    "conv2d.matches_reference",
    "conv2d_backward.matches_reference",
    "max_pool2d.matches_reference",
    "max_pool2d_backward.matches_reference",
]


def test_a_cuda_candidate_passes_in_float16(cuda) -> None:
    from cnnref.verify import verify

    result = verify(
        "tests.test_gpu:cuda_float16_layers",
        properties=PROPERTIES,
        dtype="float16",
        examples=20,
        seed=0,
        device="cuda",
    )
    assert result.passed, result.explain()
    assert [p.status for p in result.properties] == ["passed"] * len(PROPERTIES)


def test_the_cli_runs_a_cuda_candidate(cuda) -> None:
    from cnnref.cli import build_parser

    parsed = build_parser().parse_args(
        [
            "verify",
            "--impl",
            "tests.test_gpu:cuda_float16_layers",
            "--device",
            "cuda",
            "--dtype",
            "float16",
            "--examples",
            "10",
            "--seed",
            "0",
            "--property",
            "conv2d.matches_reference",
        ]
    )
    out, err = io.StringIO(), io.StringIO()
    assert parsed.run(parsed, out, err) == 0, out.getvalue() + err.getvalue()
