#!/usr/bin/env python3
"""Runs a command on a fresh pseudo-terminal, as if typed at a real one.

    pty-drive.py TIMEOUT_SECONDS INPUT -- CMD [ARGS...]

INPUT (with \\n escapes) is written once the command has printed something or after a
short pause, whichever comes first; everything the terminal shows goes to stdout and the
command's exit status becomes ours. Engines started with -t insist that their stdin is a
terminal, and a test has none.
"""
import os
import pty
import select
import sys
import time


def main() -> int:
    timeout = float(sys.argv[1])
    text = sys.argv[2].encode().decode("unicode_escape").encode()
    cmd = sys.argv[sys.argv.index("--") + 1 :]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    deadline = time.monotonic() + timeout
    # Typed input before the container's shell owns the terminal could be echoed and then
    # flushed by the shell's own tcsetattr; wait until it has started talking.
    send_at = time.monotonic() + 3.0
    sent = False
    out = bytearray()
    while True:
        now = time.monotonic()
        if now > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            sys.stdout.buffer.write(bytes(out))
            sys.stderr.write("pty-drive: timed out\n")
            return 124
        if not sent and (now >= send_at or out):
            time.sleep(0.3)
            os.write(fd, text)
            sent = True
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                break
            out += chunk
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(bytes(out))
    return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8


if __name__ == "__main__":
    sys.exit(main())
