"""One way of computing the metric per study: the first worker stores its task's signature
(sacrebleu's, for BLEU) with the study; a worker that would compute it another way (another
tokenizer, a missing MeCab dictionary, another sacrebleu version) refuses to run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo.errors import BadInput

if TYPE_CHECKING:
    import optuna

    from hpo.tasks.protocol import StudySignature


def agree_on_signature(study: optuna.Study, signature: StudySignature) -> None:
    """Store ``signature`` with a study that has none; refuse one that has another.

    Example:
        .. code-block:: python

            agree_on_signature(study, get_task(config.task).study_signature(config))
    """
    stored = study.user_attrs.get(signature.attr)
    if stored is None:
        study.set_user_attr(signature.attr, signature.value)
    elif stored != signature.value:
        raise BadInput(
            f"study {study.study_name!r} scores {signature.what} as {stored}, but this worker "
            f"would score it as {signature.value}; {signature.remedy}"
        )
