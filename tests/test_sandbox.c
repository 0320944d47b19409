/* test_sandbox.c: sandbox_enter leaves the shares and nothing else, with fewer capabilities; CREATE opens no special file. */
/*
 * Every sandbox case forks its own child (besides Check's fork): the mount namespace and
 * the capabilities belong to the process and must not leak into the runner if Check runs
 * without fork (CK_FORK=no). The child names the first failed check on stderr and exits
 * 1 through _exit (no atexit handler, no leak check in a process that keeps the backend);
 * the parent asserts status 0. Cases that need a mount namespace of their own (root, or
 * CAP_SYS_ADMIN) pass with a "skipped" line on stderr without one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "../devices/virtio_fs/passthrough.h"
#include "../vmm/sandbox.h"
#include "check_run.h"

/* base/share (rw, file hello = "hi\n"), base/ro (read-only, hello = "ro\n"), base/secret. */
static struct {
	char base[64], share[96], ro[96], secret[96];
} fx;

#define CHILD_CHECK(cond)                                                                   \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "%s:%d: failed: %s (errno: %s)\n", __FILE__, __LINE__, \
				#cond, strerror(errno));                                    \
			_exit(1);                                                           \
		}                                                                           \
	} while (0)

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[160];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	snprintf(fx.base, sizeof(fx.base), "/tmp/microvm-sb-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.base));
	snprintf(fx.share, sizeof(fx.share), "%s/share", fx.base);
	snprintf(fx.ro, sizeof(fx.ro), "%s/ro", fx.base);
	snprintf(fx.secret, sizeof(fx.secret), "%s/secret", fx.base);
	ck_assert_int_eq(mkdir(fx.share, 0755), 0);
	ck_assert_int_eq(mkdir(fx.ro, 0755), 0);
	write_file(fx.share, "hello", "hi\n");
	write_file(fx.ro, "hello", "ro\n");
	write_file(fx.base, "secret", "s3cret\n");
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void teardown(void)
{
	nftw(fx.base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs fn in a child and asserts it came back with status 0. */
static void run_child(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the child failed (status %#x): see its message above", status);
}

static void probe_mount_ns(void)
{
	CHILD_CHECK(unshare(CLONE_NEWNS) == 0);
	CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
	CHILD_CHECK(mount("probe", "/tmp", "tmpfs", 0, "size=4k") == 0);
}

/* Whether a child may make a mount namespace and mount in it (root, CAP_SYS_ADMIN). */
static bool can_mount_ns(void)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDERR_FILENO); /* a failed probe is no failure */
		probe_mount_ns();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

#define NEED_MOUNT_NS()                                                                     \
	do {                                                                                \
		if (!can_mount_ns()) {                                                      \
			fprintf(stderr, "%s: skipped: needs root (CAP_SYS_ADMIN)\n", __func__); \
			return;                                                             \
		}                                                                           \
	} while (0)

/* In the child: the rw share as 0 and the read-only one as 1. */
static void child_enter(struct sandbox *sb)
{
	struct sandbox_config cfg = { .enable = true, .nshares = 2 };
	char err[256] = "";
	int ret;

	cfg.shares[0] = (struct sandbox_share){ .path = fx.share, .readonly = false };
	cfg.shares[1] = (struct sandbox_share){ .path = fx.ro, .readonly = true };
	ret = sandbox_enter(sb, &cfg, err, sizeof(err));
	if (ret)
		fprintf(stderr, "sandbox_enter: %d: %s\n", ret, err);
	CHILD_CHECK(ret == 0);
}

static bool file_is(const char *path, const char *text)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(text) && memcmp(buf, text, (size_t)n) == 0;
}

static uint64_t effective_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	CHILD_CHECK(syscall(SYS_capget, &hdr, d) == 0);
	return d[0].effective | (uint64_t)d[1].effective << 32;
}

/* --- the private root --- */

static void root_child(void)
{
	struct sandbox sb;
	struct dirent *de;
	unsigned names = 0;
	char cwd[64];
	DIR *d;

	child_enter(&sb);
	CHILD_CHECK(sb.private_root);
	CHILD_CHECK(strcmp(sandbox_share_path(&sb, 0), "/shares/0") == 0);
	CHILD_CHECK(strcmp(sandbox_share_path(&sb, 1), "/shares/1") == 0);
	CHILD_CHECK(sandbox_share_path(&sb, 2) == NULL);
	CHILD_CHECK(file_is("/shares/0/hello", "hi\n"));
	CHILD_CHECK(file_is("/shares/1/hello", "ro\n"));
	/* The host paths, the share's own included, name nothing any more. */
	CHILD_CHECK(open(fx.secret, O_RDONLY) < 0 && errno == ENOENT);
	CHILD_CHECK(access(fx.share, F_OK) != 0 && errno == ENOENT);
	CHILD_CHECK(access("/shares/0/../../secret", F_OK) != 0);
	CHILD_CHECK((d = opendir("/")) != NULL);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			CHILD_CHECK(++names <= 2 && (!strcmp(de->d_name, "proc") ||
						     !strcmp(de->d_name, "shares")));
	closedir(d);
	CHILD_CHECK(names == 2);
	CHILD_CHECK(mkdir("/x", 0755) != 0 && errno == EROFS); /* the root itself */
	CHILD_CHECK(getcwd(cwd, sizeof(cwd)) != NULL && strcmp(cwd, "/") == 0);
	/* Writes to a writable share reach the host. */
	CHILD_CHECK(symlink("hello", "/shares/0/made-inside") == 0);
}

START_TEST(private_root_shows_the_shares_and_nothing_else)
{
	char p[160], target[16] = "";

	NEED_MOUNT_NS();
	run_child(root_child);
	snprintf(p, sizeof(p), "%s/made-inside", fx.share);
	ck_assert_int_eq(readlink(p, target, sizeof(target) - 1), 5);
	ck_assert_str_eq(target, "hello");
}
END_TEST

static void readonly_child(void)
{
	struct sandbox sb;
	struct statvfs sv;

	child_enter(&sb);
	/* Root, with CAP_DAC_OVERRIDE still held, and yet: */
	CHILD_CHECK(open("/shares/1/hello", O_WRONLY) < 0 && errno == EROFS);
	CHILD_CHECK(open("/shares/1/new", O_WRONLY | O_CREAT, 0644) < 0 && errno == EROFS);
	CHILD_CHECK(mkdir("/shares/1/dir", 0755) != 0 && errno == EROFS);
	CHILD_CHECK(chmod("/shares/1/hello", 0600) != 0 && errno == EROFS);
	CHILD_CHECK(statvfs("/shares/1", &sv) == 0 && (sv.f_flag & ST_RDONLY));
	CHILD_CHECK(statvfs("/shares/0", &sv) == 0 && !(sv.f_flag & ST_RDONLY));
	CHILD_CHECK((sv.f_flag & (ST_NOSUID | ST_NODEV)) == (ST_NOSUID | ST_NODEV));
	CHILD_CHECK(open("/shares/0/new", O_WRONLY | O_CREAT, 0644) >= 0);
}

START_TEST(readonly_share_refuses_writes_even_for_root)
{
	NEED_MOUNT_NS();
	run_child(readonly_child);
}
END_TEST

/* Whether our /proc was mounted with hidepid (kernels before 5.8 get a plain one). */
static bool proc_hides_pids(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, " /proc ") && strstr(line, "hidepid="))
			found = true;
	if (f)
		fclose(f);
	return found;
}

