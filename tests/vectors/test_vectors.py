"""``cnnref vectors``: the golden corpus is complete, truthful, reproducible, and catches bugs.

The corpus is written once per module by the CLI; the checks read it back the
way a consumer in another language would (the manifest and the .npy files,
not cnnref's objects), through the loader printed in docs/vectors.md.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import ml_dtypes
import numpy as np
import pytest

from cnnref import precision, reference
from cnnref.cli import main
from cnnref.ops import FUNCTIONS, OPS, op_of
from cnnref.ops.max_pool2d.geometry import PoolGeometry
from cnnref.oracles import torch_autograd
from cnnref.precision import DTYPES, HALF_DTYPES
from cnnref.reference import literal
from cnnref.vectors import FEATURES, FORMAT, FORMAT_VERSION, MANIFEST, iter_files
from tests.conftest import require
from tests.support.once import once_per_run

pytestmark = pytest.mark.slow  # writes golden-vector corpora
ROOT = Path(__file__).resolve().parents[2]
# What the corpus must exercise (issue 12): written out here, not read from cnnref.
REQUIRED_FEATURES = {
    "ties",
    "nan",
    "nan_twice",
    "neginf",
    "all_neginf_window",
    "all_neginf_window_padded",
    "padding_negative_window",
    "ceil_mode",
    "ceil_mode_extra_window",
    "ceil_mode_last_window_rule",
    "dilation",
    "groups",
    "depthwise",
    "padding",
    "padding_only_window",
    "stride",
    "stride_none",
    "non_square_input",
    "non_square_geometry",
    "batch",
    "channels",
    "large_batch",
    "many_channels",
    "large_image",
    "bias",
    "no_bias",
    "overlapping_windows",
    "unused_input",
    "float64",
    "float32",
    "float16",
    "bfloat16",
    "near_overflow",
    "subnormal",
    "fortran",
    "strided",
    "negative_strides",
}


@pytest.fixture(scope="module")
def corpus(request: pytest.FixtureRequest) -> Path:
    """The default corpus, written once per test run by the CLI."""

    def write(directory: Path) -> None:
        assert main(["vectors", str(directory / "corpus")]) == 0

    return once_per_run(request, "vectors", write) / "corpus"


@pytest.fixture(scope="module")
def manifest(corpus: Path) -> dict:
    return json.loads((corpus / MANIFEST).read_text())


@pytest.fixture(scope="module")
def docs_loader() -> dict:
    """The Python loader of docs/vectors.md, run as printed there."""
    text = (ROOT / "docs" / "vectors.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    namespace: dict = {}
    exec(code, namespace)
    return namespace


def load(corpus: Path, entry: dict) -> np.ndarray | None:
    """A file's array in its manifest dtype: bfloat16 is stored as its uint16 bits."""
    if entry["file"] is None:
        return None
    array = np.load(corpus / entry["file"], allow_pickle=False)
    return array.view(ml_dtypes.bfloat16) if entry["dtype"] == "bfloat16" else array


def rebuilt_case(case: dict):
    """The manifest's "python" case, evaluated among its op's case classes."""
    namespace = vars(importlib.import_module(f"cnnref.ops.{op_of(case['op'])}.cases"))
    return eval(case["python"], dict(namespace))


def arguments(case: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in case["arguments"].items()}


# ---------------------------------------------------------------- the manifest


