/*
 * What the checkpoint checks need from a process and busybox cannot give (static, so it
 * runs in the guest and in the container's busybox rootfs alike):
 *
 *   crtool flock FILE CMD...        holds an exclusive flock on FILE (fd 9) while CMD runs
 *   crtool trylock FILE             exits 0 if an exclusive flock on FILE is free, 1 if held
 *   crtool pty LOG CMD...           runs CMD with a new pty's slave as its stdio (its own
 *                                   session, that tty its controlling one) and copies the
 *                                   master's output to LOG until killed, after CMD exits too
 *   crtool dgram-recv PATH OUT      binds a unix datagram socket at PATH and writes the
 *                                   number of datagrams received so far into OUT
 *   crtool dgram-send PATH          connects a unix datagram socket to PATH once and sends
 *                                   on it every 0.2 s, forever, failures ignored
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int usage(void) {
  fputs("usage: crtool flock FILE CMD... | trylock FILE | pty LOG CMD... | dgram-recv PATH OUT | dgram-send PATH\n", stderr);
  return 2;
}

static struct sockaddr_un addr(const char *path) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strncpy(a.sun_path, path, sizeof a.sun_path - 1);
  return a;
}

static int do_flock(char **argv) {
  int fd = open(argv[0], O_RDWR | O_CREAT, 0644);
  if (fd < 0 || dup2(fd, 9) < 0 || flock(9, LOCK_EX) < 0) return perror("flock"), 1;
  if (fd != 9) close(fd);
  execvp(argv[1], argv + 1);
  return perror("exec"), 127;
}

static int do_trylock(char **argv) {
  int fd = open(argv[0], O_RDWR);
  if (fd < 0) return perror("open"), 2;
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
  return errno == EWOULDBLOCK ? 1 : (perror("flock"), 2);
}

static int do_pty(char **argv) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0 || grantpt(m) || unlockpt(m)) return perror("ptmx"), 1;
  int out = open(argv[0], O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int s = open(ptsname(m), O_RDWR);
    if (s < 0) return perror("pts"), 1;
    ioctl(s, TIOCSCTTY, 0);
    dup2(s, 0), dup2(s, 1), dup2(s, 2);
    if (s > 2) close(s);
    close(m);
    close(out);
    execvp(argv[1], argv + 1);
    return perror("exec"), 127;
  }
  signal(SIGCHLD, SIG_IGN);
  /* The master stays open while the container holds the slave; EIO only once no one does. */
  char b[4096];
  for (;;) {
    ssize_t n = read(m, b, sizeof b);
    if (n > 0) write(out, b, n);
    else if (n < 0 && errno != EINTR) usleep(100000);
  }
}

static int do_dgram_recv(char **argv) {
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un a = addr(argv[0]);
  unlink(argv[0]);
  if (bind(s, (void *)&a, sizeof a)) return perror("bind"), 1;
  char b[256], tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.t", argv[1]);
  for (long n = 1;; n++) {
    if (recv(s, b, sizeof b, 0) < 0) {
      n--;
      continue;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) continue;
    fprintf(f, "%ld\n", n);
    fclose(f);
    rename(tmp, argv[1]);
  }
}

static int do_dgram_send(char **argv) {
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un a = addr(argv[0]);
  if (connect(s, (void *)&a, sizeof a)) return perror("connect"), 1;
  for (;;) {
    send(s, "tick", 4, MSG_DONTWAIT);
    usleep(200000);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) return usage();
  if (!strcmp(argv[1], "flock") && argc >= 4) return do_flock(argv + 2);
  if (!strcmp(argv[1], "trylock") && argc == 3) return do_trylock(argv + 2);
  if (!strcmp(argv[1], "pty") && argc >= 4) return do_pty(argv + 2);
  if (!strcmp(argv[1], "dgram-recv") && argc == 4) return do_dgram_recv(argv + 2);
  if (!strcmp(argv[1], "dgram-send") && argc == 3) return do_dgram_send(argv + 2);
  return usage();
}
