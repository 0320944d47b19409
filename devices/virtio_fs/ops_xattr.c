/* ops_xattr.c: decoding and encoding for the extended-attribute opcodes. */
#include <errno.h>
#include <stdlib.h>
#include <linux/limits.h>
#include <sys/xattr.h>
#include "fuse_internal.h"

/* An attribute name: NUL-terminated, 1..XATTR_NAME_MAX bytes; ERANGE otherwise, as setxattr(2). */
static int xattr_name(struct fuse_req *r, char buf[XATTR_NAME_MAX + 1])
{
	size_t len;
	int err = fuse_cur_string(&r->in, buf, XATTR_NAME_MAX + 1, &len);

	if (err == -ENAMETOOLONG || (!err && len == 0))
		err = -ERANGE;
	if (err)
		fuse_count_malformed(r->srv);
	return err;
}

int fuse_do_setxattr(struct fuse_req *r)
{
	char name[XATTR_NAME_MAX + 1];
	struct fuse_setxattr_in in = { 0 };
	void *value;
	int err;

	if (fuse_req_fixed(r, &in, FUSE_COMPAT_SETXATTR_IN_SIZE))
		return -EINVAL;
	err = xattr_name(r, name);
	if (err)
		return err;
	if (in.size > XATTR_SIZE_MAX)
		return -E2BIG;
	if (in.flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	value = malloc(in.size ? in.size : 1);
	if (!value)
		return -ENOMEM;
	err = fuse_req_fixed(r, value, in.size);
	if (!err)
		err = fuse_req_end(r);
	if (!err)
		err = FUSE_CALL(r, setxattr, &r->ctx, r->hdr.nodeid, name, value, in.size,
				(int)in.flags);
	free(value);
	return err;
}

/* GETXATTR and LISTXATTR share the reply shape: a size probe, or the bytes themselves. */
static int reply_sized(struct fuse_req *r, uint32_t size, const char *name)
{
	size_t len = 0;
	char *buf;
	int err;

	if (size == 0) {
		struct fuse_getxattr_out o = { 0 };

		err = name ? FUSE_CALL(r, getxattr, &r->ctx, r->hdr.nodeid, name, NULL, 0, &len)
			   : FUSE_CALL(r, listxattr, &r->ctx, r->hdr.nodeid, NULL, 0, &len);
		o.size = (uint32_t)len;
		return err ? err : fuse_reply_bytes(r, &o, sizeof(o));
	}
	if (size > XATTR_SIZE_MAX)
		size = XATTR_SIZE_MAX;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	err = name ? FUSE_CALL(r, getxattr, &r->ctx, r->hdr.nodeid, name, buf, size, &len)
		   : FUSE_CALL(r, listxattr, &r->ctx, r->hdr.nodeid, buf, size, &len);
	if (!err)
		err = len > size ? -ERANGE : fuse_reply_bytes(r, buf, len);
	free(buf);
	return err;
}

int fuse_do_getxattr(struct fuse_req *r)
{
	char name[XATTR_NAME_MAX + 1];
	struct fuse_getxattr_in in;
	int err;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	err = xattr_name(r, name);
	if (!err)
		err = fuse_req_end(r);
	if (err)
		return err;
	return reply_sized(r, in.size, name);
}

int fuse_do_listxattr(struct fuse_req *r)
{
	struct fuse_getxattr_in in;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	return reply_sized(r, in.size, NULL);
}

int fuse_do_removexattr(struct fuse_req *r)
{
	char name[XATTR_NAME_MAX + 1];
	int err = xattr_name(r, name);

	if (!err)
		err = fuse_req_end(r);
	if (err)
		return err;
	return FUSE_CALL(r, removexattr, &r->ctx, r->hdr.nodeid, name);
}
