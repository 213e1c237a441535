"""Run the stack's processes under honcho: output multiplexed with a name prefix, and
when one stops or Ctrl-C/SIGTERM arrives, every process group gets SIGTERM, then SIGKILL
after honcho's grace period (5 s)."""

from __future__ import annotations

from honcho.manager import Manager


def run_processes(commands: dict[str, str], env: dict[str, str], cwd: str) -> int:
    manager = Manager()
    for name, command in commands.items():
        manager.add_process(name, command, env=env, cwd=cwd)
    manager.loop()
    return int(manager.returncode or 0)
