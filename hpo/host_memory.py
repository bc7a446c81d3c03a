"""The host's memory in training: large tensors on huge pages.

PyTorch's CPU allocator hands a freed tensor's memory back to the system (glibc maps every
allocation of more than 32 MB afresh), and the next step's tensors fault it in again, a
4-KB page at a time. A translator's step frees and allocates hundreds of megabytes: on the
time-to-quality translation task (20k gettext pairs, the ``seq2seq`` space's start point,
float32 on 2 cores) one epoch made 9.8 million page faults and spent 11% of the process's
CPU time in the kernel. With PyTorch's ``THP_MEM_ALLOC_ENABLE``, its allocator asks the
kernel to back tensors of 2 MB and more with transparent huge pages (``madvise``; granted
where the system's ``transparent_hugepage`` setting is ``madvise`` or ``always``), one
fault per 2 MB: 20 times fewer faults there, a third less time in the kernel and 1.07x
faster epochs, for a peak 7% higher (``benchmarks/huge_pages.py``).

PyTorch reads the setting once, at the process's first tensor of 2 MB or more, so the
command line sets it at its start, before any data or model exists.
"""

from __future__ import annotations

import os

HUGE_PAGES_ENV = "THP_MEM_ALLOC_ENABLE"


def use_huge_pages() -> None:
    """Put large tensors on huge pages (:data:`HUGE_PAGES_ENV`), unless the user chose.

    Example:
        >>> use_huge_pages()
        >>> HUGE_PAGES_ENV in os.environ
        True
    """
    os.environ.setdefault(HUGE_PAGES_ENV, "1")


__all__ = ["HUGE_PAGES_ENV", "use_huge_pages"]
