/* vc_lock.c: vfs_check's lock checks: POSIX record locks and flock between two processes. */
/*
 * The parent takes a lock; a forked child (another lock owner: its own file table and
 * open file) probes it, tells the parent it is done, and waits; the parent unlocks and
 * lets the child go on. With FUSE the guest kernel keeps no lock state of its own when the
 * server accepts POSIX_LOCKS / FLOCK_LOCKS: every conflict seen here was the server's.
 */
#include "vfs_check.h"
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

static int set_lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

/* A conflicting F_SETLK is refused with EAGAIN (POSIX also allows EACCES). */
static int expect_conflict(struct vc *v, int fd, short type, off_t start, off_t len)
{
	errno = 0;
	VC_REQUIRE(v, set_lock(fd, F_SETLK, type, start, len) == -1 &&
		   (errno == EAGAIN || errno == EACCES),
		   "F_SETLK %s %lld+%lld over another owner's lock: %s, expected EAGAIN",
		   type == F_WRLCK ? "write" : "read", (long long)start, (long long)len,
		   errno ? vc_errname(errno) : "granted");
	return 0;
}

/* F_GETLK of the whole file must name the holder: type, range and process. */
static int expect_holder(struct vc *v, int fd, short type, off_t start, off_t len, pid_t pid)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };

	VC_SYS(v, fcntl(fd, F_GETLK, &fl));
	VC_REQUIRE(v, fl.l_type == type, "F_GETLK: l_type %d, expected %d", fl.l_type, type);
	if (type == F_UNLCK)
		return 0;
	VC_REQUIRE(v, fl.l_start == start && fl.l_len == len,
		   "F_GETLK: range %lld+%lld, expected %lld+%lld", (long long)fl.l_start,
		   (long long)fl.l_len, (long long)start, (long long)len);
	VC_REQUIRE(v, fl.l_pid == pid, "F_GETLK: l_pid %d, expected the holder's pid %d",
		   fl.l_pid, pid);
	return 0;
}

static int posix_child(struct vc *v, struct vc_child *c, void *arg)
{
	int fd;

	VC_SYS(v, fd = open("lock.bin", O_RDWR));
	if (expect_conflict(v, fd, F_WRLCK, 120, 10) || expect_conflict(v, fd, F_RDLCK, 140, 100))
		return -1;
	if (expect_holder(v, fd, F_WRLCK, 100, 50, getppid()))
		return -1;
	VC_SYS(v, set_lock(fd, F_SETLK, F_WRLCK, 200, 10));
	VC_SYS(v, set_lock(fd, F_SETLK, F_RDLCK, 300, 10));
	vc_child_step(c);
	/* The parent has unlocked: the range is free, and the parent's read lock shares. */
	VC_SYS(v, set_lock(fd, F_SETLK, F_WRLCK, 120, 10));
	VC_SYS(v, set_lock(fd, F_SETLK, F_RDLCK, 400, 10));
	return expect_conflict(v, fd, F_WRLCK, 400, 1);
}

/* A write lock blocks another owner (EAGAIN, F_GETLK names it) until it is released;
 * read locks share; the child's locks go away when it exits. */
static int check_posix_lock(struct vc *v)
{
	struct vc_child c;
	int fd;

	if (vc_make_file(v, "lock.bin", "0123456789", 10))
		return -1;
	VC_SYS(v, fd = open("lock.bin", O_RDWR));
	VC_SYS(v, set_lock(fd, F_SETLK, F_WRLCK, 100, 50));
	VC_SYS(v, set_lock(fd, F_SETLK, F_RDLCK, 400, 10));
	if (vc_child_start(v, &c, posix_child, NULL))
		return -1;
	if (vc_child_wait_ready(v, &c))
		return -1;
	/* The child holds 200+10 for writing now: the parent must see it too. */
	if (expect_conflict(v, fd, F_WRLCK, 205, 1) || expect_conflict(v, fd, F_WRLCK, 300, 10))
		return vc_child_abandon(v, &c);
	VC_SYS(v, set_lock(fd, F_SETLK, F_UNLCK, 100, 50));
	vc_child_go(&c);
	if (vc_child_finish(v, &c))
		return -1;
	if (expect_holder(v, fd, F_UNLCK, 0, 0, 0))
		return -1;
	VC_SYS(v, set_lock(fd, F_SETLK, F_WRLCK, 0, 0));
	VC_SYS(v, close(fd));
	return 0;
}

