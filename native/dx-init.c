/*
 * dx-init: runs a dx-runtime plan between clone and the container's execve.
 *
 * The plan (native/PROTOCOL.md) is an ordered list of steps decided by the
 * runtime; this program only executes them, one or two syscalls each, and
 * reports the first failure over the ctl socket with the step, the path and
 * errno. It stays free of stdio so that a container waiting in `created`
 * costs a few pages, not a process runtime.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <net/if.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

/* ------------------------------------------------------------------ */
/* Wire constants (mirrors src/native/protocol.ts)                     */
/* ------------------------------------------------------------------ */

enum {
	OP_RLIMIT = 1, OP_SETNS = 2, OP_TIMENS = 3, OP_CLONE = 4,
	OP_WAIT_GO = 10, OP_SETRESID = 11, OP_UNSHARE = 12, OP_SETSID = 13,
	OP_HOSTNAME = 14, OP_DOMAINNAME = 15, OP_KEYRING = 16, OP_LINK_UP = 17,
	OP_MOUNT = 20, OP_ROOTFS = 21, OP_MKNOD = 22, OP_SYMLINK = 23,
	OP_PIVOT = 24, OP_MASK = 25, OP_READONLY = 26, OP_ROOT_RO = 27,
	OP_SYSCTL = 28, OP_MOUNT_ATTR = 29,
	OP_HOOK = 30, OP_FIFO_OPEN = 31, OP_READY = 32, OP_FIFO_WAIT = 33,
	OP_CONSOLE = 34, OP_UMASK = 35, OP_CHDIR = 36, OP_LOOKUP = 37,
	OP_OOM_SCORE = 38, OP_MKDIR = 39,
	OP_CAPS_BOUNDING = 40, OP_IDENTITY = 41, OP_CAPS = 42,
	OP_NO_NEW_PRIVS = 43, OP_SECCOMP = 44, OP_PERSONALITY = 45,
	OP_SCHED = 46, OP_IOPRIO = 47, OP_APPARMOR = 48, OP_LABEL = 49,
	OP_EXEC = 50, OP_AFFINITY = 51, OP_CGROUP_JOIN = 52, OP_FIFO_MAKE = 53,
	OP_BIND_SOURCES = 54, OP_HIDE_HOST = 55, OP_DEVNULL_STDIO = 56,
	OP_MAX = 56
};

enum {
	HOW_IN_ROOT = 1, HOW_MKDIR = 2, HOW_MKFILE = 4, HOW_NO_SYMLINK = 8,
	HOW_KEEP_LOCKED = 16, HOW_SOURCE_IN_ROOT = 32, HOW_SOURCE_FD = 64, HOW_SYS_BIND_ON_EPERM = 128
};
/* With HOW_SOURCE_FD, bits 32..63 of `how` are the slot of BIND_SOURCES. */
#define HOW_SLOT(how) ((size_t)((how) >> 32))

enum {
	MSG_PID = 1, MSG_GO = 2, MSG_READY = 3, MSG_ERROR = 4,
	MSG_PTY = 5, MSG_SECCOMP_FD = 6, MSG_LOCKED = 7, MSG_PLAN = 8
};

#define MAX_FIELDS 8
#define MAX_PLAN (256u << 20)
#define HOOK_TAIL 1024

/* ------------------------------------------------------------------ */
/* State shared by the steps                                           */
/* ------------------------------------------------------------------ */

static int ctl = -1;
static unsigned cur_op;
static int rootfd = -1;           /* root for in-root resolution */
static const char *rootpath = ""; /* for messages only */
static int pivoted;               /* "/" is now the container's root */
static int fifofd = -1, procfd = -1;
/* The exec fifo's write side once `start` has opened it: close-on-exec, so a
 * successful execve reads as EOF there, and an error is written into it for start. */
static int startfd = -1;
static char *go_state;
static size_t go_len;
static const char *exec_path; /* set by LOOKUP */
/* Bind sources named by BIND_SOURCES, opened by P in C's mount namespace (see CLONE). */
static char **src_paths;
static size_t src_n;
static int *src_fds;
static char lookup_buf[PATH_MAX];

/* ------------------------------------------------------------------ */
/* Small string helpers (no stdio)                                     */
/* ------------------------------------------------------------------ */

struct sbuf {
	char b[8192];
	size_t n;
};

static void sb_add(struct sbuf *s, const char *str)
{
	while (*str && s->n + 1 < sizeof s->b)
		s->b[s->n++] = *str++;
	s->b[s->n] = 0;
}

/* Decimal rendering into a caller's buffer of at least 24 bytes. */
static const char *fmt_u(uint64_t v, char *buf)
{
	char *p = buf + 23;
	*p = 0;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}
#define U(v) fmt_u((uint64_t)(v), (char[24]){0})

static const char *errstr(int err)
{
#ifdef __GLIBC__
	/* strerror would pull glibc's locale machinery into the static binary */
	const char *s = strerrordesc_np(err);
#else
	const char *s = strerror(err);
#endif
	return s ? s : "unknown error";
}

static void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

/* ------------------------------------------------------------------ */
/* Debug log (PROTOCOL.md, "Debug log")                                */
/* ------------------------------------------------------------------ */

/* log=FD: the runtime runs with --debug; -1 (the usual case) costs one test a line. */
static int logfd = -1;
static int logjson; /* logfmt=json, else logrus's text format */

