/* test_passthrough.c: the passthrough backend against a temporary directory, without the FUSE layer. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include "../devices/virtio_fs/passthrough.h"

static const struct fuse_backend_ops *ops = &pt_backend_ops;
static char root[64];
static struct pt *pt;
static struct fuse_ctx ctx = { .uid = 0, .gid = 0, .pid = 1, .unique = 1 };

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void make_pt(bool readonly, unsigned budget)
{
	struct pt_config cfg = { .root = root, .readonly = readonly, .fd_budget = budget };
	struct fuse_conn_params conn = { .posix_locks = true, .flock = true, .killpriv_v2 = true };

	ck_assert_int_eq(pt_create(&cfg, &pt), 0);
	ck_assert_int_eq(ops->init(pt, &conn), 0);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/microvm-pt-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	ctx.uid = geteuid();
	ctx.gid = getegid();
	make_pt(false, 0);
}

static void teardown(void)
{
	pt_destroy(pt);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A file on the host side, written behind the backend's back. */
static void host_file(const char *name, const char *content)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
}

static char *host_path(const char *name)
{
	static char p[256];

	snprintf(p, sizeof(p), "%s/%s", root, name);
	return p;
}

static uint64_t lookup(uint64_t parent, const char *name)
{
	struct fuse_entry e;

	ck_assert_int_eq(ops->lookup(pt, &ctx, parent, name, &e), 0);
	return e.nodeid;
}

static unsigned inodes(void)
{
	struct pt_stats st;

	pt_get_stats(pt, &st);
	return st.inodes;
}

static int read_all(uint64_t node, uint64_t fh, uint64_t off, char *buf, size_t len, size_t *n)
{
	struct iovec iov = { buf, len };

	return ops->read(pt, &ctx, node, fh, off, &iov, 1, n);
}

static int write_str(uint64_t node, uint64_t fh, uint64_t off, const char *s, uint32_t flags)
{
	struct iovec iov[2] = { { (void *)s, 1 }, { (void *)(s + 1), strlen(s) - 1 } };
	size_t n = 0;
	int err = ops->write(pt, &ctx, node, fh, off, iov, 2, flags, &n);

	if (!err)
		ck_assert_uint_eq(n, strlen(s));
	return err;
}

/* --- inode table --- */

