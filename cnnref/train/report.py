"""The training report: one self-contained HTML file (inline CSS, inline SVG, data-URI PNGs).

Loss and accuracy curves per epoch, the confusion matrix of the test digits
and a grid of the digits the network got wrong.  Nothing is fetched when the
page is opened: no script, no external URL.
"""

from __future__ import annotations

import base64
import datetime
import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import jinja2
import numpy as np

from .. import __version__
from ..atomic import write_atomic
from .datasets import CLASSES, Digits
from .loop import EpochRecord, Evaluation, Run

MAX_MISTAKES_SHOWN = 64
CHART_SIZE = (420, 240)
CHART_MARGIN = (48, 16, 16, 32)  # left, top, right, bottom
SERIES_COLOURS = ("#0969da", "#cf222e")  # train, test


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    points: str  # SVG polyline points, "x,y x,y ..."


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    """A line chart laid out in SVG coordinates, for the template to draw."""

    title: str
    width: int
    height: int
    plot: tuple[float, float, float, float]  # left, top, right, bottom
    series: list[Series]
    x_ticks: list[Tick]
    y_ticks: list[Tick]


def line_chart(title: str, lines: dict[str, Sequence[float]]) -> Chart:
    """Epochs 1..E on x, the values of each line on y (shared, padded range)."""
    width, height = CHART_SIZE
    margin_left, margin_top, margin_right, margin_bottom = CHART_MARGIN
    left, top, right, bottom = margin_left, margin_top, width - margin_right, height - margin_bottom
    values = np.concatenate([np.asarray(v, dtype=float) for v in lines.values()])
    low, high = float(values.min()), float(values.max())
    pad = (high - low) * 0.08 or max(abs(high) * 0.05, 1e-3)
    low, high = low - pad, high + pad
    epochs = max(len(v) for v in lines.values())

    def x_of(epoch: int) -> float:
        return left + (right - left) * ((epoch - 1) / (epochs - 1) if epochs > 1 else 0.5)

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * (value - low) / (high - low)

    series = [
        Series(name, colour, " ".join(f"{x_of(e):.1f},{y_of(v):.1f}" for e, v in enumerate(vs, 1)))
        for (name, vs), colour in zip(lines.items(), SERIES_COLOURS)
    ]
    x_ticks = [Tick(x_of(e), str(e)) for e in _tick_epochs(epochs)]
    y_ticks = [Tick(y_of(v), f"{v:.3g}") for v in np.linspace(low + pad, high - pad, 5)]
    return Chart(title, width, height, (left, top, right, bottom), series, x_ticks, y_ticks)


def _tick_epochs(epochs: int, most: int = 10) -> range:
    step = max(1, -(-epochs // most))
    return range(1, epochs + 1, step)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """counts[true, predicted]."""
    counts = np.zeros((CLASSES, CLASSES), dtype=np.int64)
    np.add.at(counts, (labels.astype(np.int64), predictions.astype(np.int64)), 1)
    return counts


def grayscale_png(image: np.ndarray) -> bytes:
    """A uint8 (H, W) array as an 8-bit grayscale PNG (no filter, one zlib stream)."""
    height, width = image.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit, grayscale
    rows = b"".join(b"\x00" + bytes(row) for row in np.ascontiguousarray(image, dtype=np.uint8))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def png_data_uri(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(grayscale_png(image)).decode("ascii")


def mistakes(test: Digits, predictions: np.ndarray, most: int = MAX_MISTAKES_SHOWN) -> list[dict]:
    """The first ``most`` misclassified digits: picture (ink dark on white), index, true, predicted."""
    wrong = np.flatnonzero(predictions != test.labels)[:most]
    return [
        {
            "index": int(i),
            "label": int(test.labels[i]),
            "predicted": int(predictions[i]),
            "image": png_data_uri(255 - test.images[i]),
        }
        for i in wrong
    ]


def render_report(run: Run, test: Digits, evaluation: Evaluation, data_description: str) -> str:
    history: list[EpochRecord] = run.progress.history
    counts = confusion_matrix(test.labels, evaluation.predictions)
    environment = jinja2.Environment(
        # The training page extends the verification report's base page and style.
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("cnnref.train", "templates"),
                jinja2.PackageLoader("cnnref.report", "templates"),
            ]
        ),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("training.html.j2").render(
        version=__version__,
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        accuracy=evaluation.accuracy,
        loss=evaluation.loss,
        test_size=len(test),
        wrong=int((evaluation.predictions != test.labels).sum()),
        data_description=data_description,
        config=run.config,
        train_size=run.train_size,
        model=run.model.spec(),
        parameter_count=sum(p.value.size for p in run.model.parameters().values()),
        history=history,
        training_seconds=sum(record.seconds for record in history),
        charts=[
            line_chart(
                "Loss (cross-entropy)",
                {"train": [r.train_loss for r in history], "test": [r.test_loss for r in history]},
            ),
            line_chart(
                "Accuracy",
                {
                    "train": [r.train_accuracy for r in history],
                    "test": [r.test_accuracy for r in history],
                },
            ),
        ]
        if history
        else [],
        confusion=counts.tolist(),
        confusion_max=int(counts.max()) or 1,
        mistakes=mistakes(test, evaluation.predictions),
    )


def write_training_report(
    path: str | os.PathLike, run: Run, test: Digits, evaluation: Evaluation, data_description: str
) -> None:
    """Render the report and write it to ``path`` atomically."""
    write_atomic(path, render_report(run, test, evaluation, data_description))
