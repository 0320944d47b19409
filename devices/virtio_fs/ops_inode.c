/* ops_inode.c: decoding and encoding for the inode and namespace opcodes (LOOKUP ... STATFS). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "fuse_internal.h"

/* A lookup the guest never hears about must not stay counted. */
static int reply_entry_or_forget(struct fuse_req *r, const struct fuse_entry *e)
{
	int err = fuse_reply_entry(r, e);

	if (err && e->nodeid && r->srv->ops->forget)
		r->srv->ops->forget(r->srv->be, e->nodeid, 1);
	return err;
}

int fuse_do_lookup(struct fuse_req *r)
{
	char name[FUSE_NAME_MAX + 1];
	struct fuse_entry e = { 0 };
	int err = fuse_req_last_name(r, name);

	if (err)
		return err;
	err = FUSE_CALL(r, lookup, &r->ctx, r->hdr.nodeid, name, &e);
	if (err == -ENOENT && r->srv->cache != CACHE_NEVER) {
		/* A negative entry: the guest caches the miss for the entry timeout. */
		memset(&e, 0, sizeof(e));
		return fuse_reply_entry(r, &e);
	}
	if (err)
		return err;
	return reply_entry_or_forget(r, &e);
}

int fuse_do_forget(struct fuse_req *r)
{
	struct fuse_forget_in in;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	if (r->srv->ops->forget)
		r->srv->ops->forget(r->srv->be, r->hdr.nodeid, in.nlookup);
	return 0;
}

int fuse_do_batch_forget(struct fuse_req *r)
{
	struct fuse_batch_forget_in in;
	struct fuse_forget_one one;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	/* The count is the guest's word: stop at the bytes actually there. */
	for (uint32_t i = 0; i < in.count; i++) {
		if (fuse_req_fixed(r, &one, sizeof(one)))
			return -EINVAL;
		if (r->srv->ops->forget)
			r->srv->ops->forget(r->srv->be, one.nodeid, one.nlookup);
	}
	return 0;
}

int fuse_do_getattr(struct fuse_req *r)
{
	struct fuse_getattr_in in;
	struct stat st;
	int err;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	err = FUSE_CALL(r, getattr, &r->ctx, r->hdr.nodeid, &st);
	if (err)
		return err;
	return fuse_reply_attr(r, &st);
}

/* Guest times are 64-bit seconds (signed in practice) and nanoseconds below 10^9. */
static int decode_time(uint32_t valid, uint32_t set_bit, uint32_t now_bit, uint64_t sec,
		       uint32_t nsec, struct timespec *ts)
{
	if (!(valid & set_bit)) {
		*ts = (struct timespec){ .tv_nsec = UTIME_OMIT };
		return 0;
	}
	if (valid & now_bit) {
		*ts = (struct timespec){ .tv_nsec = UTIME_NOW };
		return 0;
	}
	if (nsec >= 1000000000U)
		return -EINVAL;
	*ts = (struct timespec){ .tv_sec = (time_t)(int64_t)sec, .tv_nsec = nsec };
	return 0;
}

int fuse_do_setattr(struct fuse_req *r)
{
	struct fuse_setattr_in in;
	struct fuse_setattr sa;
	struct stat st;
	int err;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	sa = (struct fuse_setattr){ .valid = in.valid, .fh = in.fh, .mode = in.mode & 07777,
				    .uid = in.uid, .gid = in.gid, .size = in.size };
	err = decode_time(in.valid, FATTR_ATIME, FATTR_ATIME_NOW, in.atime, in.atimensec,
			  &sa.atime);
	if (!err)
		err = decode_time(in.valid, FATTR_MTIME, FATTR_MTIME_NOW, in.mtime, in.mtimensec,
				  &sa.mtime);
	if ((in.valid & FATTR_SIZE) && in.size > INT64_MAX)
		err = -EFBIG;
	if (err)
		return err;
	err = FUSE_CALL(r, setattr, &r->ctx, r->hdr.nodeid, &sa, &st);
	if (err)
		return err;
	return fuse_reply_attr(r, &st);
}

int fuse_do_readlink(struct fuse_req *r)
{
	char buf[PATH_MAX];
	size_t len = 0;
	int err = FUSE_CALL(r, readlink, &r->ctx, r->hdr.nodeid, buf, sizeof(buf), &len);

	if (err)
		return err;
	return fuse_reply_bytes(r, buf, len);
}

