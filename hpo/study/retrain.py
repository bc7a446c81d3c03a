"""``hpo train``: train one trial's configuration for its full epochs and keep the model.

The trial's params (fixed ones included) and seed are taken from the store; training runs
without pruning or time limit, reports as the study's ``training.report_every`` says, writes
``last.pt`` (model, optimizer, scheduler, scaler, random state and, within an epoch, how far
it got) into ``runs/<study>/train-<n>/`` at every report and ``best.pt`` at every new best,
and resumes from ``last.pt`` when run again (within an epoch too), classifiers and
translators alike. The best epoch's
model is saved there like a trial's checkpoint, so ``hpo predict``, ``hpo translate`` and
``hpo evaluate`` use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hpo.config import StudyConfig, resolve_storage, study_dir_for
from hpo.errors import BadInput


@dataclass
class TrainSummary:
    study: str
    trial: int
    directory: Path
    epochs: int
    best_epoch: int | None
    best_value: float | None
    metric: str

    def text(self) -> str:
        best = (
            f"best epoch {self.best_epoch}: {self.metric} = {self.best_value:.4g}"
            if self.best_epoch is not None
            else "no finite value"
        )
        return (
            f"trained trial {self.trial} of study {self.study} for {self.epochs} epoch(s); "
            f"{best}; model in {self.directory}"
        )


def train_trial(
    config: StudyConfig,
    trial: str = "best",
    *,
    storage: str | None = None,
    epochs: int | None = None,
    device: str | None = None,
    echo: Callable[[str], None] = print,
) -> TrainSummary:
    """Retrain trial ``trial`` (``best`` or a number) of a study for its full epochs
    (``max_epochs``; for a trial that trained the best on, up to its best epoch).

    A run resumes from the last checkpoint of an earlier ``hpo train`` of the same trial, to
    the weights an uninterrupted run would reach (same thread count). ``device``
    (``--device``) overrides the study's ``training.device``.

    Example:
        .. code-block:: python

            print(train_trial(load_study_config("iwslt"), "best").text())
    """
    import torch

    from hpo.checkpoints import save_checkpoint
    from hpo.study.objective import seed_everything
    from hpo.study.stored import load_stored_study
    from hpo.study.train_on import CONTINUES_ATTR
    from hpo.study.trial_lookup import find_trial, parse_trial, recorded_threads, train_dir
    from hpo.tasks import get_task
    from hpo.training.device import choose_device

    if epochs is not None and epochs < 1:
        raise BadInput(f"--epochs must be at least 1, got {epochs}")
    wanted = parse_trial(trial)
    target = choose_device(device, config.training.device)
    study = load_stored_study(config.name, resolve_storage(storage, config))
    frozen = find_trial(study, wanted)
    wanted = frozen.number
    params = {**frozen.user_attrs.get("fixed_params", {}), **frozen.params}
    seed = int(frozen.user_attrs.get("seed", config.seed))
    if epochs is None and CONTINUES_ATTR in frozen.user_attrs:
        # A trial that trained the best on (hpo.study.train_on) went past max_epochs.
        epochs = frozen.user_attrs.get("best_epoch") or None

    # Torch's CPU kernels sum in a different order with another thread count, so the trial's
    # own count is what reproduces its value.
    threads = config.training.threads or recorded_threads(frozen.user_attrs.get("device"))
    if threads:
        torch.set_num_threads(threads)
    task = get_task(config.task)
    splits = task.encode(task.prepare(config), params)
    seed_everything(seed)
    model = task.build_model(params, splits)
    settings = task.settings(config, params, seed, splits, max_epochs=epochs)
    settings.time_limit = None  # the full epochs: that is what `train` is for
    directory = train_dir(study_dir_for(config.name), wanted)

    def show(record) -> None:
        echo(task.describe(record))

    result = task.fit(
        model, splits, params, settings, [show], target, checkpoint_dir=directory, resume=True
    )
    if result.best_state is not None:
        content = task.checkpoint(config, splits, result, settings)
        save_checkpoint(
            directory,
            state_dict=result.best_state,
            params=params,
            files=content.files,
            meta=content.meta,
        )
    return TrainSummary(
        config.name,
        wanted,
        directory,
        sum(record.at_epoch_end for record in result.history),
        result.best_epoch,
        result.best_value,
        config.metric,
    )
