"""The mutation benchmark's generator and equivalence filter (never the benchmark itself)."""

from __future__ import annotations

import ast

import pytest

from benchmarks import mutation_score as ms

pytestmark = pytest.mark.slow  # verifies mutants in fresh processes


@pytest.fixture(scope="module")
def mutants() -> list[ms.Mutant]:
    return ms.generate_mutants(ms.SOURCE.read_text())


def _points(a: object, b: object) -> int:
    """At how many places two syntax trees differ (two adjacent list items swapped: one)."""
    if type(a) is not type(b):
        return 1
    if isinstance(a, ast.AST):
        return sum(_points(getattr(a, f, None), getattr(b, f, None)) for f in a._fields)
    if isinstance(a, list):
        if len(a) != len(b):
            return 1
        counts = [_points(x, y) for x, y in zip(a, b)]
        differing = [k for k, count in enumerate(counts) if count]
        if len(differing) == 2 and differing[1] == differing[0] + 1:
            k = differing[0]
            if ast.dump(a[k]) == ast.dump(b[k + 1]) and ast.dump(a[k + 1]) == ast.dump(b[k]):
                return 1  # two neighbours swapped
        return sum(counts)
    return int(a != b)


def test_every_operator_makes_mutants(mutants: list[ms.Mutant]) -> None:
    assert {m.operator for m in mutants} == set(ms.OPERATORS)
    touched = {m.function for m in mutants}
    assert set(ms.FUNCTIONS) <= touched


def test_each_mutant_is_valid_python_one_point_from_the_source(mutants, tmp_path) -> None:
    original = ast.parse(ms.SOURCE.read_text())
    ms.write_mutants(mutants, tmp_path)
    for mutant in mutants:
        written = (tmp_path / f"{mutant.id}.py").read_text()
        compile(written, mutant.id, "exec")  # raises SyntaxError on an invalid module
        assert mutant.name in written.splitlines()[0]
        assert _points(original, ast.parse(mutant.source)) == 1, mutant.name
    assert len({m.source for m in mutants}) == len(mutants)


def test_mutations_are_named_by_line_and_change(mutants: list[ms.Mutant]) -> None:
    lines = ms.SOURCE.read_text().splitlines()
    stride = next(m for m in mutants if m.operator == "default" and m.function == "conv2d"
                  and m.before == "stride=1")  # fmt: skip
    assert stride.after == "stride=2"
    assert lines[stride.line - 1].startswith("def conv2d(")
    assert stride.name == f"loops.py:{stride.line} stride=1 -> stride=2"


@pytest.mark.usefixtures("torch_required")
def test_the_filter_tells_an_equivalent_mutant_from_a_wrong_one(mutants, tmp_path) -> None:
    calls_path = tmp_path / "calls.pickle"
    ms.save_calls(ms.equivalence_calls(per_function=4), calls_path)
    ms.write_mutants(mutants, tmp_path)
    (tmp_path / "original.py").write_text(ms.SOURCE.read_text())

    def named(operator: str, after: str) -> ms.Mutant:
        return next(m for m in mutants if m.operator == operator and m.after == after)

    # result_type's arguments in another order: the same dtype, so the same module in effect
    equivalent = named("swap_argument", "np.result_type(x, *([] if b is None else [b]), w)")
    # every pool window starts from +inf: every maximum is wrong
    wrong = named("negation", "np.full((n, c), np.inf)")
    assert ms.equivalence(tmp_path / "original.py", calls_path, timeout=60) is None
    assert ms.equivalence(tmp_path / f"{equivalent.id}.py", calls_path, timeout=60) is None
    difference = ms.equivalence(tmp_path / f"{wrong.id}.py", calls_path, timeout=60)
    assert difference is not None and "max_pool2d" in difference