START_TEST(lookup_counts_and_forget)
{
	struct stat st;
	uint64_t a, b;

	host_file("f", "x");
	ck_assert_uint_eq(inodes(), 1);
	a = lookup(FUSE_ROOT_ID, "f");
	b = lookup(FUSE_ROOT_ID, "f");
	ck_assert_uint_eq(a, b);
	ck_assert_uint_ne(a, FUSE_ROOT_ID);
	ck_assert_uint_eq(inodes(), 2);
	ops->forget(pt, a, 1);
	ck_assert_int_eq(ops->getattr(pt, &ctx, a, &st), 0);
	ops->forget(pt, a, 1);
	ck_assert_int_eq(ops->getattr(pt, &ctx, a, &st), -ESTALE);
	ck_assert_uint_eq(inodes(), 1);
	/* A new lookup reuses the slot under a new generation: the old ID stays dead. */
	b = lookup(FUSE_ROOT_ID, "f");
	ck_assert_uint_ne(a, b);
	ck_assert_uint_eq((uint32_t)a, (uint32_t)b);
	ck_assert_int_eq(ops->getattr(pt, &ctx, a, &st), -ESTALE);
	/* Untrusted counts saturate; the root and unknown IDs ignore FORGET. */
	ops->forget(pt, b, UINT64_MAX);
	ops->forget(pt, FUSE_ROOT_ID, UINT64_MAX);
	ops->forget(pt, 0xdeadbeef00000005ULL, 1);
	ck_assert_int_eq(ops->getattr(pt, &ctx, b, &st), -ESTALE);
	ck_assert_int_eq(ops->getattr(pt, &ctx, FUSE_ROOT_ID, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(ops->getattr(pt, &ctx, 0, &st), -ESTALE);
	ck_assert_uint_eq(inodes(), 1);
}
END_TEST

START_TEST(destroy_forgets_all_but_root)
{
	struct stat st;

	host_file("a", "");
	host_file("b", "");
	uint64_t a = lookup(FUSE_ROOT_ID, "a");
	lookup(FUSE_ROOT_ID, "b");
	ck_assert_uint_eq(inodes(), 3);
	ops->destroy(pt);
	ck_assert_uint_eq(inodes(), 1);
	ck_assert_int_eq(ops->getattr(pt, &ctx, a, &st), -ESTALE);
	ck_assert_int_eq(ops->getattr(pt, &ctx, FUSE_ROOT_ID, &st), 0);
}
END_TEST

/* --- files --- */

START_TEST(create_write_read_release)
{
	struct fuse_entry e;
	struct stat st;
	uint64_t fh;
	char buf[32] = { 0 };
	size_t n;

	ck_assert_int_eq(ops->create(pt, &ctx, FUSE_ROOT_ID, "f", 0640, O_RDWR | O_EXCL, &e, &fh),
			 0);
	ck_assert(S_ISREG(e.attr.st_mode));
	ck_assert_int_eq(write_str(e.nodeid, fh, 0, "hello world", 0), 0);
	ck_assert_int_eq(read_all(e.nodeid, fh, 6, buf, sizeof(buf), &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(buf, "world");
	ck_assert_int_eq(ops->fsync(pt, &ctx, e.nodeid, fh, true), 0);
	ck_assert_int_eq(ops->release(pt, &ctx, e.nodeid, fh, 0, 0), 0);
	ck_assert_int_eq(read_all(e.nodeid, fh, 0, buf, sizeof(buf), &n), -EBADF);
	ck_assert_int_eq(ops->release(pt, &ctx, e.nodeid, fh, 0, 0), -EBADF);
	ck_assert_int_eq(stat(host_path("f"), &st), 0);
	ck_assert_uint_eq(st.st_size, 11);
	ck_assert_uint_eq(st.st_mode & 07777, 0640); /* exactly: no host umask on top */
	ck_assert_int_eq(ops->create(pt, &ctx, FUSE_ROOT_ID, "f", 0640, O_RDWR | O_EXCL, &e, &fh),
			 -EEXIST);
}
END_TEST

START_TEST(created_objects_belong_to_the_caller)
{
	struct fuse_ctx c = { .uid = 1234, .gid = 5678, .unique = 2 };
	struct fuse_entry e;
	struct stat st;
	uint64_t fh;

	if (geteuid() != 0)
		return; /* switching fsuid needs root; nothing to check otherwise */
	chmod(root, 0777);
	ck_assert_int_eq(ops->create(pt, &c, FUSE_ROOT_ID, "f", 0600, O_WRONLY, &e, &fh), 0);
	ck_assert_uint_eq(e.attr.st_uid, 1234);
	ck_assert_uint_eq(e.attr.st_gid, 5678);
	ck_assert_int_eq(ops->mkdir(pt, &c, FUSE_ROOT_ID, "d", 0700, &e), 0);
	ck_assert_uint_eq(e.attr.st_uid, 1234);
	ck_assert_int_eq(ops->symlink(pt, &c, FUSE_ROOT_ID, "s", "f", &e), 0);
	ck_assert_int_eq(lstat(host_path("s"), &st), 0);
	ck_assert_uint_eq(st.st_uid, 1234);
	ck_assert_int_eq(ops->mknod(pt, &c, FUSE_ROOT_ID, "p", S_IFIFO | 0600, 0, &e), 0);
	ck_assert_uint_eq(e.attr.st_gid, 5678);
	/* Host permission checks follow the caller too: 0700 dir of 1234 shuts out 999. */
	uint64_t d = lookup(FUSE_ROOT_ID, "d");
	c.uid = 999;
	ck_assert_int_eq(ops->mkdir(pt, &c, d, "x", 0755, &e), -EACCES);
	ck_assert_int_eq(ops->access(pt, &c, d, W_OK), -EACCES);
	c.uid = 1234;
	ck_assert_int_eq(ops->access(pt, &c, d, W_OK), 0);
	ck_assert_int_eq(ops->mkdir(pt, &c, d, "x", 0755, &e), 0);
	/* Back as root afterwards: the switch was undone. */
	ck_assert_int_eq(ops->mkdir(pt, &ctx, FUSE_ROOT_ID, "r", 0700, &e), 0);
	ck_assert_uint_eq(e.attr.st_uid, 0);
	ck_assert_int_eq(ops->release(pt, &ctx, 0, fh, 0, 0), 0);
}
END_TEST

START_TEST(namespace_ops)
{
	struct fuse_entry e;
	char buf[64];
	size_t n;
	uint64_t d, f;

	host_file("f", "data");
	ck_assert_int_eq(ops->mkdir(pt, &ctx, FUSE_ROOT_ID, "d", 0755, &e), 0);
	d = e.nodeid;
	ck_assert_int_eq(ops->rename(pt, &ctx, FUSE_ROOT_ID, "f", d, "g", 0), 0);
	ck_assert_int_eq(access(host_path("d/g"), F_OK), 0);
	f = lookup(d, "g");
	ck_assert_int_eq(ops->link(pt, &ctx, f, FUSE_ROOT_ID, "h", &e), 0);
	ck_assert_uint_eq(e.nodeid, f); /* same inode, same node ID */
	ck_assert_uint_eq(e.attr.st_nlink, 2);
	ck_assert_int_eq(ops->link(pt, &ctx, d, FUSE_ROOT_ID, "dl", &e), -EPERM);
	ck_assert_int_eq(ops->symlink(pt, &ctx, FUSE_ROOT_ID, "s", "d/g", &e), 0);
	ck_assert(S_ISLNK(e.attr.st_mode));
	ck_assert_int_eq(ops->readlink(pt, &ctx, e.nodeid, buf, sizeof(buf), &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(buf, "d/g", 3);
	ck_assert_int_eq(ops->readlink(pt, &ctx, f, buf, sizeof(buf), &n), -EINVAL);
	ck_assert_int_eq(ops->rmdir(pt, &ctx, FUSE_ROOT_ID, "d"), -ENOTEMPTY);
	ck_assert_int_eq(ops->rename(pt, &ctx, FUSE_ROOT_ID, "h", FUSE_ROOT_ID, "s",
				     RENAME_NOREPLACE),
			 -EEXIST);
	ck_assert_int_eq(ops->rename(pt, &ctx, FUSE_ROOT_ID, "h", FUSE_ROOT_ID, "s",
				     RENAME_EXCHANGE),
			 0);
	ck_assert_int_eq(ops->readlink(pt, &ctx, lookup(FUSE_ROOT_ID, "h"), buf, sizeof(buf), &n),
			 0);
	ck_assert_int_eq(ops->rename(pt, &ctx, FUSE_ROOT_ID, "h", FUSE_ROOT_ID, "w",
				     RENAME_WHITEOUT),
			 -EINVAL);
	ck_assert_int_eq(ops->unlink(pt, &ctx, d, "g"), 0);
	ck_assert_int_eq(ops->rmdir(pt, &ctx, FUSE_ROOT_ID, "d"), 0);
	ck_assert_int_eq(access(host_path("d"), F_OK), -1);
	ck_assert_int_eq(ops->mknod(pt, &ctx, FUSE_ROOT_ID, "dev", S_IFCHR | 0600, makedev(1, 3),
				    &e),
			 -EPERM);
	ck_assert_int_eq(ops->symlink(pt, &ctx, FUSE_ROOT_ID, "empty", "", &e), -ENOENT);
}
END_TEST

START_TEST(setattr_mode_size_times_owner)
{
	struct fuse_setattr sa = { .valid = FATTR_MODE, .mode = 0604 };
	struct stat st;
	uint64_t f;

	host_file("f", "0123456789");
	f = lookup(FUSE_ROOT_ID, "f");
	ck_assert_int_eq(ops->setattr(pt, &ctx, f, &sa, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0604);
	sa = (struct fuse_setattr){ .valid = FATTR_SIZE, .size = 3 };
	ck_assert_int_eq(ops->setattr(pt, &ctx, f, &sa, &st), 0);
	ck_assert_uint_eq(st.st_size, 3);
	sa = (struct fuse_setattr){ .valid = FATTR_ATIME | FATTR_MTIME,
				    .atime = { .tv_sec = 1000000, .tv_nsec = 5 },
				    .mtime = { .tv_sec = 2000000, .tv_nsec = 7 } };
	ck_assert_int_eq(ops->setattr(pt, &ctx, f, &sa, &st), 0);
	ck_assert_int_eq(st.st_mtim.tv_sec, 2000000);
	ck_assert_int_eq(st.st_atim.tv_nsec, 5);
	if (geteuid() == 0) {
		sa = (struct fuse_setattr){ .valid = FATTR_UID | FATTR_GID, .uid = 42, .gid = 43 };
		ck_assert_int_eq(ops->setattr(pt, &ctx, f, &sa, &st), 0);
		ck_assert_uint_eq(st.st_uid, 42);
		ck_assert_uint_eq(st.st_gid, 43);
	}
	sa = (struct fuse_setattr){ .valid = FATTR_SIZE, .size = 0 };
	ck_assert_int_eq(ops->setattr(pt, &ctx, FUSE_ROOT_ID, &sa, &st), -EISDIR);
}
END_TEST

START_TEST(write_kills_suid_when_asked)
{
	struct stat st;
	uint64_t f, fh;

	host_file("f", "x");
	chmod(host_path("f"), 06755);
	f = lookup(FUSE_ROOT_ID, "f");
	ck_assert_int_eq(ops->open(pt, &ctx, f, O_WRONLY, 0, &fh), 0);
	ck_assert_int_eq(write_str(f, fh, 0, "ab", 0), 0);
	ck_assert_int_eq(stat(host_path("f"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 06755); /* not asked: kept */
	ck_assert_int_eq(write_str(f, fh, 0, "ab", FUSE_WRITE_KILL_SUIDGID), 0);
	ck_assert_int_eq(stat(host_path("f"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(ops->release(pt, &ctx, f, fh, 0, 0), 0);
}
END_TEST

START_TEST(writeback_opens_write_only_files_readable)
{
	struct fuse_conn_params conn = { .writeback = true, .killpriv_v2 = true };
	char buf[8] = { 0 };
	uint64_t f, fh;
	size_t n;

	host_file("f", "abcdef");
	ck_assert_int_eq(ops->init(pt, &conn), 0);
	f = lookup(FUSE_ROOT_ID, "f");
	ck_assert_int_eq(ops->open(pt, &ctx, f, O_WRONLY | O_APPEND, 0, &fh), 0);
	ck_assert_int_eq(read_all(f, fh, 0, buf, 3, &n), 0); /* the guest page cache reads */
	ck_assert_str_eq(buf, "abc");
	ck_assert_int_eq(write_str(f, fh, 0, "XY", 0), 0); /* offsets are the guest's */
	ck_assert_int_eq(read_all(f, fh, 0, buf, 6, &n), 0);
	ck_assert_str_eq(buf, "XYcdef");
	ck_assert_int_eq(ops->release(pt, &ctx, f, fh, 0, 0), 0);
}
END_TEST

START_TEST(copy_range_seek_and_fallocate)
{
	struct fuse_entry e;
	uint64_t fh1, fh2, f, pos;
	char buf[16] = { 0 };
	size_t n;

	host_file("a", "0123456789");
	f = lookup(FUSE_ROOT_ID, "a");
	ck_assert_int_eq(ops->open(pt, &ctx, f, O_RDONLY, 0, &fh1), 0);
	ck_assert_int_eq(ops->create(pt, &ctx, FUSE_ROOT_ID, "b", 0644, O_RDWR, &e, &fh2), 0);
	ck_assert_int_eq(ops->copy_file_range(pt, &ctx, f, fh1, 2, e.nodeid, fh2, 0, 5, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(read_all(e.nodeid, fh2, 0, buf, sizeof(buf), &n), 0);
	ck_assert_str_eq(buf, "23456");
	ck_assert_int_eq(ops->fallocate(pt, &ctx, e.nodeid, fh2, 0, 0, 1 << 20), 0);
	ck_assert_int_eq(ops->lseek(pt, &ctx, e.nodeid, fh2, 0, SEEK_DATA, &pos), 0);
	ck_assert_uint_eq(pos, 0);
	ck_assert_int_eq(ops->lseek(pt, &ctx, e.nodeid, fh2, 0, SEEK_CUR, &pos), -EINVAL);
	ck_assert_int_eq(ops->fallocate(pt, &ctx, e.nodeid, fh2, 0x40 /* INSERT */, 0, 4096),
			 -EOPNOTSUPP);
	ck_assert_int_eq(ops->release(pt, &ctx, f, fh1, 0, 0), 0);
	ck_assert_int_eq(ops->release(pt, &ctx, e.nodeid, fh2, 0, 0), 0);
}
END_TEST

/* --- escapes --- */

START_TEST(names_cannot_leave_the_share)
{
	struct fuse_entry e;
	uint64_t fh, up;
	struct stat st;

	ck_assert_int_eq(ops->lookup(pt, &ctx, FUSE_ROOT_ID, "..", &e), -EPERM);
	ck_assert_int_eq(ops->lookup(pt, &ctx, FUSE_ROOT_ID, ".", &e), -EPERM);
	ck_assert_int_eq(ops->lookup(pt, &ctx, FUSE_ROOT_ID, "a/b", &e), -EINVAL);
	ck_assert_int_eq(ops->lookup(pt, &ctx, FUSE_ROOT_ID, "", &e), -EINVAL);
	ck_assert_int_eq(ops->create(pt, &ctx, FUSE_ROOT_ID, "../x", 0644, O_RDWR, &e, &fh),
			 -EINVAL);
	ck_assert_int_eq(ops->rename(pt, &ctx, FUSE_ROOT_ID, "..", FUSE_ROOT_ID, "x", 0), -EPERM);
	/* A symlink to / is an inode of its own: never followed, never a directory. */
	ck_assert_int_eq(symlink("/", host_path("up")), 0);
	ck_assert_int_eq(symlink("/etc/passwd", host_path("pw")), 0);
	up = lookup(FUSE_ROOT_ID, "up");
	ck_assert_int_eq(ops->getattr(pt, &ctx, up, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(ops->lookup(pt, &ctx, up, "etc", &e), -ENOTDIR);
	ck_assert_int_eq(ops->opendir(pt, &ctx, up, O_RDONLY, &fh), -ENOTDIR);
	ck_assert_int_eq(ops->open(pt, &ctx, lookup(FUSE_ROOT_ID, "pw"), O_RDONLY, 0, &fh), -ENXIO);
	ck_assert_int_eq(ops->mkdir(pt, &ctx, up, "x", 0755, &e), -ENOTDIR);
	/* Creating through the symlink's name must not write to /etc/passwd. */
	ck_assert_int_ne(ops->create(pt, &ctx, FUSE_ROOT_ID, "pw", 0644, O_RDWR | O_TRUNC, &e,
				     &fh),
			 0);
	ck_assert_int_eq(stat("/etc/passwd", &st), 0);
	ck_assert_int_gt(st.st_size, 0);
}
END_TEST

START_TEST(special_files_are_never_opened)
{
	uint64_t fh, p;

	ck_assert_int_eq(mkfifo(host_path("fifo"), 0666), 0);
	p = lookup(FUSE_ROOT_ID, "fifo");
	/* Opening a FIFO would block the worker: it must be refused outright. */
	ck_assert_int_eq(ops->open(pt, &ctx, p, O_RDONLY, 0, &fh), -ENXIO);
	ck_assert_int_eq(ops->opendir(pt, &ctx, p, O_RDONLY, &fh), -ENOTDIR);
}
END_TEST

/* --- directories --- */

struct collect {
	char names[128][16];
	unsigned n, budget;
	uint64_t last_off;
	uint64_t nodeids[128];
};

static int collect_fill(void *sink, const char *name, size_t len, uint64_t ino, unsigned type,
			uint64_t off, const struct fuse_entry *e)
{
	struct collect *c = sink;

	if (c->budget == 0)
		return 1;
	c->budget--;
	ck_assert_uint_lt(len, 16);
	memcpy(c->names[c->n], name, len);
	c->names[c->n][len] = '\0';
	c->nodeids[c->n] = e ? e->nodeid : 0;
	c->n++;
	c->last_off = off;
	return 0;
}

static void read_dir(uint64_t fh, bool plus, struct collect *c)
{
	uint64_t off = 0;
	unsigned before;

	do {
		before = c->n;
		c->budget = 7; /* small replies: the offsets must carry us along */
		ck_assert_int_eq(ops->readdir(pt, &ctx, FUSE_ROOT_ID, fh, off, plus, collect_fill, c),
				 0);
		off = c->last_off;
	} while (c->n > before);
}

START_TEST(readdir_in_small_pieces)
{
	struct collect c = { .n = 0 };
	uint64_t fh;
	char name[16];

	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		host_file(name, "");
	}
	ck_assert_int_eq(ops->opendir(pt, &ctx, FUSE_ROOT_ID, O_RDONLY, &fh), 0);
	read_dir(fh, false, &c);
	ck_assert_uint_eq(c.n, 52); /* ".", ".." and 50 files, each once */
	for (int i = 0; i < 50; i++) {
		bool found = false;

		snprintf(name, sizeof(name), "f%02d", i);
		for (unsigned j = 0; j < c.n; j++)
			found |= strcmp(c.names[j], name) == 0;
		ck_assert_msg(found, "%s missing", name);
	}
	ck_assert_uint_eq(inodes(), 1); /* plain READDIR looks nothing up */
	ck_assert_int_eq(ops->releasedir(pt, &ctx, FUSE_ROOT_ID, fh), 0);
	ck_assert_int_eq(ops->releasedir(pt, &ctx, FUSE_ROOT_ID, fh), -EBADF);
}
END_TEST

START_TEST(readdirplus_counts_exactly_the_entries_sent)
{
	struct collect c = { .n = 0 };
	uint64_t fh;
	char name[16];

	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		host_file(name, "");
	}
	ck_assert_int_eq(ops->opendir(pt, &ctx, FUSE_ROOT_ID, O_RDONLY, &fh), 0);
	read_dir(fh, true, &c);
	ck_assert_uint_eq(c.n, 22);
	ck_assert_uint_eq(inodes(), 21); /* the root and 20 files; "." and ".." not counted */
	for (unsigned j = 0; j < c.n; j++) {
		if (strcmp(c.names[j], ".") == 0 || strcmp(c.names[j], "..") == 0)
			ck_assert_uint_eq(c.nodeids[j], 0);
		else
			ops->forget(pt, c.nodeids[j], 1);
	}
	ck_assert_uint_eq(inodes(), 1); /* one lookup each, no more */
	ck_assert_int_eq(ops->releasedir(pt, &ctx, FUSE_ROOT_ID, fh), 0);
}
END_TEST

/* --- xattrs --- */

START_TEST(xattrs_and_their_policy)
{
	char buf[256];
	size_t n;
	uint64_t f;

	host_file("f", "");
	f = lookup(FUSE_ROOT_ID, "f");
	if (ops->setxattr(pt, &ctx, f, "user.a", "1", 1, 0) == -EOPNOTSUPP)
		return; /* no user xattrs on this file system */
	ck_assert_int_eq(ops->getxattr(pt, &ctx, f, "user.a", NULL, 0, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ops->getxattr(pt, &ctx, f, "user.a", buf, sizeof(buf), &n), 0);
	ck_assert_mem_eq(buf, "1", 1);
	ck_assert_int_eq(ops->setxattr(pt, &ctx, f, "user.a", "2", 1, XATTR_CREATE), -EEXIST);
	ck_assert_int_eq(ops->listxattr(pt, &ctx, f, buf, sizeof(buf), &n), 0);
	ck_assert_ptr_nonnull(memmem(buf, n, "user.a", 7));
	ck_assert_int_eq(getxattr(host_path("f"), "user.a", buf, sizeof(buf)), 1);
	ck_assert_int_eq(ops->removexattr(pt, &ctx, f, "user.a"), 0);
	ck_assert_int_eq(ops->getxattr(pt, &ctx, f, "user.a", buf, sizeof(buf), &n), -ENODATA);
	ck_assert_int_eq(ops->setxattr(pt, &ctx, f, "trusted.x", "1", 1, 0), -EPERM);
	ck_assert_int_eq(ops->setxattr(pt, &ctx, f, "security.capability", "1", 1, 0), -EPERM);
	ck_assert_int_eq(ops->setxattr(pt, &ctx, f, "system.posix_acl_access", "1", 1, 0),
			 -EOPNOTSUPP);
	ck_assert_int_eq(ops->removexattr(pt, &ctx, f, "trusted.x"), -EPERM);
}
END_TEST

/* --- locks --- */

struct waitarg {
	uint64_t node, fh, owner, unique;
	int result;
	struct timespec done;
};

static void *wait_lock(void *p)
{
	struct waitarg *w = p;
	struct fuse_ctx c = { .unique = w->unique };
	struct fuse_lock lk = { .start = 0, .end = INT64_MAX, .type = F_WRLCK };

	w->result = ops->setlk(pt, &c, w->node, w->fh, w->owner, &lk, false, true);
	clock_gettime(CLOCK_MONOTONIC, &w->done);
	return NULL;
}

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

START_TEST(posix_locks_follow_owners)
{
	struct fuse_lock wr = { .start = 0, .end = 99, .type = F_WRLCK }, q;
	struct fuse_lock un = { .start = 0, .end = INT64_MAX, .type = F_UNLCK };
	uint64_t f, fh1, fh2;

	host_file("f", "x");
	f = lookup(FUSE_ROOT_ID, "f");
	ck_assert_int_eq(ops->open(pt, &ctx, f, O_RDWR, 0, &fh1), 0);
	ck_assert_int_eq(ops->open(pt, &ctx, f, O_RDWR, 0, &fh2), 0);
	ck_assert_int_eq(ops->setlk(pt, &ctx, f, fh1, 0xA, &wr, false, false), 0);
	/* The same owner through another handle: no conflict, as POSIX has it. */
	ck_assert_int_eq(ops->setlk(pt, &ctx, f, fh2, 0xA, &wr, false, false), 0);
	ck_assert_int_eq(ops->setlk(pt, &ctx, f, fh2, 0xB, &wr, false, false), -EAGAIN);
	q = (struct fuse_lock){ .start = 50, .end = 60, .type = F_RDLCK };
	ck_assert_int_eq(ops->getlk(pt, &ctx, f, fh2, 0xB, &q), 0);
	ck_assert_uint_eq(q.type, F_WRLCK);
	ck_assert_uint_eq(q.start, 0);
	ck_assert_uint_eq(q.end, 99);
	q = (struct fuse_lock){ .start = 100, .end = 200, .type = F_WRLCK };
	ck_assert_int_eq(ops->getlk(pt, &ctx, f, fh2, 0xB, &q), 0);
	ck_assert_uint_eq(q.type, F_UNLCK);
	/* A close by owner A (FLUSH) drops A's locks. */
	ck_assert_int_eq(ops->flush(pt, &ctx, f, fh1, 0xA), 0);
	ck_assert_int_eq(ops->setlk(pt, &ctx, f, fh2, 0xB, &wr, false, false), 0);
	ck_assert_int_eq(ops->setlk(pt, &ctx, f, fh2, 0xB, &un, false, false), 0);
	ck_assert_int_eq(ops->release(pt, &ctx, f, fh1, 0, 0), 0);
	ck_assert_int_eq(ops->release(pt, &ctx, f, fh2, FUSE_RELEASE_FLUSH, 0xB), 0);
}
END_TEST

START_TEST(setlkw_wakes_on_unlock_and_on_interrupt)
{
	struct fuse_lock wr = { .start = 0, .end = INT64_MAX, .type = F_WRLCK };
	struct fuse_lock un = { .start = 0, .end = INT64_MAX, .type = F_UNLCK };
	struct waitarg w;
	struct timespec t0;
	pthread_t th;
	uint64_t f, fh1, fh2;

	host_file("f", "x");
	f = lookup(FUSE_ROOT_ID, "f");
	ck_assert_int_eq(ops->open(pt, &ctx, f, O_RDWR, 0, &fh1), 0);
	ck_assert_int_eq(ops->open(pt, &ctx, f, O_RDWR, 0, &fh2), 0);
	ck_assert_int_eq(ops->setlk(pt, &ctx, f, fh1, 0xA, &wr, false, false), 0);
	/* B waits; A unlocks; B gets it promptly. */
	w = (struct waitarg){ .node = f, .fh = fh2, .owner = 0xB, .unique = 77 };
	pthread_create(&th, NULL, wait_lock, &w);
	usleep(300000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(ops->setlk(pt, &ctx, f, fh1, 0xA, &un, false, false), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(w.result, 0);
	ck_assert(since(&t0, &w.done) < 0.04); /* woken, not polled at 50 ms */
	/* Now A waits on B, and the guest interrupts it. */
	w = (struct waitarg){ .node = f, .fh = fh1, .owner = 0xA, .unique = 78 };
	pthread_create(&th, NULL, wait_lock, &w);
	usleep(100000);
	ops->interrupt(pt, 79); /* someone else's request: no effect */
	usleep(100000);
	ops->interrupt(pt, 78);
	pthread_join(th, NULL);
	ck_assert_int_eq(w.result, -EINTR);
	/* And a wait ends when its owner's file is closed (a killed guest process). */
	w = (struct waitarg){ .node = f, .fh = fh1, .owner = 0xA, .unique = 80 };
	pthread_create(&th, NULL, wait_lock, &w);
	usleep(100000);
	ck_assert_int_eq(ops->flush(pt, &ctx, f, fh1, 0xA), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(w.result, -EINTR);
	ck_assert_int_eq(ops->release(pt, &ctx, f, fh1, 0, 0), 0);
	ck_assert_int_eq(ops->release(pt, &ctx, f, fh2, 0, 0), 0);
}
END_TEST

START_TEST(a_wait_that_closes_a_cycle_is_edeadlk)
{
	struct fuse_lock a = { .start = 0, .end = 9, .type = F_WRLCK };
	struct fuse_lock b = { .start = 10, .end = 19, .type = F_WRLCK };
	struct fuse_ctx cb = { .unique = 501 };
	struct waitarg w;
	pthread_t th;
	uint64_t f, fh1, fh2;

	host_file("f", "x");
	f = lookup(FUSE_ROOT_ID, "f");
	ck_assert_int_eq(ops->open(pt, &ctx, f, O_RDWR, 0, &fh1), 0);
	ck_assert_int_eq(ops->open(pt, &ctx, f, O_RDWR, 0, &fh2), 0);
	ck_assert_int_eq(ops->setlk(pt, &ctx, f, fh1, 0xA, &a, false, false), 0);
	ck_assert_int_eq(ops->setlk(pt, &ctx, f, fh2, 0xB, &b, false, false), 0);
	/* A waits for everything (so for B's range too)... */
	w = (struct waitarg){ .node = f, .fh = fh1, .owner = 0xA, .unique = 500, .result = 1 };
	pthread_create(&th, NULL, wait_lock, &w);
	usleep(200000);
	/* ...so B waiting for A's range would never end. */
	ck_assert_int_eq(ops->setlk(pt, &cb, f, fh2, 0xB, &a, false, true), -EDEADLK);
	/* Not a cycle: B unlocks part of its range, A still waits on the rest. */
	b = (struct fuse_lock){ .start = 10, .end = 14, .type = F_UNLCK };
	ck_assert_int_eq(ops->setlk(pt, &cb, f, fh2, 0xB, &b, false, false), 0);
	usleep(100000);
	ck_assert_int_eq(w.result, 1); /* still waiting */
	ck_assert_int_eq(ops->flush(pt, &ctx, f, fh2, 0xB), 0); /* B's close: A proceeds */
	pthread_join(th, NULL);
	ck_assert_int_eq(w.result, 0);
	ck_assert_int_eq(ops->release(pt, &ctx, f, fh1, 0, 0), 0);
	ck_assert_int_eq(ops->release(pt, &ctx, f, fh2, 0, 0), 0);
}
END_TEST

START_TEST(too_many_waiters_get_enolck)
{
	struct fuse_lock wr = { .start = 0, .end = INT64_MAX, .type = F_WRLCK };
	struct waitarg w[3];
	pthread_t th[3];
	uint64_t f, fh;

	host_file("f", "x");
	f = lookup(FUSE_ROOT_ID, "f");
	ck_assert_int_eq(ops->open(pt, &ctx, f, O_RDWR, 0, &fh), 0);
	ck_assert_int_eq(ops->setlk(pt, &ctx, f, fh, 0xA, &wr, false, false), 0);
	for (int i = 0; i < 2; i++) {
		w[i] = (struct waitarg){ .node = f, .fh = fh, .owner = 0xB0 + i, .unique = 90 + i };
		pthread_create(&th[i], NULL, wait_lock, &w[i]);
	}
	usleep(200000);
	w[2] = (struct waitarg){ .node = f, .fh = fh, .owner = 0xC, .unique = 99 };
	wait_lock(&w[2]);
	ck_assert_int_eq(w[2].result, -ENOLCK);
	ops->interrupt(pt, 0); /* everyone */
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(w[i].result, -EINTR);
	}
	ck_assert_int_eq(ops->release(pt, &ctx, f, fh, 0, 0), 0);
}
END_TEST

START_TEST(flock_locks_live_on_the_handle)
{
	struct fuse_lock ex = { .start = 0, .end = INT64_MAX, .type = F_WRLCK };
	uint64_t f, fh1, fh2;

	host_file("f", "x");
	f = lookup(FUSE_ROOT_ID, "f");
	ck_assert_int_eq(ops->open(pt, &ctx, f, O_RDONLY, 0, &fh1), 0);
	ck_assert_int_eq(ops->open(pt, &ctx, f, O_RDONLY, 0, &fh2), 0);
	ck_assert_int_eq(ops->setlk(pt, &ctx, f, fh1, 1, &ex, true, false), 0);
	ck_assert_int_eq(ops->setlk(pt, &ctx, f, fh2, 1, &ex, true, false), -EAGAIN);
	ck_assert_int_eq(ops->release(pt, &ctx, f, fh1, FUSE_RELEASE_FLOCK_UNLOCK, 0), 0);
	ck_assert_int_eq(ops->setlk(pt, &ctx, f, fh2, 1, &ex, true, false), 0);
	ck_assert_int_eq(ops->release(pt, &ctx, f, fh2, 0, 0), 0);
}
END_TEST

/* --- read-only shares --- */

START_TEST(readonly_share_refuses_every_change)
{
	struct fuse_setattr sa = { .valid = FATTR_MODE, .mode = 0600 };
	struct fuse_entry e;
	struct stat st;
	char buf[8];
	uint64_t f, fh;
	size_t n;

	host_file("f", "ro");
	pt_destroy(pt);
	make_pt(true, 0);
	f = lookup(FUSE_ROOT_ID, "f");
	ck_assert_int_eq(ops->create(pt, &ctx, FUSE_ROOT_ID, "n", 0644, O_RDWR, &e, &fh), -EROFS);
	ck_assert_int_eq(ops->mkdir(pt, &ctx, FUSE_ROOT_ID, "d", 0755, &e), -EROFS);
	ck_assert_int_eq(ops->mknod(pt, &ctx, FUSE_ROOT_ID, "p", S_IFIFO | 0644, 0, &e), -EROFS);
	ck_assert_int_eq(ops->symlink(pt, &ctx, FUSE_ROOT_ID, "s", "f", &e), -EROFS);
	ck_assert_int_eq(ops->link(pt, &ctx, f, FUSE_ROOT_ID, "h", &e), -EROFS);
	ck_assert_int_eq(ops->unlink(pt, &ctx, FUSE_ROOT_ID, "f"), -EROFS);
	ck_assert_int_eq(ops->rmdir(pt, &ctx, FUSE_ROOT_ID, "f"), -EROFS);
	ck_assert_int_eq(ops->rename(pt, &ctx, FUSE_ROOT_ID, "f", FUSE_ROOT_ID, "g", 0), -EROFS);
	ck_assert_int_eq(ops->setattr(pt, &ctx, f, &sa, &st), -EROFS);
	ck_assert_int_eq(ops->setxattr(pt, &ctx, f, "user.a", "1", 1, 0), -EROFS);
	ck_assert_int_eq(ops->removexattr(pt, &ctx, f, "user.a"), -EROFS);
	ck_assert_int_eq(ops->access(pt, &ctx, f, W_OK), -EROFS);
	ck_assert_int_eq(ops->open(pt, &ctx, f, O_RDWR, 0, &fh), -EROFS);
	ck_assert_int_eq(ops->open(pt, &ctx, f, O_RDONLY | O_TRUNC, 0, &fh), -EROFS);
	ck_assert_int_eq(ops->open(pt, &ctx, f, O_RDONLY, 0, &fh), 0);
	ck_assert_int_eq(write_str(f, fh, 0, "xx", 0), -EROFS);
	ck_assert_int_eq(ops->fallocate(pt, &ctx, f, fh, 0, 0, 10), -EROFS);
	ck_assert_int_eq(read_all(f, fh, 0, buf, sizeof(buf), &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ops->release(pt, &ctx, f, fh, 0, 0), 0);
	ck_assert_int_eq(stat(host_path("f"), &st), 0);
	ck_assert_uint_eq(st.st_size, 2);
}
END_TEST

/* --- descriptor budget --- */

START_TEST(tree_larger_than_the_fd_budget)
{
	struct pt_stats ps;
	uint64_t ids[200];
	struct stat st, hs;
	char name[16];

	pt_destroy(pt);
	make_pt(false, 16);
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		host_file(name, name);
		ids[i] = lookup(FUSE_ROOT_ID, name);
	}
	pt_get_stats(pt, &ps);
	if (ps.evictions == 0)
		return; /* no file handles here (or no CAP_DAC_READ_SEARCH): nothing evicts */
	ck_assert_uint_le(ps.open_inode_fds, 16);
	ck_assert_uint_eq(ps.inodes, 201);
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		ck_assert_int_eq(ops->getattr(pt, &ctx, ids[i], &st), 0);
		ck_assert_int_eq(stat(host_path(name), &hs), 0);
		ck_assert_uint_eq(st.st_ino, hs.st_ino);
	}
	/* An evicted inode deleted on the host is stale, not someone else's file. */
	ck_assert_int_eq(unlink(host_path("f000")), 0);
	for (int i = 1; i < 40; i++)
		ck_assert_int_eq(ops->getattr(pt, &ctx, ids[i], &st), 0); /* evict f000 again */
	ck_assert_int_eq(ops->getattr(pt, &ctx, ids[0], &st), -ESTALE);
	/* A lookup of a known name still gives the same node ID after eviction. */
	ck_assert_uint_eq(lookup(FUSE_ROOT_ID, "f150"), ids[150]);
	pt_get_stats(pt, &ps);
	ck_assert_uint_gt(ps.reopens, 0);
}
END_TEST

START_TEST(fd_exhaustion_is_an_error_not_a_crash)
{
	struct rlimit rl;
	struct fuse_entry e;
	uint64_t fh[64];
	char name[16];
	int opened = 0, err = 0;

	/* Check runs each test in its own process, so the lower limit stays here. */
	rl.rlim_cur = rl.rlim_max = 48;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	pt_destroy(pt);
	make_pt(false, 1000); /* a budget the limit cannot honour */
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "g%03d", i);
		host_file(name, "");
	}
	for (int i = 0; i < 64 && !err; i++) {
		snprintf(name, sizeof(name), "g%03d", i);
		err = ops->create(pt, &ctx, FUSE_ROOT_ID, name, 0644, O_RDWR, &e, &fh[opened]);
		if (!err)
			opened++;
	}
	ck_assert(err == -EMFILE || err == -ENFILE);
	ck_assert_int_gt(opened, 5);
	/* Lookups keep working by evicting idle inode descriptors (where handles exist). */
	for (int i = 64; i < 100; i++) {
		struct fuse_entry e2;

		snprintf(name, sizeof(name), "g%03d", i);
		err = ops->lookup(pt, &ctx, FUSE_ROOT_ID, name, &e2);
		ck_assert(err == 0 || err == -EMFILE || err == -ENFILE);
	}
	for (int i = 0; i < opened; i++)
		ck_assert_int_eq(ops->release(pt, &ctx, 0, fh[i], 0, 0), 0);
}
END_TEST

static Suite *passthrough_suite(void)
{
	Suite *s = suite_create("passthrough");
	TCase *t = tcase_create("passthrough");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, lookup_counts_and_forget);
	tcase_add_test(t, destroy_forgets_all_but_root);
	tcase_add_test(t, create_write_read_release);
	tcase_add_test(t, created_objects_belong_to_the_caller);
	tcase_add_test(t, namespace_ops);
	tcase_add_test(t, setattr_mode_size_times_owner);
	tcase_add_test(t, write_kills_suid_when_asked);
	tcase_add_test(t, writeback_opens_write_only_files_readable);
	tcase_add_test(t, copy_range_seek_and_fallocate);
	tcase_add_test(t, names_cannot_leave_the_share);
	tcase_add_test(t, special_files_are_never_opened);
	tcase_add_test(t, readdir_in_small_pieces);
	tcase_add_test(t, readdirplus_counts_exactly_the_entries_sent);
	tcase_add_test(t, xattrs_and_their_policy);
	tcase_add_test(t, posix_locks_follow_owners);
	tcase_add_test(t, setlkw_wakes_on_unlock_and_on_interrupt);
	tcase_add_test(t, a_wait_that_closes_a_cycle_is_edeadlk);
	tcase_add_test(t, too_many_waiters_get_enolck);
	tcase_add_test(t, flock_locks_live_on_the_handle);
	tcase_add_test(t, readonly_share_refuses_every_change);
	tcase_add_test(t, tree_larger_than_the_fd_budget);
	tcase_add_test(t, fd_exhaustion_is_an_error_not_a_crash);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(passthrough_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
