"""Save a run to one ``.npz`` file and resume it: atomically, and bit for bit.

The file holds the parameters (``parameter/<name>``), the optimizer's state
(``optimizer/<buffer>/<name>``) and one JSON document (``meta``) with the
architecture, the configuration, the progress and the history.  It is
written to a temporary file beside the target, flushed to disk and moved
over the target in one ``os.replace``: a crash mid-write leaves the previous
checkpoint intact.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from .errors import DataFileError
from .loop import EpochRecord, Run, TrainingConfig, TrainingProgress
from .model import Sequential
from .optim import OPTIMIZERS

FORMAT = "cnnref-training-checkpoint"
VERSION = 1


def save_checkpoint(path: str | os.PathLike, run: Run) -> None:
    arrays = {f"parameter/{name}": p.value for name, p in run.model.parameters().items()}
    arrays.update({f"optimizer/{key}": value for key, value in run.optimizer.state().items()})
    progress = dataclasses.asdict(run.progress)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "model": run.model.spec(),
        "config": dataclasses.asdict(run.config),
        "train_size": run.train_size,
        "progress": progress,
    }
    arrays["meta"] = np.array(json.dumps(meta))
    with atomic_path(path) as temporary, open(temporary, "wb") as file:
        # NumPy's stub reads any keyword as possibly its allow_pickle; these are array names.
        np.savez(file, **arrays)  # type: ignore[arg-type]


def load_checkpoint(path: str | os.PathLike) -> Run:
    """The run saved at ``path``; a DataFileError naming the file if it is not a checkpoint."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
    except FileNotFoundError as error:
        raise DataFileError(f"{path}: no such checkpoint") from error
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise DataFileError(f"{path}: not a readable .npz checkpoint ({error})") from error
    try:
        run = _run_from(arrays)
    except (KeyError, TypeError, ValueError) as error:
        raise DataFileError(f"{path}: not a cnnref training checkpoint ({error!r})") from error
    _check_finite(path, arrays)
    return run


def _check_finite(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """A NaN or infinity in a weight or in Adam's moments spreads to every output (a model
    that predicts one class scores about 10%, which looks like a result): refuse it."""
    for key, array in arrays.items():
        if key == "meta" or not np.issubdtype(array.dtype, np.floating):
            continue
        bad = int(np.count_nonzero(~np.isfinite(array)))
        if bad:
            kind, _, name = key.partition("/")
            raise DataFileError(
                f"{path}: {kind} {name} holds {bad:,} non-finite value{'s' * (bad != 1)} "
                f"(NaN or infinity) of {array.size:,}; the run diverged or the file is damaged"
            )


def _run_from(arrays: dict[str, np.ndarray]) -> Run:
    meta = json.loads(str(arrays["meta"]))
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ValueError(f"format {meta.get('format')!r} version {meta.get('version')!r}")
    config = TrainingConfig(**meta["config"])
    model = Sequential.from_spec(meta["model"])
    for name, parameter in model.parameters().items():
        stored = arrays[f"parameter/{name}"]
        if stored.shape != parameter.value.shape:
            raise ValueError(f"{name} has shape {stored.shape}, expected {parameter.value.shape}")
        parameter.value = stored.astype(parameter.value.dtype)
    optimizer = OPTIMIZERS[config.optimizer](model.parameters(), config.lr)
    prefix = "optimizer/"
    optimizer.load_state({k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)})
    progress = meta["progress"]
    history = [EpochRecord(**record) for record in progress.pop("history")]
    return Run(
        model, optimizer, config, TrainingProgress(**progress, history=history), meta["train_size"]
    )
