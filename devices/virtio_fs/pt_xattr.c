/* pt_xattr.c: extended attributes for the passthrough backend, with a policy on what a guest may set. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "pt_internal.h"

/*
 * A guest may set and remove user.* and security.* attributes. Never trusted.* (host
 * administrators' and overlayfs's), never security.capability (file capabilities would
 * work for host users running the file), and no system.* (POSIX ACLs are not negotiated).
 * Reading is not restricted: the guest kernel already keeps trusted.* for guest root.
 */
static int xattr_settable(const char *name)
{
	if (strncmp(name, "user.", 5) == 0)
		return 0;
	if (strncmp(name, "security.", 9) == 0)
		return strcmp(name, "security.capability") == 0 ? -EPERM : 0;
	if (strncmp(name, "system.", 7) == 0)
		return -EOPNOTSUPP;
	return -EPERM;
}

/* Regular files and directories through a descriptor; others through their magic link. */
struct xattr_target {
	int fd;		    /* reopened file or directory, or -1 */
	bool pinned;	    /* ir stays pinned while path is in use */
	struct pt_iref ir;
	char path[32];
};

static int xattr_begin(struct pt *pt, uint64_t nodeid, struct xattr_target *t)
{
	int err = pt_itab_get(pt->itab, nodeid, &t->ir);

	if (err)
		return err;
	t->fd = -1;
	t->pinned = !S_ISREG(t->ir.type) && !S_ISDIR(t->ir.type);
	if (t->pinned) {
		/* /proc/self/fd/N resolves to the inode itself (even a symlink), opening nothing. */
		snprintf(t->path, sizeof(t->path), "/proc/self/fd/%d", t->ir.fd);
		return 0;
	}
	t->fd = pt_reopen(pt, &t->ir, O_RDONLY | O_NONBLOCK);
	pt_itab_put(pt->itab, &t->ir);
	return t->fd < 0 ? t->fd : 0;
}

static void xattr_end(struct pt *pt, struct xattr_target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->pinned)
		pt_itab_put(pt->itab, &t->ir);
}

static int xattr_result(ssize_t n, size_t *len)
{
	if (n < 0)
		return -errno;
	if (len)
		*len = (size_t)n;
	return 0;
}

int pt_op_setxattr(void *be, const struct fuse_ctx *c, uint64_t nodeid, const char *name,
		   const void *value, size_t size, int flags)
{
	struct pt *pt = be;
	struct xattr_target t;
	int err = pt->readonly ? -EROFS : xattr_settable(name);

	if (err || (err = xattr_begin(pt, nodeid, &t)) != 0)
		return err;
	err = xattr_result(t.fd >= 0 ? fsetxattr(t.fd, name, value, size, flags)
				     : setxattr(t.path, name, value, size, flags),
			   NULL);
	xattr_end(pt, &t);
	return err;
}

int pt_op_getxattr(void *be, const struct fuse_ctx *c, uint64_t nodeid, const char *name,
		   void *buf, size_t size, size_t *len)
{
	struct pt *pt = be;
	struct xattr_target t;
	int err = xattr_begin(pt, nodeid, &t);

	if (err)
		return err;
	err = xattr_result(t.fd >= 0 ? fgetxattr(t.fd, name, buf, size)
				     : getxattr(t.path, name, buf, size),
			   len);
	xattr_end(pt, &t);
	return err;
}

int pt_op_listxattr(void *be, const struct fuse_ctx *c, uint64_t nodeid, char *buf, size_t size,
		    size_t *len)
{
	struct pt *pt = be;
	struct xattr_target t;
	int err = xattr_begin(pt, nodeid, &t);

	if (err)
		return err;
	err = xattr_result(t.fd >= 0 ? flistxattr(t.fd, buf, size) : listxattr(t.path, buf, size),
			   len);
	xattr_end(pt, &t);
	return err;
}

int pt_op_removexattr(void *be, const struct fuse_ctx *c, uint64_t nodeid, const char *name)
{
	struct pt *pt = be;
	struct xattr_target t;
	int err = pt->readonly ? -EROFS : xattr_settable(name);

	if (err || (err = xattr_begin(pt, nodeid, &t)) != 0)
		return err;
	err = xattr_result(t.fd >= 0 ? fremovexattr(t.fd, name) : removexattr(t.path, name), NULL);
	xattr_end(pt, &t);
	return err;
}
