/* pt_attr.c: SETATTR for the passthrough backend: mode, owner, size and times, in that order. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pt_internal.h"

static int attr_mode(struct pt *pt, const struct pt_iref *ir, int hfd,
		     const struct fuse_setattr *sa)
{
	char name[16];

	if (!(sa->valid & FATTR_MODE))
		return 0;
	if (hfd >= 0)
		return fchmod(hfd, sa->mode) == 0 ? 0 : -errno;
	if (S_ISLNK(ir->type))
		return -EOPNOTSUPP; /* Linux has no mode on symlinks */
	/* Through the magic link: changes the inode itself, opens nothing. */
	snprintf(name, sizeof(name), "%d", ir->fd);
	return fchmodat(pt->proc_fd, name, sa->mode, 0) == 0 ? 0 : -errno;
}

static int attr_owner(const struct pt_iref *ir, const struct fuse_setattr *sa)
{
	uid_t uid = (sa->valid & FATTR_UID) ? sa->uid : (uid_t)-1;
	gid_t gid = (sa->valid & FATTR_GID) ? sa->gid : (gid_t)-1;

	if (!(sa->valid & (FATTR_UID | FATTR_GID)))
		return 0;
	/* The host clears setuid/setgid on a chown of a non-directory, as it should. */
	if (fchownat(ir->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	return 0;
}

static int attr_size(struct pt *pt, const struct pt_iref *ir, int hfd,
		     const struct fuse_setattr *sa)
{
	int fd = hfd, err = 0;

	if (!(sa->valid & FATTR_SIZE))
		return 0;
	if (S_ISDIR(ir->type))
		return -EISDIR;
	if (!S_ISREG(ir->type))
		return -EINVAL;
	if (fd < 0 || ftruncate(fd, (off_t)sa->size) != 0) {
		/* No handle, or one not open for writing: truncate through a fresh one. */
		fd = pt_reopen(pt, ir, O_WRONLY);
		if (fd < 0)
			return fd;
		if (ftruncate(fd, (off_t)sa->size) != 0)
			err = -errno;
	}
	if (!err && (sa->valid & FATTR_KILL_SUIDGID))
		err = pt_kill_suidgid(fd);
	if (fd != hfd)
		close(fd);
	return err;
}

static int attr_times(const struct pt_iref *ir, int hfd, const struct fuse_setattr *sa)
{
	struct timespec ts[2] = { sa->atime, sa->mtime };

	if (!(sa->valid & (FATTR_ATIME | FATTR_MTIME)))
		return 0;
	if (hfd >= 0)
		return futimens(hfd, ts) == 0 ? 0 : -errno;
	if (utimensat(ir->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	return 0;
}

/* The open handle named by FATTR_FH, if it is a file handle of this very inode. */
static int attr_handle(struct pt *pt, uint64_t nodeid, const struct fuse_setattr *sa,
		       struct pt_href *hr)
{
	if (!(sa->valid & FATTR_FH) || pt_htab_get(pt->htab, sa->fh, false, hr) != 0)
		return -1;
	if (hr->nodeid != nodeid) {
		pt_htab_put(pt->htab, hr);
		return -1;
	}
	return hr->fd;
}

int pt_op_setattr(void *be, const struct fuse_ctx *c, uint64_t nodeid,
		  const struct fuse_setattr *sa, struct stat *st)
{
	struct pt *pt = be;
	struct pt_iref ir;
	struct pt_href hr;
	int hfd, err;

	if (pt->readonly)
		return -EROFS;
	err = pt_itab_get(pt->itab, nodeid, &ir);
	if (err)
		return err;
	hfd = attr_handle(pt, nodeid, sa, &hr);
	err = attr_mode(pt, &ir, hfd, sa);
	if (!err)
		err = attr_owner(&ir, sa);
	if (!err)
		err = attr_size(pt, &ir, hfd, sa);
	if (!err)
		err = attr_times(&ir, hfd, sa);
	if (!err && fstatat(ir.fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
		err = -errno;
	if (hfd >= 0)
		pt_htab_put(pt->htab, &hr);
	pt_itab_put(pt->itab, &ir);
	return err;
}
