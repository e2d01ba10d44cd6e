"""``cnnref grade`` on a generated class: correct submissions, catalogue bugs, crashes, hangs,
import errors, a snooper and a submission that cannot be told apart, graded end to end.

The gradebook is checked row by row against what each submission is: scores,
statuses, each submission's reports and Gradescope results.json, the class
page; then a second run grades nothing twice, and a run stopped part way
(one submission's record removed) grades only what is missing.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from cnnref.cli import main
from cnnref.grade import discover, grade
from cnnref.grade.book import read_weights

ROOT = Path(__file__).resolve().parents[2]
STUDENT = ROOT / "tests" / "candidates" / "student.py"
CORRECT = "from student import build\n\n_impl = build()\n"
BUGGY = "from student import build\n\n_impl = build({bug!r})\n"
EXPOSE = "conv2d, conv2d_backward = _impl.conv2d, _impl.conv2d_backward\n"
# Catalogue bugs (tests/candidates/catalogue.py) the seed's first examples catch, one in each
# result: y, dx, dw and db (the catalogue's own tests show that every bug is caught).
BUGS = ["flip_kernel", "dx_overlap_assigned", "dw_mean_over_batch", "db_mean"]
WRONG = {
    "zeros": "import numpy as np\n\n_impl = build()\n\n\ndef conv2d(x, w, *a, **k):\n"
    "    return np.zeros_like(_impl.conv2d(x, w, *a, **k))\n\n\n"
    "conv2d_backward = _impl.conv2d_backward\n",
    "returns_list": "_impl = build()\n\n\ndef conv2d(*a, **k):\n"
    "    return _impl.conv2d(*a, **k).tolist()\n\n\nconv2d_backward = _impl.conv2d_backward\n",
}
CRASHES = (
    "import os\n\n\ndef conv2d(*args, **kwargs):\n    os.abort()\n\n\nconv2d_backward = conv2d\n"
)
HANGS = (
    "def conv2d(*args, **kwargs):\n    while True:\n        pass\n\n\nconv2d_backward = conv2d\n"
)
IMPORT_ERRORS = {
    "raises": "raise RuntimeError('my module is broken')\n",
    "syntax": "def conv2d(:\n",
    "missing": "import no_such_package_anywhere\n",
}
PROPERTIES = ["conv2d.matches_reference", "conv2d_backward.matches_reference"]


def make_class(folder: Path, correct: int = 3, crashes: int = 2, hangs: int = 1) -> dict[str, str]:
    """A class: each submission a folder with layers.py (and the student's helper), every kind
    there is, the correct, crashing and hanging ones as many times as asked; what each is.
    docs/grading.md's figures are for ``correct=10, crashes=4, hangs=3`` and 8 catalogue bugs,
    31 submissions."""
    kinds: dict[str, str] = {}

    def submit(name: str, layers: str, kind: str) -> None:
        (folder / name).mkdir(parents=True)
        shutil.copy(STUDENT, folder / name / "student.py")
        (folder / name / "layers.py").write_text(layers)
        kinds[name] = kind

    for i in range(correct):
        submit(f"correct_{i:02d}", CORRECT + EXPOSE, "correct")
    for bug in BUGS:
        submit(f"bug_{bug}", BUGGY.format(bug=bug) + EXPOSE, "bug")
    for name, text in WRONG.items():
        submit(f"bug_{name}", "from student import build\n" + text, "bug")
    for i in range(crashes):
        submit(f"crash_{i}", CRASHES, "crash")
    for i in range(hangs):
        submit(f"hang_{i}", HANGS, "hang")
    for name, text in IMPORT_ERRORS.items():
        submit(f"import_{name}", text, "import error")
    (folder / "no_layers").mkdir()
    (folder / "no_layers" / "conv.py").write_text("conv2d = None\n")
    kinds["no_layers"] = "import error"
    return kinds


def rows_of(out: Path) -> dict[str, dict]:
    return {
        row["submission"]: row
        for row in csv.DictReader(io.StringIO((out / "gradebook.csv").read_text()))
    }


@pytest.mark.slow  # a class of 16 submissions, two verified at a time
def test_a_class_is_graded_into_a_gradebook_and_resumes_without_regrading(tmp_path: Path) -> None:
    kinds = make_class(tmp_path / "class")
    assert set(kinds.values()) == {"correct", "bug", "crash", "hang", "import error"}
    weights = tmp_path / "weights.json"
    weights.write_text(json.dumps({"conv2d.matches_reference": 3, "conv2d_backward": 2}))
    out = tmp_path / "book"
    arguments = ["grade", str(tmp_path / "class"), "--out", str(out), "--module", "layers"]
    arguments += ["--jobs", "2", "--examples", "3", "--timeout", "1", "--weights", str(weights)]
    for name in PROPERTIES:
        arguments += ["--property", name]
    assert main(arguments) == 0

    rows = rows_of(out)
    assert sorted(rows) == sorted(kinds)
    for name, kind in kinds.items():
        row, folder = rows[name], out / name
        report = json.loads((folder / "report.json").read_text())
        results = json.loads((folder / "results.json").read_text())
        assert (folder / "report.html").read_text().startswith("<!")
        assert float(row["max_score"]) == 5.0 and len(results["tests"]) == 2, (name, row)
        assert results["score"] == float(row["score"])
        assert {test["status"] for test in results["tests"]} <= {"passed", "failed"}
        if kind == "correct":
            assert (row["status"], row["score"]) == ("passed", "5.0"), row
        elif kind == "import error":
            assert row["status"] == "not loaded" and row["score"] == "0.0", row
            assert report["settings"]["load_error"] and row["message"], row
        else:
            assert row["status"] == "failed" and float(row["score"]) < 5.0, row
            failures = [p["failure"]["kind"] for p in report["properties"] if p["failure"]]
            # A bug is caught by a wrong result, or by the exception its wrong indexing raises.
            expected = {"bug": {"falsified", "raised"}, "crash": {"crashed"}, "hang": {"hung"}}
            assert expected[kind] & set(failures), (name, failures)
    assert "my module is broken" in rows["import_raises"]["message"]
    assert "--module" in rows["no_layers"]["message"] or "layers" in rows["no_layers"]["message"]

    page = (out / "index.html").read_text()
    assert "conv2d.matches_reference" in page and "Slowest submissions" in page
    assert "hang_0" in page and 'href="correct_00/report.html"' in page

    # A second run grades nothing; a run that lost one record grades that one alone.
    graded = []
    submissions = discover(tmp_path / "class", "layers")
    settings = json.loads((out / "settings.json").read_text())["verify"]
    grade(submissions, out, settings, on_done=lambda g, done, total: graded.append(g.name))
    assert graded == []
    (out / "bug_db_mean" / "graded.json").unlink()
    grade(submissions, out, settings, on_done=lambda g, done, total: graded.append(g.name))
    assert graded == ["bug_db_mean"]


@pytest.mark.slow
def test_grading_into_a_gradebook_made_with_other_settings_is_refused(
    tmp_path: Path, capsys
) -> None:
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "solo.py").write_text("raise ImportError('nothing here')\n")
    out = str(tmp_path / "book")
    assert main(["grade", str(tmp_path / "class"), "--out", out, "--examples", "2"]) == 0
    assert main(["grade", str(tmp_path / "class"), "--out", out, "--examples", "3"]) == 2
    assert "graded with other settings" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[1, 2]", "expected a JSON object"),
        ('{"conv2d.no_such": 1}', "is no property or function"),
        ('{"conv2d": -1}', "must be a number >= 0"),
        ("{", "weights file"),
    ],
)
def test_a_bad_weights_file_is_named_with_the_rule_it_breaks(tmp_path: Path, text, words) -> None:
    path = tmp_path / "weights.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=words):
        read_weights(path)


@pytest.mark.slow
def test_a_class_is_graded_on_a_local_two_worker_cluster(tmp_path: Path) -> None:
    """--scheduler: the same gradebook, the submissions shared out between two workers."""
    from distributed import LocalCluster

    folder = tmp_path / "class"
    for name, layers in [
        ("ann", CORRECT + EXPOSE),
        ("bob", CORRECT + EXPOSE),
        ("cat", "from student import build\n" + WRONG["zeros"]),
        ("dan", IMPORT_ERRORS["raises"]),
    ]:
        (folder / name).mkdir(parents=True)
        shutil.copy(STUDENT, folder / name / "student.py")
        (folder / name / "layers.py").write_text(layers)
    out = tmp_path / "book"
    arguments = ["grade", str(folder), "--out", str(out), "--module", "layers", "--examples", "2"]
    arguments += ["--property", PROPERTIES[0]]
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        assert main([*arguments, "--scheduler", cluster.scheduler_address]) == 0
    rows = rows_of(out)
    statuses = {name: rows[name]["status"] for name in rows}
    assert statuses == {"ann": "passed", "bob": "passed", "cat": "failed", "dan": "not loaded"}
    workers = {json.loads((out / n / "graded.json").read_text())["graded_by"] for n in rows}
    assert len(workers) == 2, workers  # both workers graded, neither of them this process
    assert not any(worker.endswith(f"/{os.getpid()}") for worker in workers)


def test_an_unreachable_scheduler_is_a_usage_error(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "cnnref.grade.SCHEDULER_TIMEOUT", 0.5
    )  # nothing listens: no need to wait 30 s
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "solo.py").write_text("x = 1\n")
    arguments = ["grade", str(tmp_path / "class"), "--out", str(tmp_path / "book")]
    assert main([*arguments, "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "cannot reach the scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
