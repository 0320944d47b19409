/* pt_entry.c: namespace ops of the passthrough backend: MKNOD MKDIR SYMLINK LINK UNLINK RMDIR RENAME. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pt_internal.h"

/* Pins a directory for a change to one of its names; fails on read-only shares and bad names. */
static int entry_begin(struct pt *pt, uint64_t parent, const char *name, struct pt_iref *dir)
{
	int err = pt->readonly ? -EROFS : pt_name_ok(name);

	return err ? err : pt_get_dir(pt, parent, dir);
}

enum make_kind { MAKE_NODE, MAKE_DIR, MAKE_SYMLINK };

struct make_args {
	enum make_kind kind;
	mode_t mode;
	dev_t rdev;
	const char *target;
};

/* Creates as the caller (pt_creds.c), then looks the new name up. */
static int make_entry(struct pt *pt, const struct fuse_ctx *c, uint64_t parent, const char *name,
		      const struct make_args *a, struct fuse_entry *e)
{
	struct pt_creds cr;
	struct pt_iref dir;
	int err = entry_begin(pt, parent, name, &dir);

	if (err)
		return err;
	err = pt_creds_enter(c, &cr);
	if (!err) {
		int rc = a->kind == MAKE_DIR	 ? mkdirat(dir.fd, name, a->mode)
			 : a->kind == MAKE_NODE ? mknodat(dir.fd, name, a->mode, a->rdev)
						: symlinkat(a->target, dir.fd, name);
		err = rc == 0 ? 0 : -errno;
		pt_creds_leave(&cr);
	}
	if (!err)
		err = pt_lookup_at(pt, dir.fd, name, e);
	pt_itab_put(pt->itab, &dir);
	return err;
}

/*
 * Regular files, FIFOs and sockets only. Device nodes are refused: one made by guest root
 * would be a working device for anyone on the host who can reach the share.
 */
int pt_op_mknod(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		mode_t mode, dev_t rdev, struct fuse_entry *e)
{
	struct make_args a = { .kind = MAKE_NODE, .mode = mode & (S_IFMT | 07777) };

	switch (mode & S_IFMT) {
	case 0:
		a.mode |= S_IFREG;
		break;
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	case S_IFCHR:
	case S_IFBLK:
		return -EPERM;
	default:
		return -EINVAL;
	}
	return make_entry(be, c, parent, name, &a, e);
}

int pt_op_mkdir(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		mode_t mode, struct fuse_entry *e)
{
	struct make_args a = { .kind = MAKE_DIR, .mode = mode & 07777 };

	return make_entry(be, c, parent, name, &a, e);
}

int pt_op_symlink(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		  const char *target, struct fuse_entry *e)
{
	struct make_args a = { .kind = MAKE_SYMLINK, .target = target };

	/* The target is stored, never followed by us: any bytes but NUL are fine. */
	if (target[0] == '\0')
		return -ENOENT;
	return make_entry(be, c, parent, name, &a, e);
}

static int remove_entry(struct pt *pt, uint64_t parent, const char *name, int flags)
{
	struct pt_iref dir;
	int err = entry_begin(pt, parent, name, &dir);

	if (err)
		return err;
	if (unlinkat(dir.fd, name, flags) != 0)
		err = -errno;
	pt_itab_put(pt->itab, &dir);
	return err;
}

int pt_op_unlink(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name)
{
	return remove_entry(be, parent, name, 0);
}

int pt_op_rmdir(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name)
{
	return remove_entry(be, parent, name, AT_REMOVEDIR);
}

int pt_op_rename(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		 uint64_t newparent, const char *newname, unsigned flags)
{
	struct pt *pt = be;
	struct pt_iref from, to;
	int err;

	/* RENAME_WHITEOUT is for overlay file systems on the host, not for guests. */
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	err = pt_name_ok(newname);
	if (!err)
		err = entry_begin(pt, parent, name, &from);
	if (err)
		return err;
	err = pt_get_dir(pt, newparent, &to);
	if (!err) {
		if (renameat2(from.fd, name, to.fd, newname, flags) != 0)
			err = -errno;
		pt_itab_put(pt->itab, &to);
	}
	pt_itab_put(pt->itab, &from);
	return err;
}

/* linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the /proc magic link does not. */
static int link_inode(struct pt *pt, const struct pt_iref *ir, int dirfd, const char *name)
{
	char num[16];

	if (linkat(ir->fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT && errno != EPERM)
		return -errno;
	snprintf(num, sizeof(num), "%d", ir->fd);
	return linkat(pt->proc_fd, num, dirfd, name, AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
}

int pt_op_link(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t newparent,
	       const char *newname, struct fuse_entry *e)
{
	struct pt *pt = be;
	struct pt_iref ir, dir;
	int err = entry_begin(pt, newparent, newname, &dir);

	if (err)
		return err;
	err = pt_itab_get(pt->itab, nodeid, &ir);
	if (!err) {
		err = S_ISDIR(ir.type) ? -EPERM : link_inode(pt, &ir, dir.fd, newname);
		if (!err)
			err = pt_lookup_at(pt, dir.fd, newname, e);
		pt_itab_put(pt->itab, &ir);
	}
	pt_itab_put(pt->itab, &dir);
	return err;
}
