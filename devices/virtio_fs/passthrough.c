/* passthrough.c: the passthrough backend's set-up, shared helpers and inode ops (LOOKUP ... STATFS). */
/*
 * Safety rules for every file in pt_*.c: a guest name is one checked component, opened
 * relative to an O_PATH directory descriptor with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) (openat with O_NOFOLLOW before Linux 5.6); no host path is ever
 * built from guest strings; only regular files and directories are ever opened for I/O
 * (through /proc/self/fd/N of the inode's O_PATH descriptor), never devices or FIFOs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "pt_internal.h"

#define PT_DEFAULT_WAITERS 2U
#define PT_MIN_BUDGET 16U
#define PT_SHRINK_BATCH 64U

int pt_name_ok(const char *name)
{
	return fuse_name_check(name, strnlen(name, FUSE_NAME_MAX + 1));
}

static bool fd_exhausted(int err)
{
	return err == -EMFILE || err == -ENFILE;
}

static int openat_once(struct pt *pt, int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = { .flags = (uint64_t)flags,
				.mode = (flags & O_CREAT) ? mode : 0,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS };
	int fd;

	if (!atomic_load(&pt->no_openat2)) {
		fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
		if (fd >= 0 || errno != ENOSYS)
			return fd >= 0 ? fd : -errno;
		atomic_store(&pt->no_openat2, true);
	}
	fd = openat(dirfd, name, flags | O_NOFOLLOW, mode);
	return fd >= 0 ? fd : -errno;
}

int pt_openat(struct pt *pt, int dirfd, const char *name, int flags, mode_t mode)
{
	int fd = openat_once(pt, dirfd, name, flags | O_CLOEXEC, mode);

	/* Out of descriptors: close some idle inode descriptors and try once more. */
	if (fd_exhausted(fd) && pt_itab_shrink(pt->itab, PT_SHRINK_BATCH) > 0)
		fd = openat_once(pt, dirfd, name, flags | O_CLOEXEC, mode);
	return fd;
}

int pt_reopen_fd(struct pt *pt, int fd, int flags)
{
	char name[16];
	int nfd;

	snprintf(name, sizeof(name), "%d", fd);
	nfd = openat(pt->proc_fd, name, (flags & ~O_NOFOLLOW) | O_CLOEXEC);
	if (nfd < 0 && (errno == EMFILE || errno == ENFILE) &&
	    pt_itab_shrink(pt->itab, PT_SHRINK_BATCH) > 0)
		nfd = openat(pt->proc_fd, name, (flags & ~O_NOFOLLOW) | O_CLOEXEC);
	return nfd >= 0 ? nfd : -errno;
}

int pt_reopen(struct pt *pt, const struct pt_iref *ir, int flags)
{
	if (!S_ISREG(ir->type) && !S_ISDIR(ir->type))
		return -ENXIO;
	return pt_reopen_fd(pt, ir->fd, flags);
}

