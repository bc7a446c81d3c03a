"""The command line puts large tensors on huge pages before PyTorch reads the setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hpo.host_memory import HUGE_PAGES_ENV

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/smaps").exists(), reason="reads the process's mappings from Linux's /proc"
)

# After `hpo` has started in this process: the kernel's flags of the mapping that holds a
# 10-MB tensor ("hg": advised to be backed by huge pages), and the setting.
AFTER_THE_CLI = """
import json, os, sys
from hpo.cli import main
main(["--help"])
import torch
tensor = torch.empty(10 * 2**20 // 4)
address, flags, inside = tensor.data_ptr(), [], False
with open("/proc/self/smaps") as mappings:
    for line in mappings:
        fields = line.split()
        if line[0] in "0123456789abcdef" and "-" in fields[0]:
            begin, end = (int(bound, 16) for bound in fields[0].split("-"))
            inside = begin <= address < end
        elif inside and fields[0] == "VmFlags:":
            flags = fields[1:]
print(json.dumps({"huge_pages": "hg" in flags, "setting": os.environ.get(sys.argv[1])}))
"""


@pytest.mark.parametrize("chosen, huge", [(None, True), ("0", False)], ids=["unset", "off-by-user"])
def test_the_cli_puts_large_tensors_on_huge_pages_unless_the_user_chose(chosen, huge):
    env = {k: v for k, v in os.environ.items() if k != HUGE_PAGES_ENV}
    if chosen is not None:
        env[HUGE_PAGES_ENV] = chosen
    command = [sys.executable, "-c", AFTER_THE_CLI, HUGE_PAGES_ENV]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"huge_pages": huge, "setting": chosen or "1"}