def test_manifest_describes_every_case_and_file(corpus: Path, manifest: dict) -> None:
    assert (manifest["format"], manifest["format_version"]) == (FORMAT, FORMAT_VERSION)
    assert manifest["cnnref_version"] and manifest["comparison"] and manifest["tolerance"]
    ids = [case["id"] for case in manifest["cases"]]
    assert len(ids) == len(set(ids)), "case ids repeat"
    for case in manifest["cases"]:
        assert case["op"] in FUNCTIONS, case["id"]
        assert case["dtype"] in DTYPES, case["id"]
        assert set(case["features"]) <= set(FEATURES), case["id"]
        assert case["call"].startswith(f"{case['op']}("), case["id"]
        assert case["expected"], case["id"]
        case_class = type(rebuilt_case(case))
        rebuilt = case_class(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in case["case"].items()}
        )
        assert repr(rebuilt) == case["python"], case["id"]
        for entry in case["inputs"]:
            if entry["file"] is not None:
                assert entry["dtype"] == case["dtype"], f"{case['id']} {entry['name']}"
        for entry in case["expected"]:
            if entry["file"] is not None:
                assert entry["dtype"] == "float64", case["id"]
                assert entry["tolerance"]["atol"]["shape"] == entry["shape"], case["id"]
    # Every file is listed, exists, and holds what the manifest says, hash included.
    on_disk = {str(p.relative_to(corpus)) for p in corpus.rglob("*.npy")}
    entries = list(iter_files(manifest))
    assert on_disk == {entry["file"] for entry in entries}
    for entry in entries:
        content = (corpus / entry["file"]).read_bytes()
        assert hashlib.sha256(content).hexdigest() == entry["sha256"], entry["file"]
        array = load(corpus, entry)
        assert (list(array.shape), str(array.dtype)) == (entry["shape"], entry["dtype"])
        assert b"'fortran_order': False" in content[:128], entry["file"]
        # A dtype NumPy cannot save is its raw bits, and says so; no other is.
        stored = np.load(corpus / entry["file"]).dtype
        assert entry.get("stored_as", entry["dtype"]) == stored.name, entry["file"]


