"""Failed trials run again with the same params, when the study file's ``retry`` says so.

An out-of-memory failure may be the machine's, not the configuration's (another process
held the GPU, memory was fragmented), so ``retry: {on: [out_of_memory], max: 1}`` gives such
a trial one more run. Optuna retries only stale trials (its heartbeat callback); this is the
same idea for trials that raised.
"""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo.config import RetryConfig
from hpo.study.start_points import ORIGIN_ATTR, START_ATTR

RETRY_OF_ATTR = "retry_of"  # the number of the first trial of these params
ATTEMPT_ATTR = "retry"  # 1 for the first retry, 2 for the second, ...


def retry_failed_trial(study: optuna.Study, trial: FrozenTrial, retry: RetryConfig) -> bool:
    """Enqueue ``trial``'s params again if it failed with a kind ``retry`` covers and has
    retries left; returns whether it did.

    The new trial's ``origin`` says ``retry <k> of trial <n> (<kind>)``, and its ``retry_of``
    and ``retry`` attributes hold ``n`` and ``k``.

    Example:
        .. code-block:: python

            study.optimize(
                objective,
                callbacks=[lambda study, trial: retry_failed_trial(study, trial, config.retry)],
            )
    """
    kind = trial.user_attrs.get("fail_kind")
    if trial.state != TrialState.FAIL or kind not in retry.on:
        return False
    attempt = int(trial.user_attrs.get(ATTEMPT_ATTR, 0)) + 1
    if attempt > retry.max:
        return False
    first = int(trial.user_attrs.get(RETRY_OF_ATTR, trial.number))
    study.enqueue_trial(
        dict(trial.params),
        user_attrs={
            ORIGIN_ATTR: f"retry {attempt} of trial {first} ({kind})",
            RETRY_OF_ATTR: first,
            ATTEMPT_ATTR: attempt,
            **({START_ATTR: True} if trial.user_attrs.get(START_ATTR) else {}),
        },
    )
    return True
