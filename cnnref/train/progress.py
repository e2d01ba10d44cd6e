"""What a run says while it trains: a live progress bar and one line per epoch."""

from __future__ import annotations

import time
from typing import TextIO

from .loop import EpochRecord, Run

BAR_WIDTH = 24
REDRAW_SECONDS = 0.1


class ProgressBar:
    """Redraws one terminal line per batch (at most every REDRAW_SECONDS): the epoch's position,
    its running loss and accuracy, and images per second.  Draws nothing when ``stream`` is not
    a terminal, so logs and pipes get only the epoch lines."""

    def __init__(self, stream: TextIO, batches_per_epoch: int) -> None:
        self.stream = stream
        self.batches = batches_per_epoch
        self.enabled = stream.isatty()
        self._drawn_at = 0.0
        self._width = 0

    def update(self, run: Run) -> None:
        now = time.monotonic()
        progress = run.progress
        if not self.enabled or (
            now - self._drawn_at < REDRAW_SECONDS and progress.step < self.batches
        ):
            return
        self._drawn_at = now
        filled = BAR_WIDTH * progress.step // self.batches
        line = (
            f"epoch {progress.epoch + 1}/{run.config.epochs} "
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {progress.step}/{self.batches}  "
            f"loss {progress.loss_sum / progress.seen:.4f}  "
            f"acc {progress.correct / progress.seen:.4f}  "
            f"{progress.seen / progress.seconds:,.0f} img/s"
        )
        self._width = max(self._width, len(line))
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()


def epoch_line(record: EpochRecord, epochs: int) -> str:
    return (
        f"epoch {record.epoch:>{len(str(epochs))}}/{epochs}  "
        f"train loss {record.train_loss:.4f} acc {record.train_accuracy:.4f}  "
        f"test loss {record.test_loss:.4f} acc {record.test_accuracy:.4f}  "
        f"{record.seconds:.1f} s  {record.images_per_second:,.0f} img/s"
    )
