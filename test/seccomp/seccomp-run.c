/*
 * Test helper: install a BPF program exported by compileSeccomp the way dx-init does
 * (PR_SET_NO_NEW_PRIVS, then seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)), make one
 * system call and print what it returned.
 *
 *   seccomp-run BPF_FILE FLAGS call   SYSCALL [ARG...]   -> "ret=R errno=E"
 *       (SYSCALL is a name from the table below or a number)
 *   seccomp-run BPF_FILE FLAGS notify SYSCALL [ARG...]   -> a child makes the call while
 *       this process answers its notification with EXDEV: "notified=NAME" then "ret=R errno=E"
 *
 * Exit 2 with "load: ..." when the filter is refused. A filter that kills shows as
 * death by SIGSYS; core dumps are disabled so TRAP and KILL leave nothing behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct { const char *name; long nr; } table[] = {
	{"getpid", SYS_getpid},
	{"getppid", SYS_getppid},
	{"getuid", SYS_getuid},
	{"uname", SYS_uname},
	{"getpriority", SYS_getpriority},
	{"personality", SYS_personality},
	{"umask", SYS_umask},
	{"sched_yield", SYS_sched_yield},
	{"mkdirat", SYS_mkdirat},
#ifdef SYS_clone3
	{"clone3", SYS_clone3},
#endif
#ifdef SYS_mkdir
	{"mkdir", SYS_mkdir},
#endif
};

static long lookup(const char *name)
{
	/* a bare number: a syscall the table (or the kernel) does not know by name */
	if (name[0] >= '0' && name[0] <= '9')
		return strtol(name, NULL, 0);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].name, name) == 0)
			return table[i].nr;
	fprintf(stderr, "unknown syscall %s\n", name);
	exit(3);
}

static long call(long nr, int argc, char **argv)
{
	unsigned long a[6] = {0};
	static char buf[4096]; /* room for uname and friends that write through arg0 */
	for (int i = 0; i < argc && i < 6; i++)
		a[i] = strcmp(argv[i], "buf") == 0 ? (unsigned long)buf : strtoul(argv[i], NULL, 0);
	return syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: seccomp-run BPF_FILE FLAGS call|notify SYSCALL [ARG...]\n");
		return 3;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror("open bpf");
		return 3;
	}
	static unsigned char prog_buf[1 << 20];
	size_t len = fread(prog_buf, 1, sizeof(prog_buf), f);
	fclose(f);
	unsigned int flags = (unsigned int)strtoul(argv[2], NULL, 0);
	long nr = lookup(argv[4]);

	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		perror("load: no_new_privs");
		return 2;
	}
	struct sock_fprog prog = {.len = (unsigned short)(len / 8), .filter = (struct sock_filter *)prog_buf};
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (fd < 0) {
		printf("load: errno=%d\n", errno);
		return 2;
	}
	fflush(stdout);

	if (strcmp(argv[3], "call") == 0) {
		errno = 0;
		long r = call(nr, argc - 5, argv + 5);
		printf("ret=%ld errno=%d\n", r, r < 0 ? errno : 0);
		return 0;
	}

	pid_t child = fork();
	if (child == 0) {
		errno = 0;
		long r = call(nr, argc - 5, argv + 5);
		printf("ret=%ld errno=%d\n", r, r < 0 ? errno : 0);
		fflush(stdout);
		_exit(0);
	}
	struct seccomp_notif req;
	memset(&req, 0, sizeof(req));
	if (ioctl((int)fd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
		perror("notif recv");
		return 4;
	}
	printf("notified=%s\n", req.data.nr == nr ? argv[4] : "other");
	fflush(stdout);
	struct seccomp_notif_resp resp = {.id = req.id, .val = 0, .error = -EXDEV, .flags = 0};
	if (ioctl((int)fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0) {
		perror("notif send");
		return 4;
	}
	int status;
	waitpid(child, &status, 0);
	return 0;
}
