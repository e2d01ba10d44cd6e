"""The training loop: shuffled mini-batches, a step per batch, an evaluation per epoch.

Every random choice is drawn from a generator seeded by ``(seed, epoch)`` or
``(seed, epoch, step)``, never from one running stream, so a run resumed at
any batch boundary takes exactly the steps an uninterrupted run would.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .augment import random_affine, random_shift, random_stroke
from .datasets import Digits, Splits
from .losses import softmax_cross_entropy
from .model import ModelSpec, Sequential
from .optim import OPTIMIZERS, Optimizer

EVALUATION_BATCH = 64  # the reference runs fastest per image at small batches (cache-sized)


@dataclass(frozen=True)
class TrainingConfig:
    """What a run does; stored in its checkpoints."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 3e-3
    lr_decay: float = 0.8  # the learning rate of epoch e is lr * lr_decay**e
    optimizer: str = "adam"
    seed: int = 0
    # Augmentation: each training digit moved by up to max_shift pixels each way and, where
    # set, turned by up to rotation degrees, scaled by 1 +- scale and slanted by up to shear
    # degrees.  With all three at 0 the shifts are whole pixels (the first recipe).
    max_shift: int = 1
    rotation: float = 0.0
    scale: float = 0.0
    shear: float = 0.0
    stroke: float = 0.0  # the chance that a digit's strokes are made a pixel thicker or thinner

    def learning_rate(self, epoch: int) -> float:
        return self.lr * self.lr_decay**epoch

    def augmentation(self) -> str:
        """What ``augment`` does, in words (for the report)."""
        changes = []
        if self.rotation or self.scale or self.shear:
            changes.append(
                f"turned by up to {self.rotation:g}°, scaled by {1 - self.scale:g} to "
                f"{1 + self.scale:g}, slanted by up to {self.shear:g}°, moved by up to "
                f"{self.max_shift:g} pixel(s)"
            )
        elif self.max_shift:
            changes.append(f"random shifts of up to {self.max_shift} pixel(s)")
        if self.stroke:
            changes.append(f"strokes a pixel thicker or thinner for {self.stroke:.0%} of digits")
        return "; ".join(changes) or "none"

    def augment(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The batch ``x`` (N, 1, 28, 28) as this run's augmentation draws it from ``rng``."""
        x = random_stroke(x, rng, self.stroke)
        if self.rotation or self.scale or self.shear:
            return random_affine(
                x, rng, max_shift=self.max_shift, rotation=self.rotation, scale=self.scale,
                shear=self.shear,
            )  # fmt: skip
        return random_shift(x, rng, self.max_shift)


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of the history: training figures over the epoch, test figures after it."""

    epoch: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    seconds: float
    images_per_second: float


@dataclass
class TrainingProgress:
    """Where a run stands: completed epochs, batches done in the current one, its running sums."""

    epoch: int = 0
    step: int = 0
    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0
    history: list[EpochRecord] = field(default_factory=list)

    def add_batch(self, loss: float, correct: int, size: int, seconds: float) -> None:
        self.step += 1
        self.loss_sum += loss * size
        self.correct += correct
        self.seen += size
        self.seconds += seconds

    def finish_epoch(self, test: Evaluation) -> EpochRecord:
        record = EpochRecord(
            epoch=self.epoch + 1,
            train_loss=self.loss_sum / self.seen,
            train_accuracy=self.correct / self.seen,
            test_loss=test.loss,
            test_accuracy=test.accuracy,
            seconds=self.seconds,
            images_per_second=self.seen / self.seconds if self.seconds else 0.0,
        )
        self.history.append(record)
        self.epoch, self.step = self.epoch + 1, 0
        self.loss_sum, self.correct, self.seen, self.seconds = 0.0, 0, 0, 0.0
        return record


@dataclass
class Evaluation:
    loss: float
    accuracy: float
    predictions: np.ndarray


@dataclass
class Run:
    """A model, its optimizer, what the run does and how far it got: all a checkpoint holds."""

    model: Sequential
    optimizer: Optimizer
    config: TrainingConfig
    progress: TrainingProgress
    train_size: int

    @classmethod
    def start(cls, spec: ModelSpec, config: TrainingConfig, train_size: int) -> Run:
        """A fresh run: the model He-initialised from ``config.seed``."""
        model = Sequential.from_spec(spec, np.random.default_rng(config.seed))
        optimizer = OPTIMIZERS[config.optimizer](model.parameters(), config.lr)
        return cls(model, optimizer, config, TrainingProgress(), train_size)

    @property
    def finished(self) -> bool:
        return self.progress.epoch >= self.config.epochs


BatchCallback = Callable[[Run], None]
EpochCallback = Callable[[Run, EpochRecord], None]


def train(
    run: Run,
    splits: Splits,
    *,
    on_batch: BatchCallback = lambda run: None,
    on_epoch: EpochCallback = lambda run, record: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Evaluation | None:
    """Train until ``config.epochs`` are done or ``should_stop()`` says so at a batch boundary.

    Returns the last epoch's test evaluation (None if no epoch finished here).
    """
    if len(splits.train) != run.train_size:
        raise ValueError(
            f"this run trains on {run.train_size:,} images; the data has {len(splits.train):,}"
        )
    last = None
    while not run.finished:
        if not train_epoch(run, splits.train, on_batch, should_stop):
            return last
        last = evaluate_model(run.model, splits.test)
        on_epoch(run, run.progress.finish_epoch(last))
    return last


def train_epoch(
    run: Run, digits: Digits, on_batch: BatchCallback, should_stop: Callable[[], bool]
) -> bool:
    """Continue the current epoch from ``progress.step``; False if stopped before its end."""
    config, progress = run.config, run.progress
    order = np.random.default_rng([config.seed, progress.epoch]).permutation(len(digits))
    batches = range(0, len(digits), config.batch_size)
    run.optimizer.lr = config.learning_rate(progress.epoch)
    for start in batches[progress.step :]:
        if should_stop():
            return False
        began = time.perf_counter()
        chosen = order[start : start + config.batch_size]
        augment = np.random.default_rng([config.seed, progress.epoch, progress.step])
        x = config.augment(network_input(digits.images[chosen]), augment)
        labels = digits.labels[chosen]
        loss, correct = train_step(run, x, labels)
        progress.add_batch(loss, correct, len(chosen), time.perf_counter() - began)
        on_batch(run)
    return True


def train_step(run: Run, x: np.ndarray, labels: np.ndarray) -> tuple[float, int]:
    """Forward, backward, update; returns the batch's loss and how many it got right."""
    logits = run.model.forward(x)
    loss, dlogits = softmax_cross_entropy(logits, labels)
    run.model.backward(dlogits, need_dx=False)  # the images need no gradient
    run.optimizer.step()
    return loss, int((logits.argmax(axis=1) == labels).sum())


def evaluate_model(
    model: Sequential, digits: Digits, batch_size: int = EVALUATION_BATCH
) -> Evaluation:
    """Mean loss, accuracy and the predicted class of every digit."""
    loss_sum, predictions = 0.0, []
    for start in range(0, len(digits), batch_size):
        part = digits.part(slice(start, start + batch_size))
        logits = model.forward(network_input(part.images))
        loss, _ = softmax_cross_entropy(logits, part.labels)
        loss_sum += loss * len(part)
        predictions.append(logits.argmax(axis=1))
    predicted = np.concatenate(predictions)
    return Evaluation(
        loss=loss_sum / len(digits),
        accuracy=float(np.mean(predicted == digits.labels)),
        predictions=predicted,
    )


def network_input(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1]."""
    return images[:, None].astype(np.float32) / np.float32(255)
