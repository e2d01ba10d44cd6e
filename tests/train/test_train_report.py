"""The HTML training report: self-contained, and its pieces (PNG, confusion matrix, charts) exact."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from cnnref.train.cli import DEFAULTS
from cnnref.train.datasets import Digits
from cnnref.train.loop import EpochRecord, Evaluation, Run, TrainingConfig
from cnnref.train.model import small_cnn
from cnnref.train.report import confusion_matrix, grayscale_png, line_chart, write_training_report
from tests.conftest import require
from tests.support.browser import Browser, find_chromium


def decode_grayscale_png(data: bytes) -> np.ndarray:
    """Just enough PNG to read back what grayscale_png writes, checking every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC in {kind!r}"
        chunks[kind] = chunks.get(kind, b"") + body
        position += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 0), (depth, colour)
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, width + 1)
    assert not rows[:, 0].any(), "every row should use filter 0"
    return rows[:, 1:]


def test_the_png_encoder_round_trips_pixels_exactly() -> None:
    image = np.random.default_rng(0).integers(0, 256, (28, 17), dtype=np.uint8)
    np.testing.assert_array_equal(decode_grayscale_png(grayscale_png(image)), image)


def test_the_confusion_matrix_counts_true_rows_and_predicted_columns() -> None:
    counts = confusion_matrix(np.array([3, 3, 1, 0]), np.array([3, 5, 1, 1]))
    assert counts[3, 3] == 1 and counts[3, 5] == 1 and counts[1, 1] == 1 and counts[0, 1] == 1
    assert counts.sum() == 4 and counts.shape == (10, 10)


def test_chart_points_span_the_plot_and_put_larger_values_higher() -> None:
    chart = line_chart("loss", {"train": [3.0, 2.0, 1.0]})
    points = [tuple(map(float, p.split(","))) for p in chart.series[0].points.split()]
    left, top, right, bottom = chart.plot
    assert points[0][0] == left and points[-1][0] == right, points
    assert points[0][1] < points[1][1] < points[2][1], f"y grows downwards in SVG: {points}"
    assert all(top <= y <= bottom for _, y in points), points


@pytest.fixture
def finished_run() -> tuple[Run, Digits, Evaluation]:
    rng = np.random.default_rng(1)
    test = Digits(rng.integers(0, 256, (40, 28, 28), np.uint8), rng.integers(0, 10, 40, np.uint8))
    run = Run.start(small_cnn(), TrainingConfig(epochs=2), train_size=160)
    for epoch in (1, 2):
        record = EpochRecord(
            epoch, 1.0 / epoch, 0.5 + epoch / 5, 1.1 / epoch, 0.4 + epoch / 5, 2.0, 80.0
        )
        run.progress.history.append(record)
    predictions = test.labels.copy()
    predictions[[3, 7, 8]] = (predictions[[3, 7, 8]] + 1) % 10
    return run, test, Evaluation(loss=0.5, accuracy=37 / 40, predictions=predictions)


def test_the_report_is_self_contained_and_shows_every_part(
    tmp_path: Path, finished_run: tuple[Run, Digits, Evaluation]
) -> None:
    path = tmp_path / "report.html"
    write_training_report(path, *finished_run, "synthetic digits")
    html = path.read_text()
    assert "92.50%" in html and "synthetic digits" in html
    assert html.count("<polyline") == 4, "train and test lines in both charts"
    assert html.count('class="confusion"') == 1
    assert html.count("data:image/png;base64,") == 3, "one picture per misclassified digit"
    external = re.findall(
        r"""(?:src|href)\s*=\s*["'](?!#|data:image/png)|url\(|@import|<script|<link|https?://""",
        html,
    )
    assert not external, f"the report must fetch nothing: {external[:5]}"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"], "no temporary file left"


# Each misclassified picture drawn on a canvas as the browser decoded it: the sum of its pixels.
DECODED_PIXEL_SUMS = """
[...document.querySelectorAll('.mistakes img')].map(image => {
  const canvas = document.createElement('canvas');
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0;
  for (let i = 0; i < rgba.length; i += 4) sum += rgba[i];
  return sum;
})
"""


@pytest.mark.slow  # a browser
def test_the_report_renders_in_a_real_browser(
    tmp_path: Path, finished_run: tuple[Run, Digits, Evaluation]
) -> None:
    chromium = find_chromium()
    require(chromium is not None, "Chromium (apt-get install chromium)")
    page = tmp_path / "report.html"
    write_training_report(page, *finished_run, "synthetic digits")
    with Browser(chromium) as browser:
        browser.open(page)
        charts = browser.evaluate(
            "[...document.querySelectorAll('svg.curve')].map(s => s.getBoundingClientRect().width)"
        )
        rows = browser.evaluate("document.querySelectorAll('table.confusion tbody tr').length")
        pictures = browser.evaluate(DECODED_PIXEL_SUMS)
        problems = browser.problems()
    assert len(charts) == 2 and min(charts) > 0, f"chart widths {charts}"
    assert rows == 10, f"{rows} confusion rows"
    _, test, evaluation = finished_run
    wrong = np.flatnonzero(evaluation.predictions != test.labels)
    expected = [int((255 - test.images[i].astype(np.int64)).sum()) for i in wrong]
    assert pictures == expected, f"pixel sums the browser decoded {pictures}, expected {expected}"
    assert problems == [], problems


def test_the_report_names_the_runs_augmentation(
    tmp_path: Path, finished_run: tuple[Run, Digits, Evaluation]
) -> None:
    run, test, evaluation = finished_run
    path = tmp_path / "report.html"
    write_training_report(path, run, test, evaluation, "synthetic digits")
    assert "random shifts of up to 1 pixel(s)" in path.read_text()
    run.config = DEFAULTS
    write_training_report(path, run, test, evaluation, "synthetic digits")
    assert "turned by up to 10°, scaled by 0.9 to 1.1, slanted by up to 10°" in path.read_text()
    assert "strokes a pixel thicker or thinner for 50% of digits" in path.read_text()