static void proc_child(void)
{
	char p[64], buf[8] = "";
	struct sandbox sb;
	int pfd, fd, fifo;

	child_enter(&sb);
	/* What the passthrough does: reopen an O_PATH descriptor through /proc/self/fd. */
	CHILD_CHECK((pfd = open("/shares/0/hello", O_PATH | O_CLOEXEC)) >= 0);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", pfd);
	CHILD_CHECK((fd = open(p, O_RDONLY | O_CLOEXEC)) >= 0);
	CHILD_CHECK(read(fd, buf, sizeof(buf)) == 3 && memcmp(buf, "hi\n", 3) == 0);
	/* pt_xattr.c's path for special files: the magic link names the inode itself. */
	CHILD_CHECK(mkfifo("/shares/0/fifo", 0644) == 0);
	CHILD_CHECK((fifo = open("/shares/0/fifo", O_PATH | O_NOFOLLOW | O_CLOEXEC)) >= 0);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fifo);
	CHILD_CHECK(listxattr(p, NULL, 0) >= 0);
	/* proc is read-only: no sysctl can be written. */
	CHILD_CHECK(open("/proc/sys/kernel/core_pattern", O_WRONLY) < 0);
	CHILD_CHECK(open("/proc/self/comm", O_WRONLY) < 0 && errno == EROFS);
	/* The runner (our parent) holds every capability: its root is closed to us, */
	snprintf(p, sizeof(p), "/proc/%d/root/", (int)getppid());
	CHILD_CHECK(open(p, O_PATH) < 0);
	/* and on Linux 5.8+ (hidepid=ptraceable) the process is not even listed. */
	snprintf(p, sizeof(p), "/proc/%d", (int)getppid());
	CHILD_CHECK(!proc_hides_pids() || (access(p, F_OK) != 0 && errno == ENOENT));
}

