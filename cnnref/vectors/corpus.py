"""The corpus on disk: one directory per case, its .npy files, and manifest.json.

The manifest describes each call (op, arguments, files, hashes, tolerances,
features) so that a test suite in any language can run it; docs/vectors.md
is its reference.  The directory is written all at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

import cnnref

from ..checks.compare import FLOAT32_RTOL, FLOAT64_RTOL
from .catalogue import NamedCase, named_cases, sweep
from .expected import ACCUMULATION, OpVector, torch_disagreements, torch_version, vectors_of
from .features import FEATURES

FORMAT = "cnnref-vectors"
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
DEFAULT_SWEEP = 16

COMPARISON_RULE = (
    "an actual element a passes against expected e and tolerance t when: both are NaN; or e is "
    "+inf or -inf and a == e; or both are finite and |a - e| <= t; or (float16 and bfloat16 "
    "outputs only, whose tolerance gives an 'overflow' threshold T) e is finite, a is the "
    "infinity of e's sign and |e| + t >= T. Anything else fails (NaN where a number is "
    "expected, a number where NaN is expected, inf where a number is expected)."
)
TOLERANCE_RULE = {
    "atol": (
        "per element, rtol * scale + normwise, computed in float64 (normwise: what FFT or "
        "Winograd rounding may add to each output plane of a convolution, see docs/tolerances.md)"
    ),
    "scale": "the same op applied to absolute values (see each output's 'scale')",
    "rtol_float64": FLOAT64_RTOL,
    "rtol_float32": f"max({FLOAT32_RTOL}, 1e-5 * sqrt(terms)), terms = products summed per element",
    "half": (
        "float16 and bfloat16 outputs assume the inputs taken exactly, products summed in "
        f"{ACCUMULATION} and the result rounded once (to nearest even) to the format: rtol is "
        "rtol_float32, and atol adds half an ulp of the format at |e| + rtol * scale + normwise "
        "(docs/tolerances.md, 'Half precision'); 'overflow' is the format's overflow threshold "
        "(max + half an ulp at max). A kernel that sums in the half format is not judged by "
        "these tolerances"
    ),
    "max_pool2d": "exact in float64 and float32 (atol 0): a maximum selects an element",
}
# How a dtype NumPy cannot save is stored: dtype -> the .npy dtype of its raw bits.
STORED_AS = {"bfloat16": "uint16"}
LAYOUT_NOTE = (
    "Every .npy file is C-order (fortran_order False). A case's 'layout' is how cnnref hands "
    "the inputs to the function under test; the values are the same in every layout. An "
    "implementation that takes strided memory can rebuild it: element [i0, i1, i2, i3] of an "
    "input sits at buffer[offset + i0*s0 + i1*s1 + i2*s2 + i3*s3] with strides s (in elements) "
    "and offset from its 'layout_strides' entry, in a buffer of 'buffer_elements' elements; "
    "the buffer's other elements are not read (cnnref fills them with NaN)."
)
LAYOUTS = {
    "contiguous": "C order",
    "fortran": "Fortran order (np.asfortranarray)",
    "strided": "every other element of a buffer twice as long along each axis",
    "negative-strides": "a view, reversed along H and W, of a reversed C-order buffer",
}


class VectorsError(Exception):
    """The corpus cannot be written (the reference disagrees with PyTorch, or a path is bad)."""


# ---------------------------------------------------------------- writing


def corpus_cases(seed: int, sweep_count: int) -> list[tuple[NamedCase, frozenset[str]]]:
    return named_cases() + sweep(seed, sweep_count)


def build_manifest_and_files(
    seed: int = 0, sweep_count: int = DEFAULT_SWEEP
) -> tuple[dict, dict[str, bytes]]:
    """The manifest and every file's bytes, by path relative to the corpus directory."""
    checked_with = torch_version()  # None: PyTorch is not installed
    files: dict[str, bytes] = {}
    entries = []
    for named, features in corpus_cases(seed, sweep_count):
        inputs, ops = vectors_of(named.case)
        if checked_with is not None:
            disagreements = torch_disagreements(named.case, inputs, ops)
            if disagreements:
                raise VectorsError(
                    f"case {named.name}: the reference and PyTorch disagree: {disagreements[0]}"
                )
        input_entries = {
            name: _file_entry(files, named.name, name, array, strides=True)
            for name, array in inputs.items()
            if array is not None
        }
        for op in ops:
            entries.append(_case_entry(named, features, op, input_entries, files))
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "cnnref_version": cnnref.__version__,
        "seed": seed,
        "sweep": sweep_count,
        "semantics": "PyTorch CPU: cnnref's reference (first maximum wins a tie, NaN wins, "
        "the last NaN of a window takes its gradient, an all -inf window routes to its first "
        "in-bounds element, pool padding is -inf)",
        "cross_checked_with": None if checked_with is None else f"torch {checked_with}",
        "comparison": COMPARISON_RULE,
        "tolerance": TOLERANCE_RULE,
        "layout_note": LAYOUT_NOTE,
        "layouts": LAYOUTS,
        "features": FEATURES,
        "cases": entries,
    }
    return manifest, files


