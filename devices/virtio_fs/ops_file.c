/* ops_file.c: decoding and encoding for open files: OPEN/CREATE, READ/WRITE, sync, locks, ranges. */
#include <errno.h>
#include <string.h>
#include "fuse_internal.h"

/* Data slices handed to the backend per call; READ/WRITE loop over longer chains. */
#define FUSE_SLICES 256U
#define FUSE_MAX_OFFSET ((uint64_t)INT64_MAX)

static bool open_modifies(uint32_t flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static void release_quietly(struct fuse_req *r, uint64_t nodeid, uint64_t fh)
{
	if (r->srv->ops->release)
		(void)r->srv->ops->release(r->srv->be, &r->ctx, nodeid, fh, 0, 0);
}

int fuse_temp_open(struct fuse_req *r, bool dir, uint64_t *fh)
{
	if (dir)
		return FUSE_CALL(r, opendir, &r->ctx, r->hdr.nodeid, O_RDONLY, fh);
	return FUSE_CALL(r, open, &r->ctx, r->hdr.nodeid, O_RDONLY, 0, fh);
}

void fuse_temp_close(struct fuse_req *r, bool dir, uint64_t fh)
{
	if (!dir)
		release_quietly(r, r->hdr.nodeid, fh);
	else if (r->srv->ops->releasedir)
		(void)r->srv->ops->releasedir(r->srv->be, &r->ctx, r->hdr.nodeid, fh);
}

/* In an open-less session ENOSYS tells the guest to stop sending OPEN (fuse_session.c). */
int fuse_do_open(struct fuse_req *r)
{
	struct fuse_open_in in;
	uint64_t fh = 0;
	int err;

	if (atomic_load_explicit(&r->srv->open_less, memory_order_relaxed))
		return -ENOSYS;
	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	if (r->srv->readonly && open_modifies(in.flags))
		return -EROFS;
	err = FUSE_CALL(r, open, &r->ctx, r->hdr.nodeid, (int)in.flags, in.open_flags, &fh);
	if (err)
		return err;
	err = fuse_reply_open(r, fh, false);
	if (err)
		release_quietly(r, r->hdr.nodeid, fh);
	return err;
}

int fuse_do_create(struct fuse_req *r)
{
	char name[FUSE_NAME_MAX + 1];
	struct fuse_create_in in;
	struct fuse_entry e = { 0 };
	uint64_t fh = 0;
	int err;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	err = fuse_req_last_name(r, name);
	if (err)
		return err;
	err = FUSE_CALL(r, create, &r->ctx, r->hdr.nodeid, name, in.mode & 07777, (int)in.flags,
			&e, &fh);
	if (err)
		return err;
	err = fuse_reply_entry(r, &e);
	if (!err)
		err = fuse_reply_open(r, fh, false);
	if (err) {
		release_quietly(r, e.nodeid, fh);
		if (r->srv->ops->forget)
			r->srv->ops->forget(r->srv->be, e.nodeid, 1);
	}
	return err;
}

static int read_into_reply(struct fuse_req *r, const struct fuse_read_in *in)
{
	struct iovec sl[FUSE_SLICES];
	size_t total = 0, want = in->size < r->out.left ? in->size : r->out.left;
	int err = 0;

	/* Straight into the guest's buffers: one preadv per batch of slices. */
	while (want > 0) {
		unsigned n;
		size_t done = 0, len = fuse_cur_slices(&r->out, want, sl, FUSE_SLICES, &n);

		if (len == 0)
			break;

		err = FUSE_CALL(r, read, &r->ctx, r->hdr.nodeid, in->fh, in->offset + total, sl, n,
				&done);
		if (err)
			break;
		total += done;
		want -= len;
		if (done < len)
			break; /* end of file */
	}
	if (err && total == 0)
		return err;
	r->out_len += total;
	return 0;
}

/* Open-less: the guest's fh means nothing; a read-only handle serves this one READ. */
int fuse_do_read(struct fuse_req *r)
{
	struct fuse_read_in in;
	int err;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	if (in.offset > FUSE_MAX_OFFSET)
		return -EINVAL;
	if (!atomic_load_explicit(&r->srv->open_less, memory_order_relaxed))
		return read_into_reply(r, &in);
	err = fuse_temp_open(r, false, &in.fh);
	if (err)
		return err;
	err = read_into_reply(r, &in);
	fuse_temp_close(r, false, in.fh);
	return err;
}

int fuse_do_write(struct fuse_req *r)
{
	struct fuse_write_in in;
	struct fuse_write_out o = { 0 };
	struct iovec sl[FUSE_SLICES];
	size_t total = 0, want;
	int err = 0;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	if (in.size > r->in.left || in.offset > FUSE_MAX_OFFSET) {
		fuse_count_malformed(r->srv);
		return -EINVAL; /* the header promised more data than the chain holds */
	}
	want = in.size;
	while (want > 0) {
		unsigned n;
		size_t done = 0, len = fuse_cur_slices(&r->in, want, sl, FUSE_SLICES, &n);

		if (len == 0)
			break;

		err = FUSE_CALL(r, write, &r->ctx, r->hdr.nodeid, in.fh, in.offset + total, sl, n,
				in.write_flags, &done);
		if (err)
			break;
		total += done;
		want -= len;
		if (done < len)
			break; /* short write, e.g. ENOSPC on the next byte */
	}
	if (err && total == 0)
		return err;
	o.size = (uint32_t)total;
	return fuse_reply_bytes(r, &o, sizeof(o));
}

/*
 * cache: immutable answers FLUSH and FSYNC with ENOSYS, which the guest remembers: its
 * locks are its own (no remote lock owner to drop at close) and nothing can be dirty.
 */
static bool immutable(const struct fuse_req *r)
{
	return r->srv->cache == CACHE_IMMUTABLE;
}

int fuse_do_flush(struct fuse_req *r)
{
	struct fuse_flush_in in;

	if (immutable(r))
		return -ENOSYS;
	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	return FUSE_CALL(r, flush, &r->ctx, r->hdr.nodeid, in.fh, in.lock_owner);
}

int fuse_do_release(struct fuse_req *r)
{
	struct fuse_release_in in;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	return FUSE_CALL(r, release, &r->ctx, r->hdr.nodeid, in.fh, in.release_flags,
			 in.lock_owner);
}

int fuse_do_fsync(struct fuse_req *r)
{
	struct fuse_fsync_in in;
	struct fuse_server *srv = r->srv;

	if (immutable(r))
		return -ENOSYS;
	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	/* A DAX file's stores went through the window, not WRITE: msync its mappings first. */
	if (srv->dax && srv->dax->sync) {
		int err = srv->dax->sync(srv->dax_opaque, r->hdr.nodeid);

		if (err)
			return err;
	}
	return FUSE_CALL(r, fsync, &r->ctx, r->hdr.nodeid, in.fh,
			 in.fsync_flags & FUSE_FSYNC_FDATASYNC);
}

int fuse_do_fallocate(struct fuse_req *r)
{
	struct fuse_fallocate_in in;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	if (in.offset > FUSE_MAX_OFFSET || in.length == 0 ||
	    in.length > FUSE_MAX_OFFSET - in.offset)
		return -EINVAL;
	return FUSE_CALL(r, fallocate, &r->ctx, r->hdr.nodeid, in.fh, (int)in.mode, in.offset,
			 in.length);
}

static int lseek_reply(struct fuse_req *r, const struct fuse_lseek_in *in)
{
	struct fuse_lseek_out o = { 0 };
	int err = FUSE_CALL(r, lseek, &r->ctx, r->hdr.nodeid, in->fh, in->offset,
			    (int)in->whence, &o.offset);

	return err ? err : fuse_reply_bytes(r, &o, sizeof(o));
}

int fuse_do_lseek(struct fuse_req *r)
{
	struct fuse_lseek_in in;
	int err;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	if (in.offset > FUSE_MAX_OFFSET)
		return -ENXIO;
	if (!atomic_load_explicit(&r->srv->open_less, memory_order_relaxed))
		return lseek_reply(r, &in);
	err = fuse_temp_open(r, false, &in.fh);
	if (err)
		return err;
	err = lseek_reply(r, &in);
	fuse_temp_close(r, false, in.fh);
	return err;
}

int fuse_do_copy_file_range(struct fuse_req *r)
{
	struct fuse_copy_file_range_in in;
	struct fuse_write_out o = { 0 };
	size_t done = 0;
	uint64_t len;
	int err;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	if (in.flags != 0 || in.off_in > FUSE_MAX_OFFSET || in.off_out > FUSE_MAX_OFFSET)
		return -EINVAL;
	/* The reply carries a 32-bit count: never copy more than it can say. */
	len = in.len < (UINT32_MAX & ~4095U) ? in.len : (UINT32_MAX & ~4095U);
	err = FUSE_CALL(r, copy_file_range, &r->ctx, r->hdr.nodeid, in.fh_in, in.off_in,
			in.nodeid_out, in.fh_out, in.off_out, len, &done);
	if (err)
		return err;
	o.size = (uint32_t)done;
	return fuse_reply_bytes(r, &o, sizeof(o));
}

static int decode_lock(struct fuse_req *r, struct fuse_lk_in *in, struct fuse_lock *lk)
{
	if (fuse_req_fixed(r, in, sizeof(*in)))
		return -EINVAL;
	if (in->lk.type != F_RDLCK && in->lk.type != F_WRLCK && in->lk.type != F_UNLCK)
		return -EINVAL;
	if (in->lk.start > in->lk.end || in->lk.start > FUSE_MAX_OFFSET)
		return -EINVAL;
	*lk = (struct fuse_lock){ .start = in->lk.start, .end = in->lk.end,
				  .type = in->lk.type, .pid = in->lk.pid };
	return 0;
}

int fuse_do_getlk(struct fuse_req *r)
{
	struct fuse_lk_in in;
	struct fuse_lk_out o = { 0 };
	struct fuse_lock lk;
	int err = decode_lock(r, &in, &lk);

	if (err)
		return err;
	err = FUSE_CALL(r, getlk, &r->ctx, r->hdr.nodeid, in.fh, in.owner, &lk);
	if (err)
		return err;
	o.lk = (struct fuse_file_lock){ .start = lk.start, .end = lk.end, .type = lk.type,
					.pid = lk.pid };
	return fuse_reply_bytes(r, &o, sizeof(o));
}

static int do_setlk(struct fuse_req *r, bool wait)
{
	struct fuse_lk_in in;
	struct fuse_lock lk;
	int err = decode_lock(r, &in, &lk);

	if (err)
		return err;
	return FUSE_CALL(r, setlk, &r->ctx, r->hdr.nodeid, in.fh, in.owner, &lk,
			 in.lk_flags & FUSE_LK_FLOCK, wait);
}

int fuse_do_setlk(struct fuse_req *r)
{
	return do_setlk(r, false);
}

int fuse_do_setlkw(struct fuse_req *r)
{
	return do_setlk(r, true);
}
