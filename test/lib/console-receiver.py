#!/usr/bin/env python3
"""The far end of --console-socket, as an engine implements it.

Listens on a unix stream socket, receives the container's pty master as an
SCM_RIGHTS fd, optionally types text into it, and relays everything the
container writes to the terminal to stdout until the pty is closed.

Usage: console-receiver.py SOCKET [--send TEXT] [--timeout SECONDS]

stderr gets one line "ready" once the socket listens and one line
"received <name>" once the fd has arrived (name is the message payload).
"""
import argparse
import errno
import os
import select
import socket
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("--send", default=None)
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()

    deadline = time.monotonic() + a.timeout
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(a.socket)
    srv.listen(1)
    print("ready", file=sys.stderr, flush=True)

    srv.settimeout(a.timeout)
    conn, _ = srv.accept()
    msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 4)
    conn.close()
    srv.close()
    if not fds:
        print("no fd received", file=sys.stderr, flush=True)
        return 2
    master = fds[0]
    for extra in fds[1:]:
        os.close(extra)
    print("received " + msg.decode(errors="replace"), file=sys.stderr, flush=True)

    if a.send is not None:
        os.write(master, a.send.encode())

    out = sys.stdout.buffer
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print("timeout", file=sys.stderr, flush=True)
            return 3
        ready, _, _ = select.select([master], [], [], left)
        if not ready:
            continue
        try:
            data = os.read(master, 4096)
        except OSError as e:
            # EIO: every slave fd is closed, the container is gone.
            if e.errno == errno.EIO:
                break
            raise
        if not data:
            break
        out.write(data)
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