def test_manifest_matches_its_published_schema(manifest: dict) -> None:
    schema = json.loads((ROOT / "docs" / "vectors.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(manifest, schema)
    # The schema is strict enough to catch a pool case with conv arguments.
    broken = json.loads(json.dumps(manifest))
    pool_case = next(c for c in broken["cases"] if c["op"] == "max_pool2d")
    pool_case["arguments"] = {"stride": [1, 1], "padding": [0, 0], "dilation": [1, 1], "groups": 1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    # ... and a bfloat16 file that does not say it holds bits, or a half output without
    # its overflow threshold.
    for dtype, damage in [
        ("bfloat16", lambda case: case["inputs"][0].pop("stored_as")),
        ("float16", lambda case: case["expected"][0]["tolerance"].pop("overflow")),
    ]:
        broken = json.loads(json.dumps(manifest))
        damage(next(c for c in broken["cases"] if c["dtype"] == dtype))
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)


def test_inputs_are_the_cases_arrays(corpus: Path, manifest: dict) -> None:
    """The manifest's "python" case rebuilds the very inputs on disk (in cnnref)."""
    for case in manifest["cases"]:
        arrays = rebuilt_case(case).arrays()._asdict()
        for entry in case["inputs"]:
            expected = arrays[entry["name"]]
            got = load(corpus, entry)
            if expected is None:
                assert got is None, case["id"]
            else:
                assert got.dtype == expected.dtype, case["id"]
                assert np.array_equal(got, expected, equal_nan=True), case["id"]


def test_layout_strides_address_every_element_once(manifest: dict) -> None:
    laid_out = {c["layout"] for c in manifest["cases"]}
    assert laid_out == set(manifest["layouts"])
    for case in manifest["cases"]:
        for entry in case["inputs"]:
            if entry["file"] is None:
                continue
            layout, shape = entry["layout_strides"], entry["shape"]
            index = np.indices(shape).reshape(len(shape), -1).T
            offsets = layout["offset"] + index @ np.array(layout["strides"])
            assert offsets.min() >= 0 and offsets.max() < layout["buffer_elements"], case["id"]
            assert len(np.unique(offsets)) == len(offsets), case["id"]
            c_order = np.arange(np.prod(shape)).reshape(shape).strides
            is_c_order = layout["strides"] == [s // 8 for s in c_order] and layout["offset"] == 0
            if case["layout"] == "contiguous":
                assert is_c_order, case["id"]
            elif case["name"].endswith(case["layout"]) and entry["name"] != "b":
                # The named layout cases (b is never laid out; in the sweep, axes of
                # length 1 can make a layout C order too).
                assert not is_c_order, (case["id"], entry["name"])


def test_corpus_covers_every_feature(manifest: dict) -> None:
    found = {feature for case in manifest["cases"] for feature in case["features"]}
    assert found >= REQUIRED_FEATURES, sorted(REQUIRED_FEATURES - found)
    assert found == set(FEATURES), sorted(set(FEATURES) - found)
    assert set(manifest["features"]) == set(FEATURES)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_of_the_registry_has_cases_in_every_dtype(
    function: str, manifest: dict
) -> None:
    """The ops come from cnnref.ops.OPS: an op added there is in the corpus, in every dtype."""
    dtypes = {c["dtype"] for c in manifest["cases"] if c["op"] == function}
    assert dtypes == {"float64", "float32", "float16", "bfloat16"}, function
    swept = {c["name"] for c in manifest["cases"] if c["op"] == function}
    assert any(name.startswith(f"sweep-{op_of(function)}-") for name in swept), function


# ---------------------------------------------------------------- the expected outputs


def torch_functions() -> dict:
    """PyTorch CPU's forward and autograd backward of every function in the registry, half
    formats through its float32 kernels rounded once (the corpus's convention)."""

    def forward(op):
        return precision.through_float32(lambda *a, **g: torch_autograd.forward(op, *a, **g))

    def backward(op):
        def gradients(dy, *operands, **geometry):
            found = torch_autograd.with_gradients(op, dy, *operands, **geometry)[1:]
            return found[0] if len(found) == 1 else found

        return precision.through_float32(gradients)

    return {f: (backward if f.endswith("_backward") else forward)(op_of(f)) for f in FUNCTIONS}


def test_expected_outputs_agree_with_torch(
    torch_required: None, corpus: Path, manifest: dict, docs_loader: dict
) -> None:
    """PyTorch CPU, fed the files, passes every case under the corpus's own rule."""
    assert manifest["cross_checked_with"].startswith("torch ")
    assert docs_loader["check"](corpus, torch_functions()) == []


@pytest.mark.parametrize("op", OPS)
def test_expected_outputs_agree_with_the_literal_reference(
    op: str, corpus: Path, manifest: dict, docs_loader: dict
) -> None:
    """The literal form (the derivation, not the fast path that wrote the corpus) passes."""
    functions = {f: getattr(literal, f) for f in (op, f"{op}_backward")}
    assert docs_loader["check"](corpus, functions) == []
    # Pooling selects: the literal form must match the forward bit for bit.
    for case in manifest["cases"]:
        if case["op"] == "max_pool2d" == op:
            (expected,) = case["expected"]
            y = literal.max_pool2d(load(corpus, case["inputs"][0]), **arguments(case))
            assert np.array_equal(y, load(corpus, expected), equal_nan=True), case["id"]


# ---------------------------------------------------------------- buggy consumers fail


def naive_pool(x, kernel_size, stride, padding, dilation, ceil_mode, bugs=frozenset()):
    """A from-scratch max pool, window by window, with deliberate bugs to switch on.

    Returns ``(y, winner)``: each window's max and the flat index of the input
    element it routes to (-1: none).
    """
    n, c, height, width = x.shape
    stride = stride or kernel_size
    if "ceil_without_last_window_rule" in bugs:
        out = [
            (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
            for size, k, s, p, d in zip((height, width), kernel_size, stride, padding, dilation)
        ]
    else:
        geometry = PoolGeometry(kernel_size, stride, padding, dilation, ceil_mode)
        out = geometry.output_shape(x.shape)[2:]
    y = np.full((n, c, *out), -np.inf)
    winner = np.full((n, c, *out), -1)
    for p, q in np.ndindex(*out):
        best, chosen = np.full((n, c), -np.inf), np.full((n, c), -1)
        started = "neginf_routes_nowhere" in bugs  # else the first element read always takes
        for i, j in np.ndindex(*kernel_size):
            row = p * stride[0] + i * dilation[0] - padding[0]
            col = q * stride[1] + j * dilation[1] - padding[1]
            inside = 0 <= row < height and 0 <= col < width
            if not inside and "zero_padding" not in bugs:
                continue
            value = x[:, :, row, col] if inside else np.zeros((n, c))
            if "nan_ignored" in bugs:
                value = np.where(np.isnan(value), -np.inf, value)
            takes = (value >= best if "ties_to_last" in bugs else value > best) | np.isnan(value)
            if "first_nan_wins" in bugs:
                takes &= ~np.isnan(best)
            takes |= not started
            started = True
            best = np.where(takes, value, best)
            chosen = np.where(takes, row * width + col if inside else -1, chosen)
        y[:, :, p, q], winner[:, :, p, q] = best, chosen
    return y, winner


def naive_pool_ops(bugs: frozenset[str] = frozenset()) -> dict:
    def forward(x, **geometry):
        return naive_pool(x.astype(np.float64), **geometry, bugs=bugs)[0].astype(x.dtype)

    def backward(dy, x, **geometry):
        _, winner = naive_pool(x.astype(np.float64), **geometry, bugs=bugs)
        dx = np.zeros((*x.shape[:2], x.shape[2] * x.shape[3]))
        n, c = np.indices(winner.shape[:2])
        for p, q in np.ndindex(*winner.shape[2:]):
            routed = winner[:, :, p, q] >= 0
            np.add.at(
                dx, (n[routed], c[routed], winner[:, :, p, q][routed]), dy[:, :, p, q][routed]
            )
        return dx.reshape(x.shape).astype(x.dtype)

    return {"max_pool2d": forward, "max_pool2d_backward": backward}


def test_a_correct_consumer_written_from_the_docs_passes(corpus: Path, docs_loader: dict) -> None:
    assert docs_loader["check"](corpus, naive_pool_ops()) == []


@pytest.mark.parametrize(
    ("bug", "feature"),
    [
        ("ties_to_last", "ties"),
        ("nan_ignored", "nan"),
        ("first_nan_wins", "nan_twice"),
        ("zero_padding", "padding_negative_window"),
        ("neginf_routes_nowhere", "all_neginf_window"),
        ("ceil_without_last_window_rule", "ceil_mode_last_window_rule"),
    ],
)
def test_a_buggy_consumer_fails_on_the_cases_of_its_feature(
    bug: str, feature: str, corpus: Path, manifest: dict, docs_loader: dict
) -> None:
    failures = docs_loader["check"](corpus, naive_pool_ops(frozenset({bug})))
    assert failures, f"a pool with the bug {bug!r} passed the whole corpus"
    features = {c["id"]: set(c["features"]) for c in manifest["cases"]}
    failed = {failure.split(":")[0] for failure in failures}
    assert any(feature in features[case_id] for case_id in failed), (bug, sorted(failed))


def test_a_conv_that_rounds_through_float32_fails_the_float64_cases(
    corpus: Path, manifest: dict, docs_loader: dict
) -> None:
    def conv2d(x, w, b, **geometry):
        cast = [None if a is None else a.astype(np.float32) for a in (x, w, b)]
        with np.errstate(over="ignore"):  # float16's near-overflow cases: inf is the rounding
            return literal.conv2d(*cast, **geometry).astype(x.dtype)

    failed = {f.split(":")[0] for f in docs_loader["check"](corpus, {"conv2d": conv2d})}
    dtypes = {c["id"]: c["dtype"] for c in manifest["cases"]}
    assert failed, "float32 rounding passed every float64 conv2d case"
    assert {dtypes[case_id] for case_id in failed} == {"float64"}


# ---------------------------------------------------------------- half precision


def test_half_tolerances_are_the_float32_sum_plus_one_rounding(
    corpus: Path, manifest: dict
) -> None:
    """A half output's atol is its float32 sum's (rtol * scale) plus half an ulp of the format
    at the sum's reach, and it names the overflow threshold and the accumulation assumed."""
    half_cases = [c for c in manifest["cases"] if c["dtype"] in HALF_DTYPES]
    assert half_cases
    for case in half_cases:
        for entry in case["expected"]:
            if entry["file"] is None:
                continue
            tolerance = entry["tolerance"]
            info = ml_dtypes.finfo(
                np.dtype(ml_dtypes.bfloat16 if case["dtype"] == "bfloat16" else np.float16)
            )
            assert tolerance["accumulation"] == "float32", case["id"]
            assert tolerance["overflow"] > float(info.max), case["id"]
            expected, atol = load(corpus, entry), load(corpus, tolerance["atol"])
            # At least half an ulp of the format at |expected| wherever it is finite.
            finite = np.isfinite(expected)
            floor = precision.half_ulp(np.abs(expected[finite]), case["dtype"])
            assert (atol[finite] >= floor).all(), (case["id"], entry["name"])
    for case in manifest["cases"]:
        if case["dtype"] not in HALF_DTYPES:
            assert all("overflow" not in e.get("tolerance", {}) for e in case["expected"])


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_the_reference_rounded_once_passes_the_half_cases_and_one_ulp_more_does_not(
    dtype: str, corpus: Path, manifest: dict, docs_loader: dict
) -> None:
    """The half vectors loaded back: cnnref's reference (float32 sums, one rounding) passes
    each within its stated tolerance, float16's overflow to inf included; its half results
    moved one ulp away from zero fail, in every function."""
    assert {c["op"] for c in manifest["cases"] if c["dtype"] == dtype} == set(FUNCTIONS)
    functions = {f: getattr(reference, f) for f in FUNCTIONS}
    assert docs_loader["check"](corpus, functions) == []

    def one_ulp_more(function):
        def wrong(*args, **kwargs):
            result = function(*args, **kwargs)
            first = result[0] if isinstance(result, tuple) else result
            if first.dtype.name == dtype:
                moved = np.isfinite(first) & (first != 0)
                first.view(np.uint16)[moved] += np.uint16(1)
            return result

        return wrong

    failed = docs_loader["check"](corpus, {f: one_ulp_more(fn) for f, fn in functions.items()})
    dtypes = {c["id"]: c["dtype"] for c in manifest["cases"]}
    failed_ids = {failure.split(":")[0] for failure in failed}
    assert {dtypes[i] for i in failed_ids} == {dtype}
    assert {i.split("/")[1] for i in failed_ids} == set(FUNCTIONS)


@pytest.mark.parametrize(
    ("bug", "function", "dtype"),
    [
        ("half_accumulation", "conv2d", "float16"),
        ("half_accumulation", "conv2d", "bfloat16"),
        ("bfloat16_truncation", "conv2d", "bfloat16"),
        ("avg_pool_sum_overflow", "avg_pool2d", "float16"),
        ("dw_half_over_batch", "conv2d_backward", "bfloat16"),
        ("half_ties_last", "max_pool2d_backward", "float16"),
    ],
)
def test_a_low_precision_bug_fails_the_half_cases(
    bug: str, function: str, dtype: str, corpus: Path, manifest: dict, docs_loader: dict
) -> None:
    """tests/candidates/half_precision.py's bugs, run on the corpus: each fails some case of
    its format, while the correct float32-accumulating kernels pass them all."""
    from tests.candidates import half_precision

    buggy = getattr(half_precision, bug)
    cases = {c["id"]: c for c in manifest["cases"] if c["op"] == function}
    with np.errstate(over="ignore"):  # a bug's own overflow to inf is what it is run for
        failed = docs_loader["check"](corpus, {function: getattr(buggy, function)})
    failed_ids = {failure.split(":")[0] for failure in failed}
    assert any(cases[i]["dtype"] == dtype for i in failed_ids), (bug, sorted(failed_ids))
    assert all(cases[i]["dtype"] in HALF_DTYPES for i in failed_ids), sorted(failed_ids)
    for correct in (half_precision.im2col_float32, half_precision.direct_loop):
        assert docs_loader["check"](corpus, {function: getattr(correct, function)}) == []


# ---------------------------------------------------------------- writing


def test_the_same_seed_writes_identical_bytes(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    again, other_seed = tmp_path / "again", tmp_path / "other"
    assert main(["vectors", str(again)]) == 0
    written = sorted(str(p.relative_to(corpus)) for p in corpus.rglob("*") if p.is_file())
    assert written == sorted(str(p.relative_to(again)) for p in again.rglob("*") if p.is_file())
    for name in written:
        assert (corpus / name).read_bytes() == (again / name).read_bytes(), name
    assert "cross-checked with" in capsys.readouterr().out

    # Another seed changes the sweep only.
    assert main(["vectors", str(other_seed), "--seed", "1", "--sweep", "2"]) == 0
    for name in written:
        if name.startswith("sweep-"):
            sweep_x = name.endswith("/x.npy") and (other_seed / name).exists()
            assert not sweep_x or (other_seed / name).read_bytes() != (corpus / name).read_bytes()
        elif name != MANIFEST:
            assert (other_seed / name).read_bytes() == (corpus / name).read_bytes(), name


def _fails_with_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("cnnref vectors: error: ") and err.count("\n") == 1, err
    return err


def test_a_non_empty_directory_is_refused_unless_it_is_a_corpus_and_forced(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("keep me")
    assert "is not empty" in _fails_with_usage_error(["vectors", str(occupied)], capsys)
    err = _fails_with_usage_error(["vectors", str(occupied), "--force"], capsys)
    assert "holds no manifest.json" in err
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"]

    # An earlier corpus, forced: replaced whole, nothing of the old one left.
    earlier = tmp_path / "earlier"
    assert main(["vectors", str(earlier), "--sweep", "0"]) == 0
    (earlier / "stray.npy").write_bytes(b"old")
    _fails_with_usage_error(["vectors", str(earlier)], capsys)
    assert main(["vectors", str(earlier), "--force"]) == 0
    assert not (earlier / "stray.npy").exists()
    assert (earlier / MANIFEST).read_bytes() == (corpus / MANIFEST).read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging left behind"


def test_bad_paths_fail_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing_parent = tmp_path / "no" / "such"
    assert "does not exist" in _fails_with_usage_error(["vectors", str(missing_parent)], capsys)
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert "not a directory" in _fails_with_usage_error(["vectors", str(a_file)], capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_disagreement_with_torch_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If PyTorch ever disagreed with the reference, the corpus would not be written."""
    from cnnref.vectors import corpus as corpus_module

    monkeypatch.setattr(corpus_module, "torch_version", lambda: "9.9")
    monkeypatch.setattr(
        corpus_module, "torch_disagreements", lambda case, inputs, ops: ["y: 1 of 4 differ"]
    )
    assert main(["vectors", str(tmp_path / "corpus"), "--sweep", "0"]) == 1
    err = capsys.readouterr().err
    assert (
        err
        == "cnnref vectors: error: case conv-basic: the reference and PyTorch disagree: y: 1 of 4 differ\n"
    )
    assert not any(tmp_path.iterdir())


def test_an_empty_directory_is_filled(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["vectors", str(empty), "--sweep", "0"]) == 0
    assert (empty / MANIFEST).is_file()
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--seed", "-1"], "argument --seed: must be >= 0; got -1"),
        (["--sweep", "many"], "argument --sweep: expected a whole number; got 'many'"),
    ],
)
def test_bad_numbers_are_usage_errors(
    arguments: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["vectors", str(tmp_path / "corpus"), *arguments])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------- the C reader of docs/vectors.md


@pytest.fixture(scope="module")
def check_npy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/vectors.md's C program, compiled."""
    compiler = shutil.which("cc")
    require(compiler is not None, "a C compiler (cc)")
    text = (ROOT / "docs" / "vectors.md").read_text()
    (code,) = re.findall(r"```c\n(.*?)```", text, flags=re.S)
    directory = tmp_path_factory.mktemp("check_npy")
    (directory / "check_npy.c").write_text(code)
    executable = directory / "check_npy"
    command = [compiler, "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-o", str(executable)]
    subprocess.run([*command, str(directory / "check_npy.c"), "-lm"], check=True)
    return executable


def run_check_npy(check_npy: Path, *files: Path | str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(check_npy), *map(str, files)], capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("case_id", "output"),
    [
        ("pool-nan/max_pool2d", "y"),
        ("pool-neginf/max_pool2d", "y"),
        ("pool-ties-float32/max_pool2d_backward", "dx"),
        ("conv-everything/conv2d_backward", "dw"),
        ("conv-everything-float32/conv2d", "y"),
    ],
)
def test_the_c_reader_applies_the_rule(
    check_npy: Path, corpus: Path, manifest: dict, tmp_path: Path, case_id: str, output: str
) -> None:
    (case,) = [c for c in manifest["cases"] if c["id"] == case_id]
    (entry,) = [e for e in case["expected"] if e["name"] == output]
    expected_file = corpus / entry["file"]
    atol_file = corpus / entry["tolerance"]["atol"]["file"]
    expected, atol = np.load(expected_file), np.load(atol_file)

    passed = run_check_npy(check_npy, expected_file, expected_file, atol_file)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert f"0 of {expected.size} elements fail" in passed.stdout

    # One element off by more than its tolerance, and one special value replaced by a number.
    wrong = expected.copy().reshape(-1)
    finite = np.flatnonzero(np.isfinite(wrong))
    wrong[finite[-1]] += 2 * atol.reshape(-1)[finite[-1]] + 1e-6 * (1 + abs(wrong[finite[-1]]))
    special = np.flatnonzero(~np.isfinite(wrong))
    if special.size:
        wrong[special[0]] = 0.0
    np.save(tmp_path / "actual.npy", wrong.reshape(expected.shape))
    failed = run_check_npy(check_npy, tmp_path / "actual.npy", expected_file, atol_file)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"{1 + min(special.size, 1)} of {expected.size} elements fail" in failed.stdout


def test_the_c_reader_accepts_an_overflow_only_past_the_threshold(
    check_npy: Path, corpus: Path, manifest: dict, tmp_path: Path
) -> None:
    """float16 conv2d near 65504: the reference's result (float32 sums, one rounding) has
    infinities where the exact value passes the threshold; they pass given OVERFLOW, fail
    without it, and an infinity where the exact value is far below it fails."""
    (case,) = [c for c in manifest["cases"] if c["id"] == "conv-near-overflow-float16/conv2d"]
    (entry,) = case["expected"]
    x, w, b = (load(corpus, e) for e in case["inputs"])
    y = reference.conv2d(x, w, b, **arguments(case))
    assert y.dtype == np.float16 and np.isinf(y).any()
    actual = y.astype(np.float64)
    np.save(tmp_path / "actual.npy", actual)
    expected_file = corpus / entry["file"]
    atol_file = corpus / entry["tolerance"]["atol"]["file"]
    overflow = repr(entry["tolerance"]["overflow"])
    passed = run_check_npy(check_npy, tmp_path / "actual.npy", expected_file, atol_file, overflow)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    infinities = int(np.isinf(actual).sum())
    without = run_check_npy(check_npy, tmp_path / "actual.npy", expected_file, atol_file)
    assert f"{infinities} of {actual.size} elements fail" in without.stdout

    small = np.flatnonzero(np.abs(load(corpus, entry)) < 1000)
    actual.reshape(-1)[small[0]] = np.inf
    np.save(tmp_path / "actual.npy", actual)
    failed = run_check_npy(check_npy, tmp_path / "actual.npy", expected_file, atol_file, overflow)
    assert failed.returncode == 1 and f"1 of {actual.size} elements fail" in failed.stdout