START_TEST(proc_self_fd_works_and_proc_is_closed)
{
	NEED_MOUNT_NS();
	run_child(proc_child);
}
END_TEST

/* --- capabilities --- */

static void caps_child(void)
{
	struct sandbox sb;
	struct rlimit rl;
	struct stat st;
	uint64_t eff;

	child_enter(&sb);
	CHILD_CHECK(sb.caps_dropped && sb.bounding_dropped);
	eff = effective_caps();
	CHILD_CHECK(!(eff & (1ULL << CAP_SYS_ADMIN)) && !(eff & (1ULL << CAP_MKNOD)));
	CHILD_CHECK(!(eff & (1ULL << CAP_SYS_PTRACE)) && !(eff & (1ULL << CAP_SETFCAP)));
	CHILD_CHECK(prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 0);
	CHILD_CHECK(prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) == 0);
	CHILD_CHECK(mount("x", "/shares", "tmpfs", 0, NULL) != 0 && errno == EPERM);
	CHILD_CHECK(umount2("/shares/1", MNT_DETACH) != 0 && errno == EPERM);
	CHILD_CHECK(mknod("/shares/0/dev", S_IFCHR | 0600, makedev(1, 3)) != 0 && errno == EPERM);
	CHILD_CHECK(chroot("/shares/0") != 0 && errno == EPERM);
	/* What the passthrough needs is still there. */
	CHILD_CHECK(eff & (1ULL << CAP_CHOWN) && eff & (1ULL << CAP_DAC_READ_SEARCH));
	CHILD_CHECK(chown("/shares/0/hello", 1234, 4321) == 0);
	CHILD_CHECK(stat("/shares/0/hello", &st) == 0 && st.st_uid == 1234 && st.st_gid == 4321);
	syscall(SYS_setfsuid, 1000);
	CHILD_CHECK(syscall(SYS_setfsuid, -1) == 1000);
	syscall(SYS_setfsuid, 0);
	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	CHILD_CHECK(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 && rl.rlim_max == 0);
}

START_TEST(capabilities_are_cut_to_what_the_passthrough_uses)
{
	NEED_MOUNT_NS();
	run_child(caps_child);
}
END_TEST

/* --- the passthrough backend inside --- */

static const struct fuse_backend_ops *ops = &pt_backend_ops;

static uint64_t child_lookup(struct pt *pt, const char *name)
{
	struct fuse_ctx c = { .pid = 1, .unique = 1 };
	struct fuse_entry e;

	CHILD_CHECK(ops->lookup(pt, &c, FUSE_ROOT_ID, name, &e) == 0);
	return e.nodeid;
}