/* As a JSON string body: also what a quoted logrus text value needs. */
static void sb_esc(struct sbuf *s, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	for (; *str && s->n + 7 < sizeof s->b; str++) {
		unsigned char c = (unsigned char)*str;
		if (c == '"' || c == '\\') {
			s->b[s->n++] = '\\';
			s->b[s->n++] = (char)c;
		} else if (c == '\n') {
			s->b[s->n++] = '\\';
			s->b[s->n++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(s->b + s->n, "\\u00", 4);
			s->n += 4;
			s->b[s->n++] = hex[c >> 4];
			s->b[s->n++] = hex[c & 15];
		} else
			s->b[s->n++] = (char)c;
	}
	s->b[s->n] = 0;
}

static void put_num(char *p, unsigned v, int width)
{
	while (width--) {
		p[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* UTC, with milliseconds, as the runtime's own lines: 2006-01-02T15:04:05.000Z */
static void sb_time(struct sbuf *s)
{
	struct timespec ts;
	struct tm tm;
	char b[25];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	put_num(b, (unsigned)tm.tm_year + 1900, 4);
	b[4] = '-';
	put_num(b + 5, (unsigned)tm.tm_mon + 1, 2);
	b[7] = '-';
	put_num(b + 8, (unsigned)tm.tm_mday, 2);
	b[10] = 'T';
	put_num(b + 11, (unsigned)tm.tm_hour, 2);
	b[13] = ':';
	put_num(b + 14, (unsigned)tm.tm_min, 2);
	b[16] = ':';
	put_num(b + 17, (unsigned)tm.tm_sec, 2);
	b[19] = '.';
	put_num(b + 20, (unsigned)(ts.tv_nsec / 1000000), 3);
	b[23] = 'Z';
	b[24] = 0;
	sb_add(s, b);
}

/* One debug line from the NULL-terminated strings, written with one write(2). */
static void dlog_(const char *first, ...)
{
	struct sbuf m = { .n = 0 }, l = { .n = 0 };
	va_list ap;
	int err = errno;
	m.b[0] = l.b[0] = 0;
	sb_add(&m, "dx-init[");
	sb_add(&m, fmt_u((uint64_t)getpid(), (char[24]){ 0 }));
	sb_add(&m, "]: ");
	va_start(ap, first);
	for (const char *p = first; p; p = va_arg(ap, const char *))
		sb_add(&m, p);
	va_end(ap);
	if (logjson) {
		sb_add(&l, "{\"level\":\"debug\",\"msg\":\"");
		sb_esc(&l, m.b);
		sb_add(&l, "\",\"time\":\"");
		sb_time(&l);
		sb_add(&l, "\"}\n");
	} else {
		sb_add(&l, "time=\"");
		sb_time(&l);
		sb_add(&l, "\" level=debug msg=\"");
		sb_esc(&l, m.b);
		sb_add(&l, "\"\n");
	}
	write_all(logfd, l.b, l.n);
	errno = err;
}
#define dlog(...)                                           \
	do {                                                \
		if (logfd >= 0)                             \
			dlog_(__VA_ARGS__, (const char *)NULL); \
	} while (0)

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

static _Noreturn void die_(int err, const char *first, ...);
#define die(err, ...) die_((err), __VA_ARGS__, (const char *)NULL)

/*
 * A frame that passes no fd, with write(2): after the seccomp filter is in, the
 * stub must make no call a profile written for runc could deny or notify, and
 * runc itself only writes there. SIGPIPE (the runtime is gone) is ignored for
 * the call, so that it fails like sendmsg with MSG_NOSIGNAL.
 */
static int write_frame(const uint32_t head[2], const void *payload, size_t len)
{
	char buf[8 + 8 + 8192 + 64]; /* the largest frame: MSG_ERROR with a full message */
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	size_t n = 8 + len, off = 0;
	int ret = 0;

	if (len > sizeof buf - 8) {
		errno = EMSGSIZE;
		return -1;
	}
	memcpy(buf, head, 8);
	if (len)
		memcpy(buf + 8, payload, len);
	sigaction(SIGPIPE, &ign, &old);
	while (off < n) {
		ssize_t r = write(ctl, buf + off, n - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = -1;
			break;
		}
		off += (size_t)r;
	}
	int saved = errno;
	sigaction(SIGPIPE, &old, NULL);
	errno = saved;
	return ret;
}

/*
 * One frame: u32 length of what follows, u32 type, payload. A single write
 * below the socket's buffer size is one skb on a unix stream socket, so the
 * frames of P and C never interleave; a passed fd rides on its first byte.
 */
static int send_msg(uint32_t type, const void *payload, size_t len, int passfd)
{
	uint32_t head[2] = { (uint32_t)(4 + len), type };
	struct iovec iov[2] = {
		{ .iov_base = head, .iov_len = sizeof head },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	size_t left = sizeof head + len;

	if (ctl < 0) {
		errno = EBADF;
		return -1;
	}
	if (passfd < 0)
		return write_frame(head, payload, len);
	{
		memset(&c, 0, sizeof c);
		mh.msg_control = c.buf;
		mh.msg_controllen = sizeof c.buf;
		struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &passfd, sizeof(int));
	}
	while (left) {
		ssize_t r = sendmsg(ctl, &mh, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		left -= (size_t)r;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (r > 0 && mh.msg_iovlen) {
			size_t k = (size_t)r < mh.msg_iov->iov_len ? (size_t)r : mh.msg_iov->iov_len;
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + k;
			mh.msg_iov->iov_len -= k;
			r -= (ssize_t)k;
			if (!mh.msg_iov->iov_len) {
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
	return 0;
}

/* Reads exactly n bytes from ctl: 1 when done, 0 on EOF (or a reset) first. */
static int read_exact(void *p, size_t n)
{
	char *c = p;
	while (n) {
		ssize_t r = read(ctl, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECONNRESET)
			return 0;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		c += r;
		n -= (size_t)r;
	}
	return 1;
}

/*
 * The next frame from the runtime, which must be of type `want`; NUL-terminated
 * (not counted in *len). EOF means the runtime is gone: exit quietly.
 */
static unsigned char *recv_frame(uint32_t want, size_t max, size_t *len, const char *what)
{
	uint32_t head[2];
	int r = read_exact(head, sizeof head);
	if (r == 0)
		_exit(1);
	if (r < 0)
		die(errno, what);
	if (head[0] < 4 || head[0] - 4 > max)
		die(EPROTO, what, ": a frame of ", U(head[0]), " bytes");
	if (head[1] != want)
		die(EPROTO, what, ": unexpected message ", U(head[1]));
	size_t n = head[0] - 4;
	unsigned char *buf = malloc(n + 1);
	if (!buf)
		die(ENOMEM, what);
	r = read_exact(buf, n);
	if (r == 0)
		_exit(1);
	if (r < 0)
		die(errno, what);
	buf[n] = 0;
	*len = n;
	return buf;
}

/*
 * Reports a failure and exits. The message is the NULL-terminated list of
 * strings. With nobody left on ctl (after `start`), stderr is the only
 * witness, and 127 tells the engine the process never ran.
 */
static _Noreturn void die_v(int err, const char *first, va_list ap)
{
	struct sbuf m = { .n = 0 };
	struct {
		int32_t err;
		uint32_t op;
	} head = { err, cur_op };
	char payload[sizeof head + sizeof m.b];

	m.b[0] = 0;
	for (const char *s = first; s; s = va_arg(ap, const char *))
		sb_add(&m, s);
	dlog("failed: ", m.b, err ? ": " : "", err ? errstr(err) : "");
	memcpy(payload, &head, sizeof head);
	memcpy(payload + sizeof head, m.b, m.n + 1);

	struct sbuf e = { .n = 0 };
	if (startfd >= 0) {
		sb_add(&e, "E");
		sb_add(&e, m.b);
		if (err) {
			sb_add(&e, ": ");
			sb_add(&e, errstr(err));
		}
		write_all(startfd, e.b, e.n);
		/* start reports it: nothing more to tell anyone */
		_exit(1);
	}
	if (send_msg(MSG_ERROR, payload, sizeof head + m.n + 1, -1) == 0)
		_exit(1);

	sb_add(&e, "dx-init: ");
	sb_add(&e, m.b);
	if (err) {
		sb_add(&e, ": ");
		sb_add(&e, errstr(err));
	}
	sb_add(&e, "\n");
	write_all(2, e.b, e.n);
	_exit(127);
}

static _Noreturn void die_(int err, const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	die_v(err, first, ap);
}

/* ------------------------------------------------------------------ */
/* Plan reader                                                         */
/* ------------------------------------------------------------------ */

/*
 * One decoded field. u: integer, or the count of a strv / gid list;
 * s: a string (NUL-terminated in place); p, n: raw bytes (bytes, or the
 * encoded elements of a strv / gid list).
 */
struct field {
	uint64_t u;
	const char *s;
	const unsigned char *p;
	uint32_t n;
};

struct reader {
	const unsigned char *p, *end;
};

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int rd_u64(struct reader *r, uint64_t *v)
{
	if (r->end - r->p < 8)
		return -1;
	*v = le64(r->p);
	r->p += 8;
	return 0;
}

/* 0 ok; -1 truncated; -2 not a proper C string. */
static int rd_str(struct reader *r, const char **s, uint32_t *len)
{
	if (r->end - r->p < 4)
		return -1;
	uint32_t n = le32(r->p);
	if ((uint64_t)(r->end - r->p - 4) < n)
		return -1;
	const unsigned char *b = r->p + 4;
	if (n == 0 || memchr(b, 0, n) != b + n - 1)
		return -2;
	*s = (const char *)b;
	if (len)
		*len = n - 1;
	r->p = b + n;
	return 0;
}

/*
 * Field signatures: u = u64, s = str, b = bytes, v = strv, e = strv of an
 * environment (only counted in the debug log: it may hold secrets),
 * G = u64 count followed by that many u64 (IDENTITY's groups).
 */
static const char *decode(const char *sig, const unsigned char *p, uint32_t len, struct field *f)
{
	struct reader r = { p, p + len };
	for (; *sig; sig++, f++) {
		memset(f, 0, sizeof *f);
		switch (*sig) {
		case 'u':
			if (rd_u64(&r, &f->u))
				return "truncated field";
			break;
		case 's': {
			int e = rd_str(&r, &f->s, &f->n);
			if (e)
				return e == -1 ? "truncated field" : "string without NUL";
			break;
		}
		case 'b':
			if (r.end - r.p < 4)
				return "truncated field";
			f->n = le32(r.p);
			if ((uint64_t)(r.end - r.p - 4) < f->n)
				return "truncated field";
			f->p = r.p + 4;
			r.p += 4 + (size_t)f->n;
			break;
		case 'v':
		case 'e':
			if (rd_u64(&r, &f->u))
				return "truncated field";
			if (f->u > (uint64_t)(r.end - r.p) / 5)
				return "string list longer than the record";
			f->p = r.p;
			for (uint64_t i = 0; i < f->u; i++) {
				const char *s;
				int e = rd_str(&r, &s, NULL);
				if (e)
					return e == -1 ? "truncated field" : "string without NUL";
			}
			break;
		case 'G':
			if (rd_u64(&r, &f->u))
				return "truncated field";
			if (f->u > (uint64_t)(r.end - r.p) / 8)
				return "group list longer than the record";
			f->p = r.p;
			r.p += f->u * 8;
			break;
		}
	}
	if (r.p != r.end)
		return "trailing bytes in record";
	return NULL;
}

static char **mkstrv(const struct field *f, const char *fallback0)
{
	uint64_t n = f->u;
	char **v = calloc((size_t)n + 2, sizeof *v);
	const unsigned char *p = f->p;
	if (!v)
		die(ENOMEM, "allocate argument list");
	for (uint64_t i = 0; i < n; i++) {
		uint32_t len = le32(p);
		v[i] = (char *)(p + 4);
		p += 4 + (size_t)len;
	}
	if (n == 0 && fallback0)
		v[0] = (char *)fallback0;
	return v;
}

/* ------------------------------------------------------------------ */
/* Files and paths                                                     */
/* ------------------------------------------------------------------ */

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len) {
		ssize_t w = write(fd, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		data += w;
		len -= (size_t)w;
	}
	return close(fd);
}

static int open_path(int base, const char *path, uint64_t resolve)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = resolve,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, base, path, &how, sizeof how);
	while (fd < 0 && errno == EAGAIN);
	return fd;
}

static int root(void)
{
	if (rootfd < 0) {
		rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0)
			die(errno, "open /");
	}
	return rootfd;
}

/* The path through which a syscall taking only a path reaches fd. */
static const char *fd_path(int fd, char *buf)
{
	strcpy(buf, "/proc/self/fd/");
	strcat(buf, U(fd));
	return buf;
}

enum { MAKE_NONE, MAKE_DIR, MAKE_FILE };

/*
 * Opens path (O_PATH) relative to base with the given RESOLVE_* flags,
 * creating missing components when make != MAKE_NONE. Every component is
 * created with mkdirat/openat on a parent opened through the same resolver,
 * so a symlink in the image cannot send the creation outside the root.
 * A dangling symlink is spliced into the path and the walk restarts, as the
 * kernel would resolve it. Returns the fd, or -1 with errno.
 */
static int open_create(int base, const char *path, uint64_t resolve, int make)
{
	static char cur[PATH_MAX], prefix[PATH_MAX], next[PATH_MAX], link[PATH_MAX];
	int fd = open_path(base, *path ? path : ".", resolve);

	if (fd >= 0 || errno != ENOENT || make == MAKE_NONE)
		return fd;
	if (strlen(path) >= sizeof cur)
		return errno = ENAMETOOLONG, -1;
	strcpy(cur, path);

	for (int hops = 0; hops < 40; hops++) {
		int abs = cur[0] == '/';
		size_t plen = 0;
		int parent = open_path(base, abs ? "/" : ".", resolve);
		const char *c = cur;

		if (parent < 0)
			return -1;
		prefix[0] = 0;
		if (!abs) {
			strcpy(prefix, ".");
			plen = 1;
		}
		for (;;) {
			while (*c == '/')
				c++;
			if (!*c)
				return parent;
			const char *e = strchrnul(c, '/');
			size_t clen = (size_t)(e - c);
			size_t before = plen;
			if (plen + 1 + clen >= sizeof prefix) {
				close(parent);
				return errno = ENAMETOOLONG, -1;
			}
			prefix[plen++] = '/';
			memcpy(prefix + plen, c, clen);
			plen += clen;
			prefix[plen] = 0;

			const char *name = prefix + before + 1;
			int dangling = 0;
			fd = open_path(base, prefix, resolve);
			if (fd < 0 && errno == ENOENT) {
				int last = 1;
				for (const char *t = e; *t; t++)
					if (*t != '/') {
						last = 0;
						break;
					}
				int r;
				if (last && make == MAKE_FILE) {
					r = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
					if (r >= 0)
						close(r);
				} else {
					r = mkdirat(parent, name, 0755);
				}
				/* Made here, or since the lookup by another container sharing this
				 * rootfs: either way it is looked up again and taken as found. */
				if (r >= 0 || errno == EEXIST) {
					fd = open_path(base, prefix, resolve);
					/* Present but unresolvable: a dangling symlink. */
					dangling = fd < 0 && r < 0 && errno == ENOENT;
				}
			}
			if (fd >= 0) {
				close(parent);
				parent = fd;
				c = e;
				continue;
			}
			if (!dangling) {
				int err = errno;
				close(parent);
				return errno = err, -1;
			}
			ssize_t ln = readlinkat(parent, name, link, sizeof link - 1);
			int err = errno;
			close(parent);
			if (ln < 0)
				return errno = (err == EINVAL ? EEXIST : err), -1;
			if (resolve & RESOLVE_NO_SYMLINKS)
				return errno = ELOOP, -1;
			link[ln] = 0;
			size_t nn = 0;
			if (link[0] != '/') {
				memcpy(next, prefix, before);
				nn = before;
				next[nn++] = '/';
			}
			size_t need = nn + (size_t)ln + strlen(e) + 1;
			if (need > sizeof next)
				return errno = ENAMETOOLONG, -1;
			memcpy(next + nn, link, (size_t)ln);
			nn += (size_t)ln;
			strcpy(next + nn, e);
			strcpy(cur, next);
			goto restart;
		}
restart:;
	}
	return errno = ELOOP, -1;
}

/* Splits path into a parent opened in the root (created if missing) and a name. */
static int open_parent(const char *path, char *name, size_t namesz)
{
	static char dir[PATH_MAX];
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n >= sizeof dir)
		return errno = ENAMETOOLONG, -1;
	memcpy(dir, path, n);
	dir[n] = 0;
	char *slash = strrchr(dir, '/');
	const char *base = slash ? slash + 1 : dir;
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..") || strlen(base) >= namesz)
		return errno = EINVAL, -1;
	strcpy(name, base);
	if (slash)
		slash[1] = 0;
	else
		strcpy(dir, ".");
	return open_create(root(), dir, RESOLVE_IN_ROOT, MAKE_DIR);
}

/* MS_* bits a bind remount must keep: a user namespace cannot clear them. */
static unsigned long locked_flags(int fd, const char *path, int all)
{
	struct statfs sf;
	unsigned long f = 0;
	if ((fd >= 0 ? fstatfs(fd, &sf) : statfs(path, &sf)) < 0)
		return 0;
	if (sf.f_flags & ST_NOSUID)
		f |= MS_NOSUID;
	if (sf.f_flags & ST_NODEV)
		f |= MS_NODEV;
	if (sf.f_flags & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (all) {
		if (sf.f_flags & ST_NOATIME)
			f |= MS_NOATIME;
		if (sf.f_flags & ST_NODIRATIME)
			f |= MS_NODIRATIME;
		if (sf.f_flags & ST_RELATIME)
			f |= MS_RELATIME;
	}
	return f;
}

/* ------------------------------------------------------------------ */
/* Phase P                                                             */
/* ------------------------------------------------------------------ */

static void op_rlimit(struct field *f)
{
	struct rlimit rl = { .rlim_cur = f[1].u, .rlim_max = f[2].u };
	if (setrlimit((int)f[0].u, &rl) < 0)
		die(errno, "setrlimit ", U(f[0].u));
}

static void op_setns(struct field *f)
{
	int fd = open(f[1].s, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(errno, "open ", f[1].s);
	if (setns(fd, (int)f[0].u) < 0)
		die(errno, "setns ", f[1].s);
	close(fd);
}

static void op_timens(struct field *f)
{
	if (unshare(CLONE_NEWTIME) < 0)
		die(errno, "unshare time namespace");
	if (f[0].n && write_file("/proc/self/timens_offsets", f[0].s, f[0].n) < 0)
		die(errno, "write /proc/self/timens_offsets");
}

/* A v2 cgroup that CLONE gives birth into (CLONE_INTO_CGROUP), from CGROUP_JOIN. */
static int clone_cgfd = -1;
/*
 * v1 `tasks` files P goes back to once C exists (a P that stays to wait), from
 * CGROUP_JOIN. Opened there: by CLONE, P may have joined another mount namespace.
 */
static int *leave_fds;
static size_t leave_n;

/*
 * Joins the container's cgroups without the cost of moving a process: a thread moving
 * itself ("0" into a v1 `tasks` file) skips the kernel's threadgroup lock, whose first
 * writer after a quiet spell waits out an RCU grace period (10-30 ms). C inherits them
 * at clone. v2 has no such file; C is cloned into the v2 directory instead.
 */
static void op_cgroup_join(struct field *f)
{
	char **tasks = mkstrv(&f[0], NULL);
	for (char **t = tasks; *t; t++) {
		int fd = open(*t, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			die(errno, "join cgroup ", *t);
		close(fd);
	}
	free(tasks);
	char **leave = mkstrv(&f[2], NULL);
	leave_n = (size_t)f[2].u;
	leave_fds = calloc(leave_n + 1, sizeof *leave_fds);
	if (!leave_fds)
		die(ENOMEM, "leave cgroups");
	for (size_t i = 0; i < leave_n; i++)
		if ((leave_fds[i] = open(leave[i], O_WRONLY | O_CLOEXEC)) < 0)
			die(errno, "open cgroup ", leave[i]);
	free(leave);
	if (f[1].n > 1) {
		clone_cgfd = open(f[1].s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (clone_cgfd < 0)
			die(errno, "open cgroup ", f[1].s);
	}
}

static void op_bind_sources(struct field *f)
{
	free(src_paths);
	src_paths = mkstrv(&f[0], NULL);
	src_n = (size_t)f[0].u;
}

/*
 * P, still the host's root: opens each bind source O_PATH in C's new mount
 * namespace, where the mounts must come from, and hands the fds to C over sock.
 * Paths a new user namespace's root could not reach are then bound all the same.
 */
static void send_sources(pid_t pid, int sock)
{
	char nspath[48];
	int self = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	strcpy(nspath, "/proc/");
	strcat(nspath, U(pid));
	strcat(nspath, "/ns/mnt");
	int theirs = open(nspath, O_RDONLY | O_CLOEXEC);
	if (self < 0 || theirs < 0 || setns(theirs, CLONE_NEWNS) < 0)
		die(errno, "enter the container's mount namespace");
	int *fds = calloc(src_n, sizeof *fds);
	if (!fds)
		die(ENOMEM, "open bind sources");
	for (size_t i = 0; i < src_n; i++)
		if ((fds[i] = open(src_paths[i], O_PATH | O_CLOEXEC)) < 0)
			die(errno, "open bind source ", src_paths[i]);
	if (setns(self, CLONE_NEWNS) < 0)
		die(errno, "return to the runtime's mount namespace");
	close(self);
	close(theirs);
	for (size_t i = 0; i < src_n; i++) {
		char b = 0;
		struct iovec iov = { .iov_base = &b, .iov_len = 1 };
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} c;
		memset(&c, 0, sizeof c);
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf };
		struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &fds[i], sizeof(int));
		while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
			if (errno != EINTR)
				die(errno, "send bind source ", src_paths[i]);
		close(fds[i]);
	}
	free(fds);
}

/* C: the fds P opened in send_sources, one per datagram, in order. */
static void recv_sources(int sock)
{
	src_fds = calloc(src_n, sizeof *src_fds);
	if (!src_fds)
		die(ENOMEM, "receive bind sources");
	for (size_t i = 0; i < src_n; i++) {
		char b;
		struct iovec iov = { .iov_base = &b, .iov_len = 1 };
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} c;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf };
		ssize_t r;
		while ((r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
			;
		struct cmsghdr *h = r > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
		if (!h || h->cmsg_type != SCM_RIGHTS)
			_exit(1); /* P failed and says why */
		memcpy(&src_fds[i], CMSG_DATA(h), sizeof(int));
	}
	close(sock);
}

/* struct clone_args of <linux/sched.h>, which clashes with the libc's <sched.h> */
struct dx_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define DX_CLONE_INTO_CGROUP 0x200000000ULL

static long clone_child(uint64_t flags)
{
	if (clone_cgfd < 0)
		return syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
	struct dx_clone_args a = { .flags = flags | DX_CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)clone_cgfd };
	long pid = syscall(435 /* clone3 */, &a, sizeof a);
	int err = errno;
	close(clone_cgfd);
	clone_cgfd = -1;
	errno = err;
	return pid;
}

static void op_clone(struct field *f)
{
	int sp[2] = { -1, -1 };
	if (src_n && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		die(errno, "socketpair for bind sources");
	long pid = clone_child(f[0].u);
	if (pid < 0)
		die(errno, "clone");
	if (pid == 0) {
		for (size_t i = 0; i < leave_n; i++)
			close(leave_fds[i]);
		if (src_n) {
			close(sp[0]);
			recv_sources(sp[1]);
		}
		/* runc's words for the same moment, which tools and runc's tests look for */
		dlog("child process in init(): the container's init runs the rest of the plan");
		return;
	}
	if (src_n) {
		close(sp[1]);
		/* die() in P leaves C blocked on sp: it reads EOF once P is gone */
		send_sources((pid_t)pid, sp[0]);
		close(sp[0]);
	}
	dlog("cloned the container's init: pid ", U(pid));

	/* Back out before the runtime hears of C: it applies the limits (pids.max) next. */
	for (size_t i = 0; i < leave_n; i++) {
		if (write(leave_fds[i], "0", 1) != 1) {
			int err = errno;
			kill((pid_t)pid, SIGKILL);
			die(err, "leave cgroup");
		}
		close(leave_fds[i]);
	}

	uint32_t p32 = (uint32_t)pid;
	if (send_msg(MSG_PID, &p32, sizeof p32, -1) < 0) {
		int err = errno;
		kill((pid_t)pid, SIGKILL);
		die(err, "send pid");
	}
	if (f[1].u == 0)
		_exit(0);

	/* Only C's copy of ctl may remain, so that its execve reads as EOF. */
	close(ctl);
	ctl = -1;
	int st;
	while (waitpid((pid_t)pid, &st, 0) < 0)
		if (errno != EINTR)
			die(errno, "wait for ", U(pid));
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* ------------------------------------------------------------------ */
/* Phase C: process setup                                              */
/* ------------------------------------------------------------------ */

static void op_wait_go(struct field *f)
{
	(void)f;
	go_state = (char *)recv_frame(MSG_GO, 16u << 20, &go_len, "wait for go");
	dlog("go from the runtime, ", U(go_len), " bytes of state");
}

static void op_setresid(struct field *f)
{
	if (syscall(SYS_setresgid, (gid_t)f[1].u, (gid_t)f[1].u, (gid_t)f[1].u) < 0)
		die(errno, "setresgid ", U(f[1].u));
	if (syscall(SYS_setresuid, (uid_t)f[0].u, (uid_t)f[0].u, (uid_t)f[0].u) < 0)
		die(errno, "setresuid ", U(f[0].u));
}

static void op_unshare(struct field *f)
{
	if (unshare((int)f[0].u) < 0)
		die(errno, "unshare ", U(f[0].u));
}

/* What `ip link set NAME up` does, with the ioctl that needs no netlink code. */
static void op_link_up(struct field *f)
{
	const char *name = f[0].s;
	struct ifreq ifr;

	if (f[0].n == 0 || f[0].n >= IFNAMSIZ)
		die(EINVAL, "bring up interface ", name);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die(errno, "bring up interface ", name, ": socket");
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, name, f[0].n);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die(errno, "bring up interface ", name, ": get flags");
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			die(errno, "bring up interface ", name);
	}
	close(s);
}

static void op_setsid(struct field *f)
{
	(void)f;
	if (setsid() < 0)
		die(errno, "setsid");
}

static void op_hostname(struct field *f)
{
	if (sethostname(f[0].s, f[0].n) < 0)
		die(errno, "sethostname ", f[0].s);
}

static void op_domainname(struct field *f)
{
	if (setdomainname(f[0].s, f[0].n) < 0)
		die(errno, "setdomainname ", f[0].s);
}

static void op_keyring(struct field *f)
{
	/* KEYCTL_JOIN_SESSION_KEYRING: keys the container adds stay out of the caller's
	 * session keyring. Kernels without keys are fine. */
	if (syscall(SYS_keyctl, 1, f[0].s) < 0 && errno != ENOSYS)
		die(errno, "join session keyring ", f[0].s);
}

/* ------------------------------------------------------------------ */
/* Phase C: filesystem                                                 */
/* ------------------------------------------------------------------ */

/* The remount that gives a fresh bind its flags, on the target looked up again: the fd
 * opened before the bind still names the directory underneath. */
static void remount_bound(uint64_t how, const char *tgt, unsigned long keep)
{
	char buf[40];
	const char *path = tgt;
	int fd = -1;

	if (how & HOW_IN_ROOT) {
		fd = open_create(root(), tgt, RESOLVE_IN_ROOT, MAKE_NONE);
		if (fd < 0)
			die(errno, "remount ", tgt, ": open target");
		if (!pivoted)
			path = fd_path(fd, buf);
	}
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | keep | locked_flags(fd, path, 0), NULL) < 0)
		die(errno, "remount /sys bound to ", tgt);
	if (fd >= 0)
		close(fd);
}

static void op_mount(struct field *f)
{
	unsigned long flags = (unsigned long)f[0].u;
	uint64_t how = f[1].u;
	const char *src = f[2].s, *tgt = f[3].s, *fstype = f[4].s, *data = f[5].s;
	const char *what = *src ? src : *fstype ? fstype : "none";
	const char *mtgt = tgt, *msrc = *src ? src : NULL;
	char tbuf[40], sbuf[40];
	int tfd = -1, sfd = -1;

	if (how & (HOW_IN_ROOT | HOW_MKDIR | HOW_MKFILE | HOW_NO_SYMLINK)) {
		uint64_t res = (how & HOW_NO_SYMLINK) ? RESOLVE_NO_SYMLINKS : 0;
		int base = AT_FDCWD;
		int make = (how & HOW_MKFILE) ? MAKE_FILE : (how & HOW_MKDIR) ? MAKE_DIR : MAKE_NONE;
		if (how & HOW_IN_ROOT) {
			res |= RESOLVE_IN_ROOT;
			base = root();
		}
		tfd = open_create(base, tgt, res, make);
		/* proc and sysfs through a symlink, or onto a file: runc's words for it, with
		 * the reason where the kernel gave one */
		struct stat tst;
		int terr = tfd < 0 ? errno : 0;
		if ((how & HOW_NO_SYMLINK) && (tfd < 0 ? terr == ELOOP || terr == ENOTDIR || terr == EEXIST : fstat(tfd, &tst) == 0 && !S_ISDIR(tst.st_mode)))
			die(terr, "mount ", what, " to ", tgt, ": filesystem \"", fstype, "\" must be mounted on ordinary directory");
		if (tfd < 0)
			die(errno, "mount ", what, " to ", tgt, ": open target");
		/* After pivot "/" is the container's root, so the plain path resolves
		 * the same way and does not depend on the container having /proc. */
		if ((how & HOW_IN_ROOT) && !pivoted)
			mtgt = fd_path(tfd, tbuf);
	}
	if (how & HOW_SOURCE_FD) {
		size_t slot = HOW_SLOT(how);
		if (slot >= src_n || !src_fds || src_fds[slot] < 0)
			die(EBADF, "mount ", what, " to ", tgt, ": no bind source in slot ", U(slot));
		sfd = src_fds[slot];
		src_fds[slot] = -1;
		msrc = fd_path(sfd, sbuf);
	} else if ((how & HOW_SOURCE_IN_ROOT) && *src) {
		sfd = open_path(root(), src, RESOLVE_IN_ROOT);
		if (sfd < 0)
			die(errno, "mount ", what, " to ", tgt, ": open source");
		if (!pivoted)
			msrc = fd_path(sfd, sbuf);
	}
	if ((how & HOW_KEEP_LOCKED) && (flags & MS_REMOUNT))
		flags |= locked_flags(tfd, mtgt, 0);
	if (mount(msrc, mtgt, *fstype ? fstype : NULL, flags, *data ? data : NULL) < 0) {
		if (errno != EPERM || !(how & HOW_SYS_BIND_ON_EPERM))
			die(errno, "mount ", what, " to ", tgt);
		/* A user namespace that does not own the network namespace may not mount
		 * sysfs: the host's /sys is bound instead, with the flags asked for. */
		if (mount("/sys", mtgt, NULL, MS_BIND | MS_REC, NULL) < 0)
			die(errno, "bind /sys to ", tgt, " (a sysfs mount was refused)");
		unsigned long keep = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
		if (keep)
			remount_bound(how, tgt, keep);
	}
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
}

static void op_rootfs(struct field *f)
{
	int fd = open(f[0].s, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die(errno, "open rootfs ", f[0].s);
	if (rootfd >= 0)
		close(rootfd);
	rootfd = fd;
	rootpath = f[0].s;
}

static void op_mknod(struct field *f)
{
	mode_t mode = (mode_t)f[0].u;
	const char *path = f[4].s;
	char name[NAME_MAX + 1];
	int dfd = open_parent(path, name, sizeof name);

	if (dfd < 0)
		die(errno, "mknod ", path, ": open parent");
	if (mknodat(dfd, name, mode, (dev_t)f[1].u) < 0) {
		int err = errno;
		struct stat st;
		if (err == EEXIST && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (st.st_mode & S_IFMT) == (mode & S_IFMT)) {
			close(dfd);
			return;
		}
		die(err, "mknod ", path);
	}
	if (fchownat(dfd, name, (uid_t)f[2].u, (gid_t)f[3].u, AT_SYMLINK_NOFOLLOW) < 0)
		die(errno, "chown ", path);
	if (fchmodat(dfd, name, mode & 07777, 0) < 0)
		die(errno, "chmod ", path);
	close(dfd);
}

static void op_symlink(struct field *f)
{
	char name[NAME_MAX + 1];
	int dfd = open_parent(f[1].s, name, sizeof name);
	if (dfd < 0)
		die(errno, "symlink ", f[1].s, ": open parent");
	if (symlinkat(f[0].s, dfd, name) < 0 && errno != EEXIST)
		die(errno, "symlink ", f[0].s, " to ", f[1].s);
	close(dfd);
}

/*
 * pivot_root refuses when the new root, its parent mount or the current
 * root is shared (EINVAL). Makes those three private, non-recursively; the
 * plan reapplies the root's propagation after the pivot. Runs with the new
 * root as cwd.
 */
static int unshare_pivot_mounts(void)
{
	char p[PATH_MAX] = "..";
	struct stat rst, st;

	if (mount(NULL, ".", NULL, MS_PRIVATE, NULL) < 0 || mount(NULL, "/", NULL, MS_PRIVATE, NULL) < 0)
		return -1;
	if (stat("/", &rst) < 0)
		return -1;
	/* The parent mount is the first ancestor directory that is a mount root. */
	for (;;) {
		if (mount(NULL, p, NULL, MS_PRIVATE, NULL) == 0)
			return 0;
		if (errno != EINVAL || stat(p, &st) < 0)
			return -1;
		if (st.st_dev == rst.st_dev && st.st_ino == rst.st_ino)
			return errno = EINVAL, -1;
		if (strlen(p) + 4 > sizeof p)
			return errno = ENAMETOOLONG, -1;
		strcat(p, "/..");
	}
}

static void op_pivot(struct field *f)
{
	int newroot = root();

	if (fchdir(newroot) < 0)
		die(errno, "chdir ", rootpath);
	if (f[0].u == 2) {
		/* The mount namespace is the host's: moving or pivoting would change its root. */
		if (chroot(".") < 0)
			die(errno, "chroot ", rootpath);
	} else if (f[0].u) {
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
			die(errno, "move ", rootpath, " to /");
		if (chroot(".") < 0)
			die(errno, "chroot ", rootpath);
	} else {
		int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (oldroot < 0)
			die(errno, "open /");
		if (syscall(SYS_pivot_root, ".", ".") < 0) {
			int err = errno;
			if (err != EINVAL || unshare_pivot_mounts() < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
				die(err, "pivot_root ", rootpath);
		}
		if (fchdir(oldroot) < 0)
			die(errno, "chdir old root");
		if (mount("", ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
			die(errno, "make old root rslave");
		if (umount2(".", MNT_DETACH) < 0)
			die(errno, "unmount old root");
		close(oldroot);
	}
	if (chdir("/") < 0)
		die(errno, "chdir /");
	pivoted = 1;
	close(rootfd);
	rootfd = -1;
	root();
}

static void op_mask(struct field *f)
{
	const char *path = f[0].s;
	char buf[40];
	struct stat st;
	int fd = open_path(root(), path, RESOLVE_IN_ROOT);

	if (fd < 0) {
		if (errno == ENOENT)
			return;
		die(errno, "mask ", path);
	}
	if (fstat(fd, &st) < 0)
		die(errno, "mask ", path);
	const char *t = pivoted ? path : fd_path(fd, buf);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", t, "tmpfs", MS_RDONLY, NULL) < 0)
			die(errno, "mask ", path, " with tmpfs");
	} else if (mount("/dev/null", t, NULL, MS_BIND, NULL) < 0) {
		die(errno, "mask ", path, " with /dev/null");
	}
	close(fd);
}

static void op_readonly(struct field *f)
{
	const char *path = f[0].s;
	char buf[40];
	int fd = open_path(root(), path, RESOLVE_IN_ROOT);

	if (fd < 0) {
		if (errno == ENOENT)
			return;
		die(errno, "readonly ", path);
	}
	const char *t = pivoted ? path : fd_path(fd, buf);
	if (mount(t, t, NULL, MS_BIND | MS_REC, NULL) < 0)
		die(errno, "bind ", path, " onto itself");
	close(fd);
	/* Reopen: the fd from before still names the covered directory. */
	fd = open_path(root(), path, RESOLVE_IN_ROOT);
	if (fd < 0)
		die(errno, "readonly ", path);
	t = pivoted ? path : fd_path(fd, buf);
	unsigned long keep = locked_flags(fd, t, 1);
	if (mount(NULL, t, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
		die(errno, "remount ", path, " read-only");
	close(fd);
}

static void op_root_ro(struct field *f)
{
	(void)f;
	unsigned long keep = locked_flags(-1, "/", 1);
	if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
		die(errno, "remount / read-only");
}

/* mount_setattr(AT_RECURSIVE): the "rro"-style options, for the whole tree at target. */
static void op_mount_attr(struct field *f)
{
	struct {
		uint64_t attr_set, attr_clr, propagation, userns_fd;
	} attr = { f[0].u, f[1].u, 0, 0 };
	uint64_t how = f[2].u;
	const char *tgt = f[3].s;
	int fd = open_create((how & HOW_IN_ROOT) ? root() : AT_FDCWD, tgt, (how & HOW_IN_ROOT) ? RESOLVE_IN_ROOT : 0, MAKE_NONE);
	if (fd < 0)
		die(errno, "set recursive mount attributes on ", tgt, ": open target");
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
		die(errno, "set recursive mount attributes on ", tgt);
	close(fd);
}

static void op_mkdir(struct field *f)
{
	int fd = open_create(root(), f[0].s, RESOLVE_IN_ROOT, MAKE_DIR);
	if (fd < 0)
		die(errno, "mkdir ", f[0].s);
	close(fd);
}

/*
 * A host procfs or sysfs left reachable in the mount namespace would let a nested
 * user namespace mount a fresh one: detach it, or cover it where it is locked.
 */
static void op_hide_host(struct field *f)
{
	const char *p = f[0].s;
	if (mount(NULL, p, NULL, MS_SLAVE | MS_REC, NULL) < 0) {
		if (errno == ENOENT)
			return; /* went with a parent already detached */
		die(errno, "make ", p, " rslave");
	}
	if (umount2(p, MNT_DETACH) == 0)
		return;
	if (errno != EINVAL && errno != EPERM)
		die(errno, "unmount ", p);
	if (mount("tmpfs", p, "tmpfs", 0, NULL) < 0)
		die(errno, "cover ", p, " with tmpfs");
}

/*
 * Stdio the runtime's caller pointed at its /dev/null is pointed at the container's:
 * a checkpoint cannot name a file on a mount the container does not have.
 */
static void op_devnull_stdio(struct field *f)
{
	struct stat null, st;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	(void)f;
	if (fd < 0)
		die(errno, "open /dev/null");
	if (fstat(fd, &null) < 0)
		die(errno, "stat /dev/null");
	for (int i = 0; i < 3; i++) {
		if (fstat(i, &st) < 0) {
			if (errno == EBADF)
				continue;
			die(errno, "stat stdio");
		}
		if (S_ISCHR(st.st_mode) && st.st_rdev == null.st_rdev && dup2(fd, i) < 0)
			die(errno, "reopen /dev/null as stdio");
	}
	close(fd);
}

static void op_sysctl(struct field *f)
{
	if (write_file(f[0].s, f[1].s, f[1].n) < 0)
		die(errno, "write ", f[1].s, " to ", f[0].s);
}

/* ------------------------------------------------------------------ */
/* Phase C: hooks                                                      */
/* ------------------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct tail {
	char b[HOOK_TAIL];
	size_t total;
};

static void tail_read(struct tail *t, int *fd)
{
	char buf[4096];
	for (;;) {
		ssize_t r = read(*fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return; /* EAGAIN */
		if (r == 0) {
			close(*fd);
			*fd = -1;
			return;
		}
		for (ssize_t i = 0; i < r; i++)
			t->b[t->total++ % HOOK_TAIL] = buf[i];
	}
}

static const char *tail_str(struct tail *t, char *out)
{
	size_t n = t->total < HOOK_TAIL ? t->total : HOOK_TAIL;
	size_t start = t->total - n;
	for (size_t i = 0; i < n; i++)
		out[i] = t->b[(start + i) % HOOK_TAIL];
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ' || out[n - 1] == 0))
		n--;
	out[n] = 0;
	for (size_t i = 0; i < n; i++)
		if (out[i] == 0)
			out[i] = ' ';
	return out;
}

static int fd_above_stdio(int fd)
{
	return fd > 2 ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

static _Noreturn void hook_child(const char *path, char **argv, char **envp, const char *cwd, int in, int out)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigaction(SIGPIPE, &dfl, NULL);
	in = fd_above_stdio(in);
	out = fd_above_stdio(out);
	if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	struct sbuf e = { .n = 0 };
	if (*cwd && chdir(cwd) < 0) {
		sb_add(&e, "chdir ");
		sb_add(&e, cwd);
	} else {
		execve(path, argv, envp);
		sb_add(&e, "exec ");
		sb_add(&e, path);
	}
	sb_add(&e, ": ");
	sb_add(&e, errstr(errno));
	write_all(2, e.b, e.n);
	_exit(127);
}

/* Go's names for the signals a hook dies of, which runc prints. */
static const char *signame(int sig)
{
	static const char *const names[] = {
		[SIGHUP] = "hangup", [SIGINT] = "interrupt", [SIGQUIT] = "quit",
		[SIGILL] = "illegal instruction", [SIGTRAP] = "trace/breakpoint trap",
		[SIGABRT] = "aborted", [SIGBUS] = "bus error", [SIGFPE] = "floating point exception",
		[SIGKILL] = "killed", [SIGUSR1] = "user defined signal 1", [SIGSEGV] = "segmentation fault",
		[SIGUSR2] = "user defined signal 2", [SIGPIPE] = "broken pipe", [SIGALRM] = "alarm clock",
		[SIGTERM] = "terminated", [SIGXCPU] = "CPU time limit exceeded",
		[SIGXFSZ] = "file size limit exceeded", [SIGSYS] = "bad system call",
	};
	static char buf[32];
	if (sig > 0 && (size_t)sig < sizeof names / sizeof names[0] && names[sig])
		return names[sig];
	struct sbuf b = { .n = 0 };
	sb_add(&b, "signal ");
	sb_add(&b, U(sig));
	memcpy(buf, b.b, b.n < sizeof buf ? b.n + 1 : sizeof buf);
	buf[sizeof buf - 1] = 0;
	return buf;
}

static void op_hook(struct field *f)
{
	uint64_t timeout = f[0].u;
	const char *path = f[1].s, *cwd = f[4].s, *label = f[5].s;
	char **argv = mkstrv(&f[2], path), **envp = mkstrv(&f[3], NULL);
	int in[2], out[2];
	struct sigaction ign = { .sa_handler = SIG_IGN }, oldpipe;
	static struct tail t;
	static char tailbuf[HOOK_TAIL + 1];

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		die(errno, "hook ", path, ": pipe");
	/* A hook that never reads its stdin must not kill us with SIGPIPE. */
	sigaction(SIGPIPE, &ign, &oldpipe);
	pid_t pid = fork();
	if (pid < 0)
		die(errno, "hook ", path, ": fork");
	if (pid == 0)
		hook_child(path, argv, envp, cwd, in[0], out[1]);
	close(in[0]);
	close(out[1]);
	free(argv);
	free(envp);

	int wfd = in[1], rfd = out[0];
	size_t woff = 0;
	fcntl(wfd, F_SETFL, O_NONBLOCK);
	fcntl(rfd, F_SETFL, O_NONBLOCK);
	if (go_len == 0) {
		close(wfd);
		wfd = -1;
	}
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int64_t start = now_ms();
	int64_t deadline = timeout > (uint64_t)(INT64_MAX - start) / 1000 ? INT64_MAX : start + (int64_t)timeout * 1000;
	int status = 0, timed_out = 0;
	t.total = 0;

	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			if (rfd >= 0)
				tail_read(&t, &rfd);
			break;
		}
		int wait_ms = -1;
		if (timeout) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				kill(pid, SIGKILL);
				while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
					;
				timed_out = 1;
				if (rfd >= 0)
					tail_read(&t, &rfd);
				break;
			}
			wait_ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		if (pidfd < 0 && (wait_ms < 0 || wait_ms > 50))
			wait_ms = 50;
		struct pollfd pf[3];
		int n = 0, ir = -1, iw = -1;
		if (rfd >= 0) {
			pf[n] = (struct pollfd){ .fd = rfd, .events = POLLIN };
			ir = n++;
		}
		if (wfd >= 0) {
			pf[n] = (struct pollfd){ .fd = wfd, .events = POLLOUT };
			iw = n++;
		}
		if (pidfd >= 0)
			pf[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		if (poll(pf, (nfds_t)n, wait_ms) < 0 && errno != EINTR)
			die(errno, "hook ", path, ": poll");
		if (ir >= 0 && pf[ir].revents)
			tail_read(&t, &rfd);
		if (iw >= 0 && pf[iw].revents) {
			ssize_t r = write(wfd, go_state + woff, go_len - woff);
			if (r > 0)
				woff += (size_t)r;
			if ((r < 0 && errno != EAGAIN && errno != EINTR) || woff == go_len) {
				close(wfd);
				wfd = -1;
			}
		}
	}
	sigaction(SIGPIPE, &oldpipe, NULL);
	if (wfd >= 0)
		close(wfd);
	if (rfd >= 0)
		close(rfd);
	if (pidfd >= 0)
		close(pidfd);

	tail_str(&t, tailbuf);
	const char *sep = *tailbuf ? ", output: " : "";
	if (timed_out)
		die(0, "error running ", label, ": timed out after ", U(timeout), "s", sep, tailbuf);
	if (WIFSIGNALED(status))
		die(0, "error running ", label, ": signal: ", signame(WTERMSIG(status)), sep, tailbuf);
	if (WEXITSTATUS(status))
		die(0, "error running ", label, ": exit status ", U(WEXITSTATUS(status)), sep, tailbuf);
}

/* ------------------------------------------------------------------ */
/* Phase C: created / start handshake, terminal                        */
/* ------------------------------------------------------------------ */

static void op_fifo_make(struct field *f)
{
	/* umask is 0 here: the mode is exact. */
	if (mknod(f[3].s, S_IFIFO | (mode_t)(f[0].u & 07777), 0) < 0)
		die(errno, "make exec fifo ", f[3].s);
	if ((f[1].u || f[2].u) && chown(f[3].s, (uid_t)f[1].u, (gid_t)f[2].u) < 0)
		die(errno, "chown exec fifo ", f[3].s);
}

static void op_fifo_open(struct field *f)
{
	fifofd = open(f[0].s, O_PATH | O_CLOEXEC);
	if (fifofd < 0)
		die(errno, "open exec fifo ", f[0].s);
	/* Kept across pivot: the container may have no /proc of its own. */
	procfd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		die(errno, "open /proc/self/fd");
}

static void op_ready(struct field *f)
{
	(void)f;
	if (send_msg(MSG_READY, NULL, 0, -1) < 0)
		die(errno, "send ready");
}

static void op_fifo_wait(struct field *f)
{
	(void)f;
	int fd;
	if (fifofd < 0 || procfd < 0)
		die(EBADF, "open exec fifo: not opened");
	do
		fd = openat(procfd, U(fifofd), O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		die(errno, "open exec fifo for writing");
	startfd = fd;
	dlog("start opened the exec fifo");
	/* Tells start the writer is here: its reader is non-blocking, and an empty read
	 * is EOF only after this byte. A start that went away must not kill us. */
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	sigaction(SIGPIPE, &ign, &old);
	write_all(fd, "W", 1);
	sigaction(SIGPIPE, &old, NULL);
	close(fifofd);
	close(procfd);
	fifofd = procfd = -1;
}

#define CONSOLE_RAW_NL 1

static void op_console(struct field *f)
{
	int zero = 0;
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		die(errno, "open /dev/ptmx");
	if (ioctl(master, TIOCSPTLCK, &zero) < 0)
		die(errno, "unlock pty");
	/* Above stdio, so that dup2 onto 0..2 always yields fds without CLOEXEC. */
	int peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (peer >= 0)
		peer = fd_above_stdio(peer);
	if (peer < 0)
		die(errno, "open pty peer");
	if (f[0].u || f[1].u) {
		struct winsize ws = { .ws_row = (unsigned short)f[0].u, .ws_col = (unsigned short)f[1].u };
		if (ioctl(master, TIOCSWINSZ, &ws) < 0)
			die(errno, "set console size");
	}
	/* The process's uid owns its terminal; the gid stays devpts's. EINVAL (unmapped
	 * uid), EPERM (owner unmapped) and EROFS leave it as it is, as runc does. */
	struct stat pst;
	if (fstat(peer, &pst) < 0)
		die(errno, "stat pty peer");
	if (pst.st_uid != (uid_t)f[2].u && fchown(peer, (uid_t)f[2].u, (gid_t)-1) < 0 &&
	    errno != EINVAL && errno != EPERM && errno != EROFS)
		die(errno, "chown pty peer to ", U(f[2].u));
	if (f[3].u & CONSOLE_RAW_NL) {
		struct termios t;
		if (tcgetattr(master, &t) < 0)
			die(errno, "get console attributes");
		t.c_oflag &= ~(tcflag_t)ONLCR;
		if (tcsetattr(master, TCSANOW, &t) < 0)
			die(errno, "set console attributes");
	}
	/* The spec's /dev/console is this pty: the plan made an empty file for it when
	 * /dev is the container's own; bind the pts node over it. */
	struct stat cst;
	if (stat("/dev/console", &cst) == 0 && S_ISREG(cst.st_mode)) {
		unsigned int ptn;
		struct sbuf sb;
		sb.n = 0;
		if (ioctl(master, TIOCGPTN, &ptn) < 0)
			die(errno, "get pty number");
		sb_add(&sb, "/dev/pts/");
		sb_add(&sb, U(ptn));
		if (mount(sb.b, "/dev/console", NULL, MS_BIND, NULL) < 0)
			die(errno, "mount ", sb.b, " to /dev/console");
	}
	if (send_msg(MSG_PTY, NULL, 0, master) < 0)
		die(errno, "send pty master");
	close(master);
	for (int i = 0; i < 3; i++)
		if (dup2(peer, i) < 0)
			die(errno, "dup console to fd ", U(i));
	close(peer);
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		die(errno, "set controlling terminal");
}

static void op_umask(struct field *f)
{
	umask((mode_t)f[0].u);
}

static void op_chdir(struct field *f)
{
	static char cwd[PATH_MAX];
	if (chdir(f[0].s) < 0)
		die(errno, "chdir ", f[0].s);
	/*
	 * A cwd such as /proc/self/fd/N can land on a directory our own fds still
	 * hold from before pivot_root (CVE-2024-21626). The kernel's getcwd tells
	 * by not starting with "/" (or failing) when the cwd is outside our root.
	 */
	if (syscall(SYS_getcwd, cwd, sizeof cwd) < 0 || cwd[0] != '/')
		die(0, "chdir ", f[0].s, ": working directory is outside the container root");
}

/* 0 if path is a regular file we may execute, else the errno. */
static int check_exec(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno;
	if (!S_ISREG(st.st_mode))
		return EACCES;
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0)
		return errno;
	return 0;
}

static void op_lookup(struct field *f)
{
	const char *name = f[0].s, *pv = f[1].s;
	int denied = 0;

	if (strchr(name, '/')) {
		int e = check_exec(name);
		if (e)
			die(e, "exec: \"", name, "\"");
		exec_path = name;
		return;
	}
	if (*name) {
		for (const char *p = pv;; p++) {
			const char *e = strchrnul(p, ':');
			size_t dl = (size_t)(e - p);
			const char *dir = dl ? p : ".";
			if (!dl)
				dl = 1;
			if (dl + 1 + strlen(name) < sizeof lookup_buf) {
				memcpy(lookup_buf, dir, dl);
				lookup_buf[dl] = '/';
				strcpy(lookup_buf + dl + 1, name);
				struct stat st;
				int r = check_exec(lookup_buf);
				if (r == 0) {
					exec_path = lookup_buf;
					return;
				}
				/* execvp's rule: a file we may not run beats "not found". */
				if (r == EACCES && stat(lookup_buf, &st) == 0 && S_ISREG(st.st_mode))
					denied = 1;
			}
			p = e;
			if (!*p)
				break;
		}
	}
	if (denied)
		die(EACCES, "exec: \"", name, "\"");
	die(ENOENT, "exec: \"", name, "\": executable file not found in $PATH");
}

static void op_oom_score(struct field *f)
{
	if (write_file("/proc/self/oom_score_adj", f[0].s, f[0].n) < 0)
		die(errno, "write ", f[0].s, " to /proc/self/oom_score_adj");
}

/* ------------------------------------------------------------------ */
/* Phase C: credentials and confinement                                */
/* ------------------------------------------------------------------ */

static void op_caps_bounding(struct field *f)
{
	/* Up to 63 rather than cap_last_cap: the kernel answers EINVAL past its last. */
	for (unsigned cap = 0; cap < 64; cap++) {
		if (f[0].u & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			die(errno, "drop capability ", U(cap), " from the bounding set");
	}
}

static void op_identity(struct field *f)
{
	uint64_t n = f[3].u;

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		die(errno, "keep capabilities");
	if (f[2].u) {
		gid_t *g = calloc((size_t)n + 1, sizeof *g);
		if (!g)
			die(ENOMEM, "setgroups");
		for (uint64_t i = 0; i < n; i++)
			g[i] = (gid_t)le64(f[3].p + i * 8);
		if (syscall(SYS_setgroups, (size_t)n, g) < 0)
			die(errno, "setgroups");
		free(g);
	}
	if (syscall(SYS_setresgid, (gid_t)f[1].u, (gid_t)f[1].u, (gid_t)f[1].u) < 0)
		die(errno, "setresgid ", U(f[1].u));
	if (syscall(SYS_setresuid, (uid_t)f[0].u, (uid_t)f[0].u, (uid_t)f[0].u) < 0)
		die(errno, "setresuid ", U(f[0].u));
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		die(errno, "clear keep capabilities");
}

static void op_caps(struct field *f)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	for (int i = 0; i < 2; i++) {
		d[i].effective = (uint32_t)(f[0].u >> (32 * i));
		d[i].permitted = (uint32_t)(f[1].u >> (32 * i));
		d[i].inheritable = (uint32_t)(f[2].u >> (32 * i));
	}
	if (syscall(SYS_capset, &h, d) < 0)
		die(errno, "capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		die(errno, "clear ambient capabilities");
	for (unsigned cap = 0; cap < 64; cap++)
		if ((f[3].u & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			die(errno, "raise ambient capability ", U(cap));
}

static void op_no_new_privs(struct field *f)
{
	(void)f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(errno, "set no_new_privs");
}

static void op_seccomp(struct field *f)
{
	uint32_t n = f[1].n;
	if (n == 0 || n % sizeof(struct sock_filter) || n / sizeof(struct sock_filter) > USHRT_MAX)
		die(EINVAL, "seccomp filter of ", U(n), " bytes");
	/* The plan buffer gives no alignment guarantee. */
	struct sock_filter *prog = malloc(n);
	if (!prog)
		die(ENOMEM, "seccomp filter");
	memcpy(prog, f[1].p, n);
	struct sock_fprog fp = { .len = (unsigned short)(n / sizeof *prog), .filter = prog };
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned long)f[0].u, &fp);
	if (r < 0)
		die(errno, "load seccomp filter");
	free(prog);
	if (f[0].u & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
		if (send_msg(MSG_SECCOMP_FD, NULL, 0, (int)r) < 0)
			die(errno, "send seccomp listener");
		close((int)r);
	}
}

static void op_personality(struct field *f)
{
	if (personality((unsigned long)f[0].u) < 0)
		die(errno, "personality ", U(f[0].u));
}

/* struct sched_attr, defined here: glibc's headers lack it and the kernel's clash. */
struct dx_sched_attr {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
};

static void op_sched(struct field *f)
{
	struct dx_sched_attr a = {
		.size = sizeof a,
		.policy = (uint32_t)f[0].u,
		.priority = (uint32_t)f[1].u,
		.flags = f[2].u,
		.nice = (int32_t)f[3].u,
		.runtime = f[4].u,
		.deadline = f[5].u,
		.period = f[6].u,
	};
	if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
		die(errno, "sched_setattr policy ", U(f[0].u));
}

static void op_ioprio(struct field *f)
{
	if (syscall(SYS_ioprio_set, 1, 0, (int)f[0].u) < 0)
		die(errno, "ioprio_set ", U(f[0].u));
}

static void op_affinity(struct field *f)
{
	/* the mask is a cpu_set_t laid out by the runtime, sized to the cpus it names */
	if (sched_setaffinity(0, f[0].n, (const cpu_set_t *)(const void *)f[0].p) < 0)
		die(errno, "sched_setaffinity");
}

static void op_apparmor(struct field *f)
{
	struct sbuf s = { .n = 0 };
	sb_add(&s, "exec ");
	sb_add(&s, f[0].s);
	if (write_file("/proc/self/attr/apparmor/exec", s.b, s.n) < 0) {
		if (errno != ENOENT || write_file("/proc/self/attr/exec", s.b, s.n) < 0)
			die(errno, "apparmor profile ", f[0].s);
	}
}

static void op_label(struct field *f)
{
	if (write_file("/proc/self/attr/exec", f[0].s, f[0].n) < 0)
		die(errno, "selinux label ", f[0].s);
}

static void op_exec(struct field *f)
{
	char **argv = mkstrv(&f[1], NULL), **envp = mkstrv(&f[2], NULL);
	const char *path = exec_path ? exec_path : argv[0];
	unsigned keep = (unsigned)f[0].u;

	if (!path)
		die(EINVAL, "exec: no arguments");
	if (syscall(SYS_close_range, keep, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		struct rlimit rl;
		unsigned top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (unsigned)rl.rlim_cur : 65536;
		for (unsigned fd = keep; fd < top; fd++)
			fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	}
	/* ctl and the exec fifo close on execve: that is the signal. runc's words for
	 * the moment, the init's and an exec'd process's (no fifo), which its tests grep. */
	if (startfd >= 0)
		dlog("init: closing the pipe to signal completion: exec ", path);
	else
		dlog("setns_init: about to exec ", path);
	execve(path, argv, envp);
	die(errno, "exec ", path);
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */
/* ------------------------------------------------------------------ */

struct opdef {
	const char *sig;
	void (*run)(struct field *);
	const char *name; /* for the debug log */
};

static const struct opdef ops[OP_MAX + 1] = {
	[OP_RLIMIT] = { "uuu", op_rlimit, "RLIMIT" },
	[OP_SETNS] = { "us", op_setns, "SETNS" },
	[OP_TIMENS] = { "s", op_timens, "TIMENS" },
	[OP_CLONE] = { "uu", op_clone, "CLONE" },
	[OP_WAIT_GO] = { "", op_wait_go, "WAIT_GO" },
	[OP_SETRESID] = { "uu", op_setresid, "SETRESID" },
	[OP_UNSHARE] = { "u", op_unshare, "UNSHARE" },
	[OP_SETSID] = { "", op_setsid, "SETSID" },
	[OP_HOSTNAME] = { "s", op_hostname, "HOSTNAME" },
	[OP_DOMAINNAME] = { "s", op_domainname, "DOMAINNAME" },
	[OP_KEYRING] = { "s", op_keyring, "KEYRING" },
	[OP_MOUNT] = { "uussss", op_mount, "MOUNT" },
	[OP_ROOTFS] = { "s", op_rootfs, "ROOTFS" },
	[OP_MKNOD] = { "uuuus", op_mknod, "MKNOD" },
	[OP_SYMLINK] = { "ss", op_symlink, "SYMLINK" },
	[OP_PIVOT] = { "u", op_pivot, "PIVOT" },
	[OP_MASK] = { "s", op_mask, "MASK" },
	[OP_READONLY] = { "s", op_readonly, "READONLY" },
	[OP_ROOT_RO] = { "", op_root_ro, "ROOT_RO" },
	[OP_SYSCTL] = { "ss", op_sysctl, "SYSCTL" },
	[OP_MOUNT_ATTR] = { "uuus", op_mount_attr, "MOUNT_ATTR" },
	[OP_MKDIR] = { "s", op_mkdir, "MKDIR" },
	[OP_BIND_SOURCES] = { "v", op_bind_sources, "BIND_SOURCES" },
	[OP_HIDE_HOST] = { "s", op_hide_host, "HIDE_HOST" },
	[OP_DEVNULL_STDIO] = { "", op_devnull_stdio, "DEVNULL_STDIO" },
	[OP_HOOK] = { "usvess", op_hook, "HOOK" },
	[OP_FIFO_OPEN] = { "s", op_fifo_open, "FIFO_OPEN" },
	[OP_READY] = { "", op_ready, "READY" },
	[OP_FIFO_WAIT] = { "", op_fifo_wait, "FIFO_WAIT" },
	[OP_CONSOLE] = { "uuuu", op_console, "CONSOLE" },
	[OP_UMASK] = { "u", op_umask, "UMASK" },
	[OP_CHDIR] = { "s", op_chdir, "CHDIR" },
	[OP_LOOKUP] = { "ss", op_lookup, "LOOKUP" },
	[OP_OOM_SCORE] = { "s", op_oom_score, "OOM_SCORE" },
	[OP_LINK_UP] = { "s", op_link_up, "LINK_UP" },
	[OP_CAPS_BOUNDING] = { "u", op_caps_bounding, "CAPS_BOUNDING" },
	[OP_IDENTITY] = { "uuuG", op_identity, "IDENTITY" },
	[OP_CAPS] = { "uuuu", op_caps, "CAPS" },
	[OP_NO_NEW_PRIVS] = { "", op_no_new_privs, "NO_NEW_PRIVS" },
	[OP_SECCOMP] = { "ub", op_seccomp, "SECCOMP" },
	[OP_PERSONALITY] = { "u", op_personality, "PERSONALITY" },
	[OP_SCHED] = { "uuuuuuu", op_sched, "SCHED" },
	[OP_IOPRIO] = { "u", op_ioprio, "IOPRIO" },
	[OP_APPARMOR] = { "s", op_apparmor, "APPARMOR" },
	[OP_LABEL] = { "s", op_label, "LABEL" },
	[OP_CGROUP_JOIN] = { "vsv", op_cgroup_join, "CGROUP_JOIN" },
	[OP_FIFO_MAKE] = { "uuus", op_fifo_make, "FIFO_MAKE" },
	[OP_AFFINITY] = { "b", op_affinity, "AFFINITY" },
	[OP_EXEC] = { "uve", op_exec, "EXEC" },
};

/* "step MOUNT 0 3 proc /proc proc ...": the op and its fields, as the plan gives them. */
static void log_step(unsigned op, const struct field *f)
{
	struct sbuf d = { .n = 0 };
	d.b[0] = 0;
	sb_add(&d, "step ");
	sb_add(&d, ops[op].name);
	for (const char *sig = ops[op].sig; *sig; sig++, f++) {
		sb_add(&d, " ");
		switch (*sig) {
		case 'u':
			sb_add(&d, U(f->u));
			break;
		case 's':
			sb_add(&d, "\"");
			sb_add(&d, f->s);
			sb_add(&d, "\"");
			break;
		case 'b':
			sb_add(&d, U(f->n));
			sb_add(&d, " bytes");
			break;
		case 'v': {
			const unsigned char *p = f->p;
			sb_add(&d, "[");
			for (uint64_t i = 0; i < f->u; i++) {
				uint32_t len = le32(p);
				if (i)
					sb_add(&d, " ");
				sb_add(&d, (const char *)(p + 4));
				p += 4 + (size_t)len;
			}
			sb_add(&d, "]");
			break;
		}
		case 'e':
			sb_add(&d, U(f->u));
			sb_add(&d, " variables");
			break;
		case 'G':
			sb_add(&d, U(f->u));
			sb_add(&d, " groups");
			break;
		}
	}
	dlog(d.b);
}

/*
 * Walks the plan once; with run == 0 it only checks every record, so a
 * malformed plan is refused before any step has changed anything.
 */
static void walk(const unsigned char *plan, size_t len, int run)
{
	struct field f[MAX_FIELDS];
	size_t off = 4;

	if (len < 4 || memcmp(plan, "DXP1", 4) != 0) {
		cur_op = 0;
		die(EINVAL, "plan: bad magic");
	}
	while (off < len) {
		if (len - off < 8) {
			cur_op = 0;
			die(EINVAL, "plan: truncated record header at offset ", U(off));
		}
		unsigned op = (unsigned)plan[off] | (unsigned)plan[off + 1] << 8;
		unsigned zero = (unsigned)plan[off + 2] | (unsigned)plan[off + 3] << 8;
		uint32_t plen = le32(plan + off + 4);
		cur_op = op;
		if (op > OP_MAX || !ops[op].sig)
			die(EINVAL, "plan: unknown op ", U(op), " at offset ", U(off));
		if (zero)
			die(EINVAL, "plan: op ", U(op), " at offset ", U(off), ": reserved bits set");
		if (plen > len - off - 8)
			die(EINVAL, "plan: op ", U(op), " at offset ", U(off), ": truncated record");
		const char *why = decode(ops[op].sig, plan + off + 8, plen, f);
		if (why)
			die(EINVAL, "plan: op ", U(op), " at offset ", U(off), ": ", why);
		if (run) {
			if (logfd >= 0)
				log_step(op, f);
			ops[op].run(f);
		}
		off += 8 + (size_t)plen;
	}
}

/* ------------------------------------------------------------------ */
/* Startup                                                             */
/* ------------------------------------------------------------------ */

/*
 * While the stub waits in `created` it is often pid 1 of a new pid
 * namespace, and the kernel drops default-action signals sent to such a
 * process. A handler makes `kill` on a created container act as it would on
 * any process; execve resets it to the default.
 */
static void on_term(int sig)
{
	if (getpid() != 1) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigset_t s;
		sigaction(sig, &dfl, NULL);
		sigemptyset(&s);
		sigaddset(&s, sig);
		sigprocmask(SIG_UNBLOCK, &s, NULL);
		kill(getpid(), sig);
	}
	_exit(128 + sig);
}

static void setup_signals(void)
{
	static const int term[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM };
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (size_t i = 0; i < sizeof term / sizeof term[0]; i++) {
		struct sigaction old, sa = { .sa_handler = on_term };
		/* An inherited SIG_IGN is the caller's choice and survives execve. */
		if (sigaction(term[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
			sigaction(term[i], &sa, NULL);
	}
}

static int parse_fd(const char *arg, const char *key)
{
	size_t kl = strlen(key);
	long v = 0;
	if (strncmp(arg, key, kl) != 0 || !arg[kl])
		return -2;
	for (const char *p = arg + kl; *p; p++) {
		if (*p < '0' || *p > '9' || v > INT_MAX / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	return (int)v;
}

/*
 * CVE-2019-5736: what a container can reach through /proc/PID/exe must be a
 * copy nothing can write to. The runtime starts us from a file; before anything
 * else we copy ourselves into a sealed memfd and exec that.
 */
static void run_sealed(char **argv)
{
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		die(errno, "open /proc/self/exe");
	int seals = fcntl(self, F_GET_SEALS);
	if (seals >= 0 && (seals & F_SEAL_WRITE) && (seals & F_SEAL_SEAL)) {
		close(self);
		return;
	}
	struct stat st;
	if (fstat(self, &st) < 0)
		die(errno, "stat /proc/self/exe");
	int mfd = memfd_create("dx-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		die(errno, "memfd_create");
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = sendfile(mfd, self, NULL, (size_t)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die(n < 0 ? errno : EIO, "copy /proc/self/exe");
		left -= n;
	}
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		die(errno, "seal dx-init");
	close(self);
	static char *const noenv[] = { NULL };
	syscall(SYS_execveat, mfd, "", argv, noenv, AT_EMPTY_PATH);
	die(errno, "exec sealed dx-init");
}

int main(int argc, char **argv)
{
	int lockfd = -1;
	size_t len;

	umask(0);
	/* exec'd through /proc/PID/fd/N, the kernel would name us "N" in ps */
	prctl(PR_SET_NAME, "dx-init", 0, 0, 0);
	for (int i = 1; i < argc; i++) {
		int v;
		if ((v = parse_fd(argv[i], "ctl=")) != -2)
			ctl = v;
		else if ((v = parse_fd(argv[i], "lock=")) != -2)
			lockfd = v;
		else if ((v = parse_fd(argv[i], "log=")) != -2)
			logfd = v;
		else if (strcmp(argv[i], "logfmt=json") == 0)
			logjson = 1;
		else if (strcmp(argv[i], "logfmt=text") != 0)
			die(EINVAL, "usage: dx-init ctl=FD [lock=FD] [log=FD logfmt=text|json] (unexpected ", argv[i], ")");
	}
	/* Before ctl becomes close-on-exec: the sealed copy needs it too. */
	run_sealed(argv);
	if (ctl < 0 || fcntl(ctl, F_SETFD, FD_CLOEXEC) < 0) {
		ctl = -1;
		die(EBADF, "usage: dx-init ctl=FD [lock=FD] (bad ctl)");
	}
	/* Not the container's: the EXEC step's close_range would catch it too. */
	if (logfd >= 0 && fcntl(logfd, F_SETFD, FD_CLOEXEC) < 0)
		logfd = -1;
	setup_signals();
	if (lockfd >= 0) {
		/* The lock is the open file's: the runtime holds it through its own fd. */
		int r;
		do
			r = flock(lockfd, LOCK_EX);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			die(errno, "lock the container's state dir");
		close(lockfd);
		if (send_msg(MSG_LOCKED, NULL, 0, -1) < 0)
			_exit(1);
		dlog("locked the container's state dir");
	}

	unsigned char *plan = recv_frame(MSG_PLAN, MAX_PLAN, &len, "read plan");
	/* runc's name for this phase, which tools and runc's tests look for */
	dlog("nsexec container setup: a plan of ", U(len), " bytes");
	walk(plan, len, 0);
	walk(plan, len, 1);
	return 0;
}