def _case_entry(
    named: NamedCase,
    features: frozenset[str],
    op: OpVector,
    input_entries: dict[str, dict],
    files: dict[str, bytes],
) -> dict:
    case = named.case
    arguments = {name: _json(value) for name, value in case.geometry.items()}
    call_arguments = ", ".join([*op.inputs, *(f"{k}={v!r}" for k, v in case.geometry.items())])
    expected = []
    for output in op.outputs:
        if output.expected is None:
            expected.append({"name": output.name, "file": None})
            continue
        entry = {"name": output.name} | _file_entry(files, named.name, output.name, output.expected)
        atol = output.atol
        assert atol is not None  # there is a tolerance wherever there is an expected value
        entry["tolerance"] = {
            "atol": _file_entry(files, named.name, f"{output.name}.atol", atol),
            "rtol": output.rtol,
            "scale": output.scale,
        }
        if output.overflow is not None:
            entry["tolerance"] |= {"overflow": output.overflow, "accumulation": ACCUMULATION}
        expected.append(entry)
    return {
        "id": f"{named.name}/{op.op}",
        "name": named.name,
        "op": op.op,
        "about": named.about,
        "features": sorted(features),
        "dtype": case.dtype,
        "layout": case.layout,
        "arguments": arguments,
        "call": f"{op.op}({call_arguments})",
        "inputs": [{"name": name} | input_entries.get(name, {"file": None}) for name in op.inputs],
        "expected": expected,
        # The case's fields in the order its repr writes them.
        "case": {name: _json(getattr(case, name)) for name in case.field_names()},
        "python": repr(case),
    }


def _file_entry(
    files: dict[str, bytes], case_name: str, name: str, array: np.ndarray, *, strides=False
) -> dict:
    path = f"{case_name}/{name}.npy"
    dtype = array.dtype.name
    entry: dict[str, Any] = {"file": path, "shape": list(array.shape), "dtype": dtype}
    stored = array
    if dtype in STORED_AS:  # its raw bits, under a dtype every .npy reader knows
        entry["stored_as"] = STORED_AS[dtype]
        stored = np.ascontiguousarray(array).view(STORED_AS[dtype])
    if path not in files:
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(stored), allow_pickle=False)
        files[path] = buffer.getvalue()
    entry["sha256"] = hashlib.sha256(files[path]).hexdigest()
    if strides:  # inputs: how cnnref lays them out in memory
        entry["layout_strides"] = _strides(array)
    return entry


