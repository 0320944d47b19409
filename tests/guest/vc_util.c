/* vc_util.c: failure reporting, file helpers and helper processes for vfs_check's checks. */
#include "vfs_check.h"
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int vc_fail(struct vc *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	return -1;
}

const char *vc_errname(int err)
{
	static __thread char buf[24];
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

int vc_fail_errno(struct vc *v, const char *call, long ret, int err, int want)
{
	if (ret != -1)
		return vc_fail(v, "%s returned %ld, expected failure with %s", call, ret,
			       vc_errname(want));
	return vc_fail(v, "%s failed with %s, expected %s", call, vc_errname(err), vc_errname(want));
}

void vc_info(const char *fmt, ...)
{
	va_list ap;

	fputs("VFSINFO ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

long vc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void vc_drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

	/* Best effort: on the host side (or without /proc) the checks still hold, only
	 * the reads may come from the page cache instead of the server. */
	if (fd < 0)
		return;
	if (write(fd, "3\n", 2) != 2)
		vc_info("drop_caches: %s", vc_errname(errno));
	close(fd);
}

int vc_write_all(struct vc *v, int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0)
			return vc_fail(v, "write of %zu bytes: %s", len, vc_errname(errno));
		VC_REQUIRE(v, n > 0, "write of %zu bytes returned 0", len);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int vc_pwrite_all(struct vc *v, int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0)
			return vc_fail(v, "pwrite of %zu bytes at %lld: %s", len, (long long)off,
				       vc_errname(errno));
		VC_REQUIRE(v, n > 0, "pwrite at %lld returned 0", (long long)off);
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int vc_make_file(struct vc *v, const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);

	if (fd < 0)
		return vc_fail(v, "create %s: %s", path, vc_errname(errno));
	if (vc_write_all(v, fd, buf, len)) {
		close(fd);
		return -1;
	}
	VC_SYS(v, close(fd));
	return 0;
}

/* Compare LEN bytes at OFF of FD with WANT, naming the first difference. */
int vc_expect_fd(struct vc *v, int fd, off_t off, const void *want, size_t len)
{
	char buf[65536];
	const char *w = want;
	size_t done = 0, i;

	while (done < len) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		ssize_t got = pread(fd, buf, n, off + (off_t)done);

		if (got < 0)
			return vc_fail(v, "pread at %lld: %s", (long long)(off + (off_t)done),
				       vc_errname(errno));
		VC_REQUIRE(v, got > 0, "end of file at %lld, expected %zu more bytes",
			   (long long)(off + (off_t)done), len - done);
		for (i = 0; i < (size_t)got; i++)
			VC_REQUIRE(v, buf[i] == w[done + i], "byte at %lld is 0x%02x, expected 0x%02x",
				   (long long)(off + (off_t)(done + i)), (unsigned char)buf[i],
				   (unsigned char)w[done + i]);
		done += (size_t)got;
	}
	return 0;
}

/* The whole file at PATH must be exactly WANT; read after dropping the guest's caches. */
int vc_expect_file(struct vc *v, const char *path, const void *want, size_t len)
{
	struct stat st;
	char extra;
	int fd, rc;

	vc_drop_caches();
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vc_fail(v, "open %s: %s", path, vc_errname(errno));
	rc = vc_expect_fd(v, fd, 0, want, len);
	if (rc == 0 && pread(fd, &extra, 1, (off_t)len) != 0)
		rc = vc_fail(v, "%s is longer than the %zu bytes written", path, len);
	if (rc == 0 && fstat(fd, &st) == 0 && st.st_size != (off_t)len)
		rc = vc_fail(v, "%s: st_size %lld, expected %zu", path, (long long)st.st_size, len);
	close(fd);
	return rc;
}

int vc_expect_size(struct vc *v, const char *path, off_t size)
{
	struct stat st;

	VC_SYS(v, stat(path, &st));
	VC_REQUIRE(v, st.st_size == size, "%s: st_size %lld, expected %lld", path,
		   (long long)st.st_size, (long long)size);
	return 0;
}

int vc_expect_zeros(struct vc *v, int fd, off_t off, size_t len)
{
	static const char zeros[65536];

	while (len > 0) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);

		if (vc_expect_fd(v, fd, off, zeros, n))
			return -1;
		off += (off_t)n;
		len -= n;
	}
	return 0;
}

/* --- helper processes ------------------------------------------------------------------ */

