"""Run the stack's processes under supervisord (the `supervisor` package): each program
that exits unexpectedly is restarted (with a growing delay if it keeps failing at start)
and the restart is logged, while the others keep running. Ctrl-C or SIGTERM stops every
program, its whole process group, within a bounded time.

The config is rendered into `$DATA_DIR/run/supervisord.conf` on every start."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Program:
    name: str
    command: str
    priority: int  # lower starts first and stops last
    restart: bool = True
    start_seconds: int = 5  # running this long counts as started; failing sooner backs off
    stop_wait_seconds: int = 8


def _value(text: str) -> str:
    """A config value: supervisord expands `%(name)s`, so a literal `%` is doubled."""
    return text.replace("%", "%%")


def render_config(programs: list[Program], run_dir: Path) -> str:
    lines = [
        "[supervisord]",
        "nodaemon=true",
        f"logfile={_value(str(run_dir / 'supervisord.log'))}",
        "logfile_maxbytes=1MB",
        "logfile_backups=1",
        "loglevel=info",
        f"pidfile={_value(str(run_dir / 'supervisord.pid'))}",
        f"childlogdir={_value(str(run_dir))}",
        "umask=077",
        "",
    ]
    for program in programs:
        lines += [
            f"[program:{program.name}]",
            f"command={_value(program.command)}",
            f"priority={program.priority}",
            "autostart=true",
            f"autorestart={'true' if program.restart else 'false'}",
            f"startsecs={program.start_seconds}",
            "startretries=1000",
            "exitcodes=0",
            "stopsignal=TERM",
            f"stopwaitsecs={program.stop_wait_seconds}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            "stdout_logfile=/dev/stdout",
            "stdout_logfile_maxbytes=0",
            "",
        ]
    return "\n".join(lines)


def run_programs(programs: list[Program], run_dir: Path, env: dict[str, str]) -> None:
    """Replace this process with supervisord running `programs` (it never returns)."""
    run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    config = run_dir / "supervisord.conf"
    config.write_text(render_config(programs, run_dir))
    config.chmod(0o600)
    sys.stdout.flush()
    os.execve(
        sys.executable,
        [sys.executable, "-m", "supervisor.supervisord", "--nodaemon", "--configuration", str(config)],
        env,
    )
