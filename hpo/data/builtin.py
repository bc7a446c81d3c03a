"""A small topic-classification set generated offline, for the demo study and smoke tests.

Sentences mix a few topic words with common words, some carry a distracting word from
another topic, and a fraction of labels is flipped, so that good and bad hyperparameters
reach visibly different accuracies within a few epochs.
"""

from __future__ import annotations

import random

from hpo.data.corpus import ClassificationCorpus, LabelledTexts
from hpo.data.files import split_by_ratios

TOPIC_WORDS = {
    "sports": (
        "match team coach goal league season striker referee championship tournament "
        "playoff stadium score defender victory injury transfer medal racing tennis"
    ).split(),
    "science": (
        "research scientists study laboratory experiment telescope species genome "
        "physics molecule climate vaccine particle fossil orbit neuron cells theory data"
    ).split(),
    "business": (
        "market shares profit investors revenue quarter merger bank stocks inflation "
        "earnings startup economy prices customers retail bonds growth deal"
    ).split(),
    "world": (
        "government minister election parliament border president treaty protest "
        "embassy ceasefire refugees summit diplomats capital troops vote sanctions talks"
    ).split(),
}
COMMON_WORDS = (
    "the a of in on after before new report says said year week today more than its "
    "this that with as for by at from over under major latest early late big small "
    "officials people group first last second according while during amid"
).split()


def topics_corpus(
    size: int = 3000, label_noise: float = 0.08, seed: int = 7
) -> ClassificationCorpus:
    """Generate ``size`` labelled sentences in four topics, split 70/15/15."""
    rng = random.Random(seed)
    topics = sorted(TOPIC_WORDS)
    texts, labels = [], []
    for _ in range(size):
        topic = rng.choice(topics)
        words = rng.choices(COMMON_WORDS, k=rng.randint(5, 14))
        for _ in range(rng.randint(1, 3)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(TOPIC_WORDS[topic]))
        if rng.random() < 0.4:
            other = rng.choice([t for t in topics if t != topic])
            words.insert(rng.randrange(len(words) + 1), rng.choice(TOPIC_WORDS[other]))
        label = topic
        if rng.random() < label_noise:
            label = rng.choice(topics)
        texts.append(" ".join(words).capitalize() + ".")
        labels.append(label)
    train, dev, test = split_by_ratios(LabelledTexts(texts, labels), 0.7, 0.15, seed)
    return ClassificationCorpus(train, dev, test, "builtin:topics")
