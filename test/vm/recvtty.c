/*
 * The engine's side of --console-socket in the test VM (which has no python):
 *   recvtty SOCKET OUTFILE
 * listens on SOCKET, takes one pty master per connection (SCM_RIGHTS) and copies what
 * the container writes on its terminal to OUTFILE, for as long as it runs. A restore
 * sends a new master: each connection replaces the last one's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int recv_fd(int c) {
  char buf[256], ctl[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {buf, sizeof buf};
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  if (recvmsg(c, &m, 0) <= 0) return -1;
  struct cmsghdr *h = CMSG_FIRSTHDR(&m);
  if (!h || h->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(h), sizeof fd);
  return fd;
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
  unlink(argv[1]);
  if (bind(s, (void *)&a, sizeof a) || listen(s, 4)) return perror("bind"), 1;
  int out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
  int master = -1;
  for (;;) {
    struct pollfd p[2] = {{s, POLLIN, 0}, {master, POLLIN, 0}};
    if (poll(p, master >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) return 1;
    if (p[0].revents & POLLIN) {
      int c = accept(s, 0, 0);
      int fd = c >= 0 ? recv_fd(c) : -1;
      if (c >= 0) close(c);
      if (fd >= 0) {
        if (master >= 0) close(master);
        master = fd;
      }
    }
    if (master >= 0 && p[1].revents) {
      char b[4096];
      ssize_t n = read(master, b, sizeof b);
      if (n > 0) write(out, b, n);
      else {
        close(master);
        master = -1;
      }
    }
  }
}