/* Creates files as uid 1000 until well past the descriptor budget, then revisits them. */
static void many_files(struct pt *pt)
{
	struct fuse_ctx c = { .uid = 1000, .gid = 1000, .pid = 1, .unique = 2 };
	struct fuse_entry e;
	struct pt_stats ps;
	uint64_t ids[40], fh;
	struct stat st;
	char name[16];
	unsigned i;

	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		CHILD_CHECK(ops->create(pt, &c, FUSE_ROOT_ID, name, 0644, O_RDWR, &e, &fh) == 0);
		CHILD_CHECK(e.attr.st_uid == 1000 && e.attr.st_gid == 1000); /* setfsuid */
		CHILD_CHECK(ops->release(pt, &c, e.nodeid, fh, 0, 0) == 0);
		ids[i] = e.nodeid;
	}
	for (i = 0; i < 40; i++)
		CHILD_CHECK(ops->getattr(pt, &c, ids[i], &st) == 0 && st.st_uid == 1000);
	pt_get_stats(pt, &ps);
	/* Evicted descriptors came back by handle: CAP_DAC_READ_SEARCH is still held. */
	CHILD_CHECK(ps.evictions > 0 && ps.reopens > 0);
}

static void passthrough_child(void)
{
	struct fuse_conn_params conn = { .posix_locks = true, .flock = true };
	struct fuse_ctx c = { .pid = 1, .unique = 1 };
	struct fuse_setattr sa = { .valid = FATTR_UID | FATTR_GID, .uid = 4321, .gid = 4321 };
	struct pt_config pc = { .fd_budget = 16 };
	char buf[8] = "", list[256];
	struct iovec iov = { buf, sizeof(buf) };
	struct fuse_entry e;
	struct sandbox sb;
	struct stat st;
	uint64_t h, fh;
	size_t n;
	struct pt *pt;

	child_enter(&sb);
	pc.root = sandbox_share_path(&sb, 0);
	CHILD_CHECK(chmod(pc.root, 0777) == 0); /* for the files created as uid 1000 */
	CHILD_CHECK(pt_create(&pc, &pt) == 0 && ops->init(pt, &conn) == 0);
	h = child_lookup(pt, "hello");
	CHILD_CHECK(ops->open(pt, &c, h, O_RDONLY, 0, &fh) == 0);
	CHILD_CHECK(ops->read(pt, &c, h, fh, 0, &iov, 1, &n) == 0 && n == 3);
	CHILD_CHECK(memcmp(buf, "hi\n", 3) == 0);
	CHILD_CHECK(ops->setattr(pt, &c, h, &sa, &st) == 0 && st.st_uid == 4321); /* CAP_CHOWN */
	CHILD_CHECK(ops->mknod(pt, &c, FUSE_ROOT_ID, "fifo", S_IFIFO | 0644, 0, &e) == 0);
	CHILD_CHECK(ops->listxattr(pt, &c, e.nodeid, list, sizeof(list), &n) == 0);
	CHILD_CHECK(ops->mknod(pt, &c, FUSE_ROOT_ID, "dev", S_IFCHR | 0600, makedev(1, 3), &e) ==
		    -EPERM);
	many_files(pt);
}

START_TEST(the_passthrough_works_inside)
{
	NEED_MOUNT_NS();
	run_child(passthrough_child);
}
END_TEST

/* --- without privilege, disabled, and refused --- */

static void drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	CHILD_CHECK(syscall(SYS_capget, &hdr, d) == 0);
	d[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	d[CAP_TO_INDEX(CAP_SYS_ADMIN)].permitted &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	CHILD_CHECK(syscall(SYS_capset, &hdr, d) == 0);
}

static void unprivileged_child(void)
{
	struct sandbox sb;
	struct rlimit rl;

	drop_sys_admin();
	child_enter(&sb);
	CHILD_CHECK(!sb.private_root && sb.caps_dropped);
	CHILD_CHECK(strcmp(sandbox_share_path(&sb, 0), fx.share) == 0);
	CHILD_CHECK(strcmp(sandbox_share_path(&sb, 1), fx.ro) == 0);
	CHILD_CHECK(file_is(fx.secret, "s3cret\n")); /* no namespace: the host is all there */
	CHILD_CHECK(!(effective_caps() & (1ULL << CAP_SYS_ADMIN)));
	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	CHILD_CHECK(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0);
}