def _strides(array: np.ndarray) -> dict:
    """Where each element of a view sits in the smallest buffer that holds it, in elements."""
    strides = [s // array.itemsize for s in array.strides]
    reach = [(n - 1) * s for n, s in zip(array.shape, strides)]
    return {
        "strides": strides,
        "offset": -sum(r for r in reach if r < 0),
        "buffer_elements": sum(abs(r) for r in reach) + 1,
    }


def _json(value):
    return list(value) if isinstance(value, tuple) else value


def manifest_text(manifest: dict) -> str:
    """Indented JSON, with lists of numbers (shapes, strides) kept on one line."""
    text = json.dumps(manifest, indent=1)
    return re.sub(r"\[\s+([-\d,\s]+?)\s+\]", _one_line, text) + "\n"


def _one_line(match: re.Match) -> str:
    return "[" + " ".join(match.group(1).split()) + "]"


def write_corpus(
    out_dir: Path, seed: int = 0, sweep_count: int = DEFAULT_SWEEP, *, force: bool = False
) -> dict:
    """Write the corpus into ``out_dir`` all at once, and return its manifest.

    Files go to a temporary sibling directory that is renamed into place when
    complete, so ``out_dir`` never holds half a corpus.
    """
    check_destination(out_dir, force=force)
    manifest, files = build_manifest_and_files(seed, sweep_count)
    with _staging_directory(out_dir) as staging:
        for path, content in files.items():
            target = staging / path
            target.parent.mkdir(exist_ok=True)
            target.write_bytes(content)
        (staging / MANIFEST).write_text(manifest_text(manifest), encoding="utf-8")
        check_destination(out_dir, force=force)  # again: it may have changed meanwhile
        _replace_directory(staging, out_dir)
    return manifest


def check_destination(out_dir: Path, *, force: bool) -> None:
    """Refuse, before any work, a destination that cannot or must not be written."""
    parent = out_dir.absolute().parent
    if not parent.is_dir():
        raise VectorsError(f"OUT_DIR {out_dir}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise VectorsError(f"OUT_DIR {out_dir}: directory {parent} is not writable")
    if out_dir.exists() and not out_dir.is_dir():
        raise VectorsError(f"OUT_DIR {out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not force:
            raise VectorsError(f"OUT_DIR {out_dir} is not empty (--force replaces a corpus)")
        if not _is_corpus(out_dir):
            raise VectorsError(
                f"OUT_DIR {out_dir} is not empty and holds no {MANIFEST} of a corpus: "
                "--force replaces only a corpus written by cnnref vectors"
            )


def _is_corpus(directory: Path) -> bool:
    try:
        return json.loads((directory / MANIFEST).read_text())["format"] == FORMAT
    except (OSError, ValueError, KeyError, TypeError):
        return False


@contextlib.contextmanager
def _staging_directory(out_dir: Path) -> Iterator[Path]:
    """A hidden temporary directory beside ``out_dir``, removed on exit if still there."""
    parent = out_dir.absolute().parent
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out_dir.name}."))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _replace_directory(staging: Path, out_dir: Path) -> None:
    """Rename ``staging`` to ``out_dir``; an old corpus there is moved aside, then removed."""
    staging.chmod(0o777 & ~_umask())  # mkdtemp makes directories private (0700)
    if out_dir.is_dir() and any(out_dir.iterdir()):
        old = Path(tempfile.mkdtemp(dir=staging.parent, prefix=f".{out_dir.name}.old."))
        out_dir.rename(old / "corpus")
        staging.rename(out_dir)
        shutil.rmtree(old)
    else:
        if out_dir.is_dir():
            out_dir.rmdir()  # empty: rename cannot replace a directory on every platform
        staging.rename(out_dir)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def iter_files(manifest: dict) -> Iterator[dict]:
    """Every file entry of a manifest (inputs, expected outputs, tolerances), once each."""
    seen = set()
    for case in manifest["cases"]:
        entries = [*case["inputs"], *case["expected"]]
        entries += [e["tolerance"]["atol"] for e in case["expected"] if e.get("file")]
        for entry in entries:
            if entry.get("file") and entry["file"] not in seen:
                seen.add(entry["file"])
                yield entry
