#!/usr/bin/env python3
# A seccomp notify agent for tests: listens on argv[1], receives the listener fd and the
# container process state (config-linux.md), then answers every notification with
# -errno argv[2] and logs what it saw to argv[3].
import array, ctypes, fcntl, json, os, socket, struct, sys

path, errno_answer, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101

srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
print("ready", flush=True)
conn, _ = srv.accept()
msg, fds, _, _ = socket.recv_fds(conn, 65536, 4)
state = json.loads(msg.decode())
with open(log, "a") as f:
    f.write(json.dumps({"msg": state, "nfds": len(fds)}) + "\n")
lfd = fds[0]
while True:
    buf = bytearray(80)
    try:
        fcntl.ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, buf)
    except OSError:
        break  # the filter's last user exited
    nid, pid, flags, nr = struct.unpack_from("<QIIi", buf, 0)
    with open(log, "a") as f:
        f.write(json.dumps({"syscall": nr, "pid": pid}) + "\n")
    resp = bytearray(struct.pack("<QqiI", nid, 0, -errno_answer, 0))
    try:
        fcntl.ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, resp)
    except OSError:
        pass