static void vc_child_run(struct vc *v, struct vc_child *c, int why_w,
			 int (*fn)(struct vc *, struct vc_child *, void *), void *arg)
{
	int rc;

	v->why[0] = '\0';
	/* A hung step must not hold the check for ever: the parent sees the signal. */
	alarm(60);
	rc = fn(v, c, arg);
	if (rc && write(why_w, v->why, strlen(v->why)) < 0)
		rc = 2;
	_exit(rc ? 1 : 0);
}

int vc_child_start(struct vc *v, struct vc_child *c, int (*fn)(struct vc *, struct vc_child *, void *),
		   void *arg)
{
	int why[2], go[2], ready[2];

	VC_SYS(v, pipe2(why, O_CLOEXEC));
	VC_SYS(v, pipe2(go, O_CLOEXEC));
	VC_SYS(v, pipe2(ready, O_CLOEXEC));
	fflush(NULL);
	VC_SYS(v, c->pid = fork());
	if (c->pid == 0) {
		close(why[0]);
		close(go[1]);
		close(ready[0]);
		c->go_fd = go[0];
		c->ready_fd = ready[1];
		vc_child_run(v, c, why[1], fn, arg);
	}
	close(why[1]);
	close(go[0]);
	close(ready[1]);
	c->why_fd = why[0];
	c->to_child = go[1];
	c->from_child = ready[0];
	return 0;
}

int vc_child_wait_ready(struct vc *v, struct vc_child *c)
{
	char b;

	if (read(c->from_child, &b, 1) == 1)
		return 0;
	/* The child ended before its first step: it failed, and says why. */
	if (vc_child_finish(v, c) == 0)
		vc_fail(v, "helper process ended before its first step");
	return -1;
}

void vc_child_go(struct vc_child *c)
{
	if (write(c->to_child, "g", 1) < 0)
		return; /* the child is gone: vc_child_finish reports it */
}

void vc_child_step(struct vc_child *c)
{
	char b;

	if (write(c->ready_fd, "r", 1) < 0 || read(c->go_fd, &b, 1) < 0)
		return;
}

int vc_child_finish(struct vc *v, struct vc_child *c)
{
	ssize_t n;
	int status;

	close(c->to_child);
	close(c->from_child);
	n = read(c->why_fd, v->why, sizeof(v->why) - 1);
	close(c->why_fd);
	v->why[n > 0 ? n : 0] = '\0';
	VC_SYS(v, waitpid(c->pid, &status, 0));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (n > 0)
		return -1;
	if (WIFSIGNALED(status))
		return vc_fail(v, "helper process killed by signal %d (%s)", WTERMSIG(status),
			       strsignal(WTERMSIG(status)));
	return vc_fail(v, "helper process exited with status %d", WEXITSTATUS(status));
}

int vc_child_abandon(struct vc *v, struct vc_child *c)
{
	char why[VC_WHY_MAX];

	memcpy(why, v->why, sizeof(why));
	kill(c->pid, SIGKILL);
	if (vc_child_finish(v, c) == 0 || strstr(v->why, "killed by signal"))
		v->why[0] = '\0';
	if (v->why[0]) {
		char child[VC_WHY_MAX];

		memcpy(child, v->why, sizeof(child));
		return vc_fail(v, "%s (helper: %s)", why, child);
	}
	memcpy(v->why, why, sizeof(why));
	return -1;
}

int vc_in_child(struct vc *v, int (*fn)(struct vc *, struct vc_child *, void *), void *arg)
{
	struct vc_child c;

	if (vc_child_start(v, &c, fn, arg))
		return -1;
	return vc_child_finish(v, &c);
}

int vc_become_user(struct vc *v)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;

	VC_SYS(v, setgroups(0, NULL));
	VC_SYS(v, setresgid(VC_USER_ID, VC_USER_ID, VC_USER_ID));
	VC_SYS(v, setresuid(VC_USER_ID, VC_USER_ID, VC_USER_ID));
	VC_SYS(v, getresuid(&r, &e, &s));
	VC_SYS(v, getresgid(&gr, &ge, &gs));
	VC_REQUIRE(v, r == VC_USER_ID && e == VC_USER_ID && s == VC_USER_ID && ge == VC_USER_ID,
		   "still uid %u/%u/%u gid %u after setresuid", r, e, s, ge);
	return 0;
}