START_TEST(without_sys_admin_the_host_paths_stay)
{
	run_child(unprivileged_child);
}
END_TEST

static void disabled_child(void)
{
	struct sandbox_config cfg = { .enable = false, .nshares = 1 };
	const struct rlimit core = { 4096, RLIM_INFINITY };
	struct sandbox sb;
	struct rlimit rl;
	char err[128];
	uint64_t before;

	CHILD_CHECK(setrlimit(RLIMIT_CORE, &core) == 0);
	before = effective_caps();
	cfg.shares[0].path = fx.share;
	CHILD_CHECK(sandbox_enter(&sb, &cfg, err, sizeof(err)) == 0);
	CHILD_CHECK(!sb.private_root && !sb.caps_dropped);
	CHILD_CHECK(strcmp(sandbox_share_path(&sb, 0), fx.share) == 0);
	CHILD_CHECK(effective_caps() == before);
	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
	CHILD_CHECK(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 4096);
	CHILD_CHECK(file_is(fx.secret, "s3cret\n"));
}

START_TEST(disabled_changes_nothing)
{
	run_child(disabled_child);
}
END_TEST

/* sandbox_enter on one share at path: the return value, with err filled. */
static int enter_one(const char *path, char *err, size_t errlen)
{
	struct sandbox_config cfg = { .enable = true, .nshares = 1 };
	struct sandbox sb;

	cfg.shares[0].path = path;
	return sandbox_enter(&sb, &cfg, err, errlen);
}

static void bad_paths_child(void)
{
	char gone[128], err[256];

	snprintf(gone, sizeof(gone), "%s/gone", fx.base);
	CHILD_CHECK(enter_one(gone, err, sizeof(err)) == -ENOENT);
	CHILD_CHECK(strstr(err, gone) && strstr(err, "does not exist"));
	CHILD_CHECK(enter_one(fx.secret, err, sizeof(err)) == -ENOTDIR);
	CHILD_CHECK(strstr(err, fx.secret) && strstr(err, "is not a directory"));
}

START_TEST(a_missing_or_wrong_share_path_is_named)
{
	run_child(bad_paths_child);
}
END_TEST

static void *wait_on_pipe(void *arg)
{
	char c;

	return read(*(int *)arg, &c, 1) < 0 ? NULL : arg;
}

static void threads_child(void)
{
	struct sandbox sb;
	pthread_t t;
	char err[256];
	int p[2];
	struct sandbox_config cfg = { .enable = true, .nshares = 1 };

	cfg.shares[0].path = fx.share;
	CHILD_CHECK(pipe(p) == 0 && pthread_create(&t, NULL, wait_on_pipe, &p[0]) == 0);
	CHILD_CHECK(sandbox_enter(&sb, &cfg, err, sizeof(err)) == -EINVAL);
	CHILD_CHECK(strstr(err, "2 threads") != NULL);
	CHILD_CHECK(!sb.private_root && !sb.caps_dropped);
	CHILD_CHECK(file_is(fx.secret, "s3cret\n"));
	CHILD_CHECK(write(p[1], "x", 1) == 1 && pthread_join(t, NULL) == 0);
}

START_TEST(a_second_thread_is_refused)
{
	run_child(threads_child);
}
END_TEST

/* --- CREATE on an existing name (devices/virtio_fs/pt_file.c) --- */

static struct pt *pt_on_share(void)
{
	struct fuse_conn_params conn = { .posix_locks = true, .flock = true };
	struct pt_config pc = { .root = fx.share };
	struct pt *pt;

	ck_assert_int_eq(pt_create(&pc, &pt), 0);
	ck_assert_int_eq(ops->init(pt, &conn), 0);
	return pt;
}

