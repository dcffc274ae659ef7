"""A CLI run in a pseudo-terminal, for the prompts that read from a terminal (getpass)."""

from __future__ import annotations

import os
import pty
import time


def answer_password_prompt(argv: list[str], password: str, env: dict[str, str]) -> str:
    """Run ``argv`` in a pty, type ``password`` at its password prompt; its output (exit 0 asserted)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child becomes the CLI
        os.execve(argv[0], argv, env)
    output = b""
    deadline = time.monotonic() + 60
    while b"password" not in output.lower() and time.monotonic() < deadline:
        output += os.read(fd, 1024)
    os.write(fd, password.encode() + b"\n")
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _pid, status = os.waitpid(pid, 0)
    said = output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, said
    return said