static int pt_insert(struct pt *pt, int fd, struct fuse_entry *e)
{
	if (fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return pt_itab_insert(pt->itab, fd, &e->attr, &e->nodeid, &e->generation);
}

int pt_lookup_at(struct pt *pt, int dirfd, const char *name, struct fuse_entry *e)
{
	int fd = pt_openat(pt, dirfd, name, O_PATH | O_NOFOLLOW, 0);

	return fd < 0 ? fd : pt_insert(pt, fd, e);
}

int pt_entry_from_fd(struct pt *pt, int fd, struct fuse_entry *e)
{
	int pfd = pt_reopen_fd(pt, fd, O_PATH);

	return pfd < 0 ? pfd : pt_insert(pt, pfd, e);
}

int pt_get_dir(struct pt *pt, uint64_t nodeid, struct pt_iref *ir)
{
	int err = pt_itab_get(pt->itab, nodeid, ir);

	if (!err && !S_ISDIR(ir->type)) {
		pt_itab_put(pt->itab, ir);
		err = -ENOTDIR;
	}
	return err;
}

int pt_kill_suidgid(int fd)
{
	struct stat st;
	mode_t kill = S_ISUID;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (st.st_mode & S_IXGRP)
		kill |= S_ISGID; /* setgid without group-exec is mandatory locking, kept */
	if (!(st.st_mode & kill))
		return 0;
	return fchmod(fd, st.st_mode & ~kill & 07777) == 0 ? 0 : -errno;
}

int pt_open_flags(struct pt *pt, int guest)
{
	int f = guest & (O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | O_DSYNC | O_NOATIME);

	if ((f & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	if (atomic_load(&pt->writeback)) {
		/* The guest's page cache reads back what it writes, and supplies the offsets. */
		if ((f & O_ACCMODE) == O_WRONLY)
			f = (f & ~O_ACCMODE) | O_RDWR;
		f &= ~O_APPEND;
	}
	if (pt->readonly && ((f & O_ACCMODE) != O_RDONLY || (f & O_TRUNC)))
		return -EROFS;
	return f;
}

/* --- set-up --- */

static unsigned default_budget(void)
{
	struct rlimit rl;
	rlim_t n;

	/* Leave a quarter for open files, lock descriptors and the rest of the VMM. */
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 768;
	n = rl.rlim_cur == RLIM_INFINITY ? (1U << 20) : rl.rlim_cur / 4 * 3;
	if (n > (1U << 20))
		n = 1U << 20;
	return n < PT_MIN_BUDGET ? PT_MIN_BUDGET : (unsigned)n;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_error("virtio-fs: cannot raise RLIMIT_NOFILE to %llu",
				  (unsigned long long)rl.rlim_max);
	}
}

static int pt_open_root(struct pt *pt, const char *root, int *root_fd, struct stat *st)
{
	*root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*root_fd < 0)
		return -errno;
	if (fstat(*root_fd, st) != 0)
		return -errno;
	pt->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pt->proc_fd < 0)
		return -errno;
	pt->syncfs_fd = openat(*root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return pt->syncfs_fd < 0 ? -errno : 0;
}

int pt_create(const struct pt_config *cfg, struct pt **out)
{
	struct pt *pt = calloc(1, sizeof(*pt));
	struct stat st;
	int root_fd = -1, err;

	if (!pt)
		return -ENOMEM;
	pt->proc_fd = pt->syncfs_fd = -1;
	pt->readonly = cfg->readonly;
	pt->unchanging = cfg->unchanging && cfg->readonly;
	raise_nofile();
	err = pt_open_root(pt, cfg->root, &root_fd, &st);
	if (!err) {
		err = pt_itab_create(root_fd, &st, cfg->fd_budget ? cfg->fd_budget
								  : default_budget(),
				     &pt->itab);
		root_fd = -1; /* the table owns it now, even on failure */
	}
	if (!err)
		err = pt_htab_create(&pt->htab);
	if (!err)
		err = pt_locks_create(cfg->max_lock_waiters ? cfg->max_lock_waiters
							    : PT_DEFAULT_WAITERS,
				      &pt->locks);
	if (err) {
		if (root_fd >= 0)
			close(root_fd);
		pt_destroy(pt);
		return err;
	}
	*out = pt;
	return 0;
}

void pt_destroy(struct pt *pt)
{
	if (!pt)
		return;
	if (pt->locks)
		pt_locks_destroy(pt->locks);
	pt_htab_destroy(pt->htab);
	pt_itab_destroy(pt->itab);
	if (pt->proc_fd >= 0)
		close(pt->proc_fd);
	if (pt->syncfs_fd >= 0)
		close(pt->syncfs_fd);
	free(pt);
}

void pt_get_stats(struct pt *pt, struct pt_stats *st)
{
	struct pt_itab_stats is;

	pt_itab_get_stats(pt->itab, &is);
	*st = (struct pt_stats){ .inodes = is.inodes, .open_inode_fds = is.open_fds,
				 .fd_budget = is.fd_budget, .evictions = is.evictions,
				 .reopens = is.reopens, .handles = pt_htab_count(pt->htab) };
	pt_locks_counts(pt->locks, &st->lock_owners, &st->lock_waiters);
}

/* --- session ops --- */

static int pt_op_init(void *be, const struct fuse_conn_params *conn)
{
	struct pt *pt = be;

	atomic_store(&pt->writeback, conn->writeback);
	atomic_store(&pt->killpriv_v2, conn->killpriv_v2);
	return 0;
}

static void pt_op_destroy(void *be)
{
	struct pt *pt = be;

	pt_locks_clear(pt->locks);
	pt_htab_clear(pt->htab);
	pt_itab_forget_all(pt->itab);
}

static void pt_op_interrupt(void *be, uint64_t unique)
{
	pt_locks_interrupt(((struct pt *)be)->locks, unique);
}

/* --- inode ops --- */

static int pt_op_lookup(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
			struct fuse_entry *e)
{
	struct pt *pt = be;
	struct pt_iref dir;
	int err = pt_name_ok(name);

	if (!err)
		err = pt_get_dir(pt, parent, &dir);
	if (err)
		return err;
	err = pt_lookup_at(pt, dir.fd, name, e);
	pt_itab_put(pt->itab, &dir);
	return err;
}

static void pt_op_forget(void *be, uint64_t nodeid, uint64_t nlookup)
{
	pt_itab_forget(((struct pt *)be)->itab, nodeid, nlookup);
}

static int pt_op_getattr(void *be, const struct fuse_ctx *c, uint64_t nodeid, struct stat *st)
{
	struct pt *pt = be;
	struct pt_iref ir;
	int err = pt_itab_get(pt->itab, nodeid, &ir);

	if (err)
		return err;
	if (fstatat(ir.fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
		err = -errno;
	pt_itab_put(pt->itab, &ir);
	return err;
}

static int pt_op_readlink(void *be, const struct fuse_ctx *c, uint64_t nodeid, char *buf,
			  size_t size, size_t *len)
{
	struct pt *pt = be;
	struct pt_iref ir;
	ssize_t n;
	int err = pt_itab_get(pt->itab, nodeid, &ir);

	if (err)
		return err;
	n = S_ISLNK(ir.type) ? readlinkat(ir.fd, "", buf, size) : (errno = EINVAL, -1);
	pt_itab_put(pt->itab, &ir);
	if (n < 0)
		return -errno;
	*len = (size_t)n;
	return 0;
}

static int pt_op_statfs(void *be, const struct fuse_ctx *c, uint64_t nodeid, struct statvfs *sv)
{
	struct pt *pt = be;
	struct pt_iref ir;
	int err = pt_itab_get(pt->itab, nodeid, &ir);

	if (err)
		return err;
	if (fstatvfs(ir.fd, sv) != 0)
		err = -errno;
	pt_itab_put(pt->itab, &ir);
	return err;
}

static int pt_op_access(void *be, const struct fuse_ctx *c, uint64_t nodeid, int mask)
{
	struct pt *pt = be;
	struct pt_creds cr;
	struct pt_iref ir;
	int err;

	if (pt->readonly && (mask & W_OK))
		return -EROFS;
	err = pt_itab_get(pt->itab, nodeid, &ir);
	if (err)
		return err;
	err = pt_creds_enter(c, &cr);
	if (!err) {
		/* AT_EACCESS: check with the (switched) effective ids, not the real ones. */
		if (faccessat(ir.fd, "", mask, AT_EMPTY_PATH | AT_EACCESS) != 0)
			err = -errno;
		pt_creds_leave(&cr);
	}
	pt_itab_put(pt->itab, &ir);
	return err;
}

static int pt_op_syncfs(void *be, const struct fuse_ctx *c, uint64_t nodeid)
{
	struct pt *pt = be;

	return syncfs(pt->syncfs_fd) == 0 ? 0 : -errno;
}

const struct fuse_backend_ops pt_backend_ops = {
	.init = pt_op_init,
	.destroy = pt_op_destroy,
	.interrupt = pt_op_interrupt,
	.lookup = pt_op_lookup,
	.forget = pt_op_forget,
	.getattr = pt_op_getattr,
	.setattr = pt_op_setattr,
	.readlink = pt_op_readlink,
	.statfs = pt_op_statfs,
	.access = pt_op_access,
	.syncfs = pt_op_syncfs,
	.mknod = pt_op_mknod,
	.mkdir = pt_op_mkdir,
	.symlink = pt_op_symlink,
	.unlink = pt_op_unlink,
	.rmdir = pt_op_rmdir,
	.rename = pt_op_rename,
	.link = pt_op_link,
	.open = pt_op_open,
	.create = pt_op_create,
	.read = pt_op_read,
	.write = pt_op_write,
	.flush = pt_op_flush,
	.release = pt_op_release,
	.fsync = pt_op_fsync,
	.fallocate = pt_op_fallocate,
	.lseek = pt_op_lseek,
	.copy_file_range = pt_op_copy_file_range,
	.opendir = pt_op_opendir,
	.readdir = pt_op_readdir,
	.readdir_at = pt_op_readdir_at,
	.releasedir = pt_op_releasedir,
	.fsyncdir = pt_op_fsyncdir,
	.setxattr = pt_op_setxattr,
	.getxattr = pt_op_getxattr,
	.listxattr = pt_op_listxattr,
	.removexattr = pt_op_removexattr,
	.getlk = pt_op_getlk,
	.setlk = pt_op_setlk,
	.map_open = pt_op_map_open,
};
