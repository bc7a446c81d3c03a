"""Stale trials (their worker stopped beating) are failed with a reason, then retried.

Optuna fails a running trial whose heartbeat is older than the grace period and hands it
to a callback that may enqueue it again. It records no reason, so a stale trial would look
like one that raised. :class:`HeartbeatStorage` gives each stale trial its ``fail_reason``
(``stale: no heartbeat since <time> (worker <name>)``) while it is still running, just
before Optuna fails it; :class:`RetryStaleTrial` enqueues it again without that reason.
"""

from __future__ import annotations

import contextlib
import copy
from datetime import datetime

import optuna
import sqlalchemy
from optuna.storages._rdb import models
from optuna.trial import FrozenTrial

from hpo.study.trial_state import RESUME_ATTR, RETRY_DUE_ATTR

FAIL_REASON = "fail_reason"


class HeartbeatStorage(optuna.storages.RDBStorage):
    """Optuna's RDB storage whose stale trials say why they failed (see the module)."""

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        # Optuna calls this from fail_stale_trials right before failing what it returns.
        stale = super()._get_stale_trial_ids(study_id)
        for trial_id in stale:
            worker = self.get_trial(trial_id).user_attrs.get("worker", "unknown")
            since = self._last_beat(trial_id)
            when = since.strftime("%Y-%m-%d %H:%M:%S") if since else "its start"
            # Another process may have failed it first.
            with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
                self.set_trial_user_attr(
                    trial_id, FAIL_REASON, f"stale: no heartbeat since {when} (worker {worker})"
                )
                # Between Optuna failing the trial and its callback enqueueing the retry,
                # another worker's checkpoint pruning sees a failed trial: this tells it the
                # trial's training state is still awaited.
                callback = self.get_heartbeat_stale_trial_callback()
                if isinstance(callback, RetryStaleTrial) and callback.will_retry(
                    self.get_trial(trial_id)
                ):
                    self.set_trial_user_attr(trial_id, RETRY_DUE_ATTR, True)
        return stale

    def _last_beat(self, trial_id: int) -> datetime | None:
        """The last heartbeat in this machine's local time (the database's clock and time
        zone may differ: only the beat's age is taken from it)."""
        table = models.TrialHeartbeatModel.__table__
        with self.engine.connect() as connection:
            now = connection.execute(sqlalchemy.select(sqlalchemy.func.now())).scalar()
            beat = connection.execute(
                sqlalchemy.select(table.c.heartbeat).where(table.c.trial_id == trial_id)
            ).scalar()
        if now is None or beat is None:
            return None
        age = now.replace(tzinfo=None) - beat.replace(tzinfo=None)
        return datetime.now() - age


class RetryStaleTrial(optuna.storages.RetryHeartbeatStaleTrialCallback):
    """Optuna's retry of a stale trial, less the stale trial's ``fail_reason`` (the retry
    has not failed), with ``resume_from`` naming the stale trial: the retry goes on from its
    last report (:mod:`hpo.study.trial_state`)."""

    def __init__(self, max_retry: int | None = None) -> None:
        super().__init__(max_retry=max_retry)
        self.max_retry = max_retry

    def will_retry(self, trial: FrozenTrial) -> bool:
        """Whether ``trial``, once stale, is enqueued again (it has retries left)."""
        history = trial.system_attrs.get("retry_history", [])
        return self.max_retry is None or len(history) < self.max_retry

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        clean = copy.copy(trial)
        dropped = (FAIL_REASON, RETRY_DUE_ATTR)
        clean.user_attrs = {k: v for k, v in trial.user_attrs.items() if k not in dropped}
        clean.user_attrs[RESUME_ATTR] = trial.number
        super().__call__(study, clean)