int fuse_do_symlink(struct fuse_req *r)
{
	char name[FUSE_NAME_MAX + 1], target[FUSE_SYMLINK_MAX + 1];
	struct fuse_entry e = { 0 };
	size_t tlen;
	int err = fuse_req_name(r, name);

	if (err)
		return err;
	err = fuse_cur_string(&r->in, target, sizeof(target), &tlen);
	if (!err)
		err = fuse_req_end(r);
	if (err)
		return err;
	if (tlen == 0)
		return -ENOENT; /* what symlink(2) says about an empty target */
	err = FUSE_CALL(r, symlink, &r->ctx, r->hdr.nodeid, name, target, &e);
	if (err)
		return err;
	return reply_entry_or_forget(r, &e);
}

int fuse_do_mknod(struct fuse_req *r)
{
	char name[FUSE_NAME_MAX + 1];
	struct fuse_mknod_in in;
	struct fuse_entry e = { 0 };
	int err;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	err = fuse_req_last_name(r, name);
	if (err)
		return err;
	err = FUSE_CALL(r, mknod, &r->ctx, r->hdr.nodeid, name, in.mode, in.rdev, &e);
	if (err)
		return err;
	return reply_entry_or_forget(r, &e);
}

int fuse_do_mkdir(struct fuse_req *r)
{
	char name[FUSE_NAME_MAX + 1];
	struct fuse_mkdir_in in;
	struct fuse_entry e = { 0 };
	int err;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	err = fuse_req_last_name(r, name);
	if (err)
		return err;
	err = FUSE_CALL(r, mkdir, &r->ctx, r->hdr.nodeid, name, in.mode & 07777, &e);
	if (err)
		return err;
	return reply_entry_or_forget(r, &e);
}

int fuse_do_unlink(struct fuse_req *r)
{
	char name[FUSE_NAME_MAX + 1];
	int err = fuse_req_last_name(r, name);

	if (err)
		return err;
	return FUSE_CALL(r, unlink, &r->ctx, r->hdr.nodeid, name);
}

int fuse_do_rmdir(struct fuse_req *r)
{
	char name[FUSE_NAME_MAX + 1];
	int err = fuse_req_last_name(r, name);

	if (err)
		return err;
	return FUSE_CALL(r, rmdir, &r->ctx, r->hdr.nodeid, name);
}

static int do_rename(struct fuse_req *r, uint64_t newdir, uint32_t flags)
{
	char oldname[FUSE_NAME_MAX + 1], newname[FUSE_NAME_MAX + 1];
	int err = fuse_req_name(r, oldname);

	if (!err)
		err = fuse_req_last_name(r, newname);
	if (err)
		return err;
	return FUSE_CALL(r, rename, &r->ctx, r->hdr.nodeid, oldname, newdir, newname, flags);
}

int fuse_do_rename(struct fuse_req *r)
{
	struct fuse_rename_in in;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	return do_rename(r, in.newdir, 0);
}

int fuse_do_rename2(struct fuse_req *r)
{
	struct fuse_rename2_in in;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	return do_rename(r, in.newdir, in.flags);
}

int fuse_do_link(struct fuse_req *r)
{
	char name[FUSE_NAME_MAX + 1];
	struct fuse_link_in in;
	struct fuse_entry e = { 0 };
	int err;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	err = fuse_req_last_name(r, name);
	if (err)
		return err;
	err = FUSE_CALL(r, link, &r->ctx, in.oldnodeid, r->hdr.nodeid, name, &e);
	if (err)
		return err;
	return reply_entry_or_forget(r, &e);
}

int fuse_do_statfs(struct fuse_req *r)
{
	struct statvfs sv;
	struct fuse_statfs_out o = { 0 };
	int err = FUSE_CALL(r, statfs, &r->ctx, r->hdr.nodeid, &sv);

	if (err)
		return err;
	o.st = (struct fuse_kstatfs){
		.blocks = sv.f_blocks,
		.bfree = sv.f_bfree,
		.bavail = sv.f_bavail,
		.files = sv.f_files,
		.ffree = sv.f_ffree,
		.bsize = (uint32_t)sv.f_bsize,
		.namelen = (uint32_t)sv.f_namemax,
		.frsize = (uint32_t)sv.f_frsize,
	};
	return fuse_reply_bytes(r, &o, sizeof(o));
}

int fuse_do_access(struct fuse_req *r)
{
	struct fuse_access_in in;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	if (in.mask & ~(uint32_t)(R_OK | W_OK | X_OK))
		return -EINVAL;
	if ((in.mask & W_OK) && r->srv->readonly)
		return -EROFS;
	return FUSE_CALL(r, access, &r->ctx, r->hdr.nodeid, (int)in.mask);
}