static int create(struct pt *pt, const char *name, int flags, uint64_t *fh)
{
	struct fuse_ctx c = { .uid = geteuid(), .gid = getegid(), .pid = 1, .unique = 3 };
	struct fuse_entry e;
	int err = ops->create(pt, &c, FUSE_ROOT_ID, name, 0644, flags, &e, fh);

	if (err == 0)
		ops->forget(pt, e.nodeid, 1);
	return err;
}

START_TEST(create_never_opens_an_existing_fifo_or_device)
{
	struct pt *pt = pt_on_share();
	char p[160];
	uint64_t fh;

	snprintf(p, sizeof(p), "%s/fifo", fx.share);
	ck_assert_int_eq(mkfifo(p, 0666), 0);
	/* Opening it for writing with no reader would block this worker for good. */
	ck_assert_int_eq(create(pt, "fifo", O_WRONLY, &fh), -ENXIO);
	ck_assert_int_eq(create(pt, "fifo", O_RDONLY, &fh), -ENXIO);
	snprintf(p, sizeof(p), "%s/null", fx.share);
	if (mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0)
		ck_assert_int_eq(create(pt, "null", O_RDWR, &fh), -ENXIO);
	else
		fprintf(stderr, "device node case skipped: mknod needs CAP_MKNOD\n");
	pt_destroy(pt);
}
END_TEST

START_TEST(create_opens_an_existing_regular_file_unless_excl)
{
	struct fuse_ctx c = { .pid = 1, .unique = 4 };
	struct pt *pt = pt_on_share();
	char p[160];
	struct stat st;
	uint64_t fh;

	ck_assert_int_eq(create(pt, "hello", O_RDWR | O_EXCL, &fh), -EEXIST);
	ck_assert_int_eq(create(pt, "hello", O_RDWR | O_TRUNC, &fh), 0);
	ck_assert_int_eq(ops->release(pt, &c, 0, fh, 0, 0), 0);
	snprintf(p, sizeof(p), "%s/hello", fx.share);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_size, 0); /* the existing file was opened and truncated */
	snprintf(p, sizeof(p), "%s/link", fx.share);
	ck_assert_int_eq(symlink("hello", p), 0);
	ck_assert_int_eq(create(pt, "link", O_RDWR, &fh), -ELOOP);
	snprintf(p, sizeof(p), "%s/dir", fx.share);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ck_assert_int_eq(create(pt, "dir", O_RDWR, &fh), -EISDIR);
	ck_assert_int_eq(create(pt, "new", O_RDWR, &fh), 0);
	ck_assert_int_eq(ops->release(pt, &c, 0, fh, 0, 0), 0);
	pt_destroy(pt);
}
END_TEST

static Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *ns = tcase_create("namespace");
	TCase *any = tcase_create("any user");
	TCase *create_tc = tcase_create("create");

	tcase_add_checked_fixture(ns, setup, teardown);
	tcase_add_test(ns, private_root_shows_the_shares_and_nothing_else);
	tcase_add_test(ns, readonly_share_refuses_writes_even_for_root);
	tcase_add_test(ns, proc_self_fd_works_and_proc_is_closed);
	tcase_add_test(ns, capabilities_are_cut_to_what_the_passthrough_uses);
	tcase_add_test(ns, the_passthrough_works_inside);
	suite_add_tcase(s, ns);
	tcase_add_checked_fixture(any, setup, teardown);
	tcase_add_test(any, without_sys_admin_the_host_paths_stay);
	tcase_add_test(any, disabled_changes_nothing);
	tcase_add_test(any, a_missing_or_wrong_share_path_is_named);
	tcase_add_test(any, a_second_thread_is_refused);
	suite_add_tcase(s, any);
	tcase_add_checked_fixture(create_tc, setup, teardown);
	tcase_add_test(create_tc, create_never_opens_an_existing_fifo_or_device);
	tcase_add_test(create_tc, create_opens_an_existing_regular_file_unless_excl);
	suite_add_tcase(s, create_tc);
	return s;
}

int main(void)
{
	return check_run(sandbox_suite());
}