static int close_child(struct vc *v, struct vc_child *c, void *arg)
{
	int fd;

	VC_SYS(v, fd = open("lock-close.bin", O_RDWR));
	if (expect_conflict(v, fd, F_WRLCK, 0, 10))
		return -1;
	vc_child_step(c);
	VC_SYS(v, set_lock(fd, F_SETLK, F_WRLCK, 0, 10));
	return 0;
}

/* POSIX: closing any descriptor of a file drops all the process's locks on it (the
 * server learns it from FLUSH), even though another descriptor stays open. */
static int check_posix_lock_close(struct vc *v)
{
	struct vc_child c;
	int fd, other;

	if (vc_make_file(v, "lock-close.bin", "x", 1))
		return -1;
	VC_SYS(v, fd = open("lock-close.bin", O_RDWR));
	VC_SYS(v, set_lock(fd, F_SETLK, F_WRLCK, 0, 10));
	if (vc_child_start(v, &c, close_child, NULL))
		return -1;
	if (vc_child_wait_ready(v, &c))
		return -1;
	VC_SYS(v, other = open("lock-close.bin", O_RDONLY));
	VC_SYS(v, close(other));
	vc_child_go(&c);
	if (vc_child_finish(v, &c))
		return -1;
	VC_SYS(v, close(fd));
	return 0;
}

static int flock_child(struct vc *v, struct vc_child *c, void *arg)
{
	int fd;

	VC_SYS(v, fd = open("flock.bin", O_RDONLY));
	VC_ERRNO(v, flock(fd, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	VC_ERRNO(v, flock(fd, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	vc_child_step(c);
	VC_SYS(v, flock(fd, LOCK_SH | LOCK_NB));
	vc_child_step(c);
	VC_SYS(v, flock(fd, LOCK_UN));
	VC_SYS(v, flock(fd, LOCK_EX | LOCK_NB));
	return 0;
}

/* flock: an exclusive lock on one open file blocks every other open file, shared locks
 * share, LOCK_UN releases. (The server turns FUSE_LK_FLOCK requests into flock(2) on the
 * host descriptor of each FUSE file handle.) */
static int check_flock(struct vc *v)
{
	struct vc_child c;
	int fd;

	if (vc_make_file(v, "flock.bin", "x", 1))
		return -1;
	VC_SYS(v, fd = open("flock.bin", O_RDONLY));
	VC_SYS(v, flock(fd, LOCK_EX | LOCK_NB));
	if (vc_child_start(v, &c, flock_child, NULL))
		return -1;
	if (vc_child_wait_ready(v, &c))
		return -1;
	/* Downgrade: the child may share now. */
	if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
		vc_fail(v, "downgrade to LOCK_SH: %s", vc_errname(errno));
		return vc_child_abandon(v, &c);
	}
	vc_child_go(&c);
	if (vc_child_wait_ready(v, &c))
		return -1;
	/* The child holds a shared lock: an upgrade here must wait. */
	errno = 0;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK) {
		vc_fail(v, "LOCK_EX over the child's LOCK_SH: %s", errno ? vc_errname(errno) : "granted");
		return vc_child_abandon(v, &c);
	}
	VC_SYS(v, flock(fd, LOCK_UN));
	vc_child_go(&c);
	if (vc_child_finish(v, &c))
		return -1;
	VC_SYS(v, close(fd));
	return 0;
}

const struct vc_check vc_lock_checks[] = {
	{ "posix_lock", check_posix_lock },
	{ "posix_lock_close", check_posix_lock_close },
	{ "flock", check_flock },
	{ NULL, NULL },
};
