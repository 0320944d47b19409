/* ops_dir.c: decoding and encoding for directory handles: OPENDIR, READDIR(PLUS), RELEASEDIR, FSYNCDIR. */
#include <errno.h>
#include <string.h>
#include "fuse_internal.h"

/* Where the backend's entries go: straight into the reply, never past `left` bytes. */
struct dir_sink {
	struct fuse_req *r;
	size_t left;
	bool plus;
};

static int dir_fill(void *opaque, const char *name, size_t namelen, uint64_t ino, unsigned dtype,
		    uint64_t off, const struct fuse_entry *e)
{
	struct dir_sink *s = opaque;
	struct fuse_dirent d = { .ino = ino, .off = off, .namelen = (uint32_t)namelen,
				 .type = dtype };
	size_t head = s->plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
	size_t rec = FUSE_DIRENT_ALIGN(head + namelen);
	static const char pad[8];
	int err;

	if (namelen == 0 || namelen > FUSE_NAME_MAX)
		return -EIO; /* a backend bug, not something to send on */
	if (rec > s->left)
		return 1;
	if (s->plus) {
		struct fuse_entry_out eo;
		struct fuse_entry none = { 0 };

		fuse_fill_entry_out(s->r->srv, e ? e : &none, &eo);
		err = fuse_reply_bytes(s->r, &eo, sizeof(eo));
		if (err)
			return err;
	}
	err = fuse_reply_bytes(s->r, &d, FUSE_NAME_OFFSET);
	if (!err)
		err = fuse_reply_bytes(s->r, name, namelen);
	if (!err)
		err = fuse_reply_bytes(s->r, pad, rec - head - namelen);
	if (err)
		return err;
	s->left -= rec;
	return 0;
}

/* handle_less: an open-less session whose backend reads directories without a handle. */
static int readdir_into_reply(struct fuse_req *r, const struct fuse_read_in *in, bool plus,
			      bool handle_less)
{
	struct dir_sink s = { .r = r, .plus = plus };
	int err;

	s.left = in->size < r->out.left ? in->size : r->out.left;
	if (handle_less)
		err = r->srv->ops->readdir_at(r->srv->be, &r->ctx, r->hdr.nodeid, in->offset, plus,
					      dir_fill, &s);
	else
		err = FUSE_CALL(r, readdir, &r->ctx, r->hdr.nodeid, in->fh, in->offset, plus,
				dir_fill, &s);
	/* Entries already encoded (and, for PLUS, looked up) must reach the guest. */
	if (err < 0 && r->out_len > 0)
		return 0;
	return err;
}

/* Open-less directories: a handle for this one READDIR, positioned at the guest's cookie. */
static int do_readdir(struct fuse_req *r, bool plus)
{
	struct fuse_read_in in;
	int err;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	if (!atomic_load_explicit(&r->srv->opendir_less, memory_order_relaxed))
		return readdir_into_reply(r, &in, plus, false);
	if (r->srv->ops->readdir_at)
		return readdir_into_reply(r, &in, plus, true);
	err = fuse_temp_open(r, true, &in.fh);
	if (err)
		return err;
	err = readdir_into_reply(r, &in, plus, false);
	fuse_temp_close(r, true, in.fh);
	return err;
}

int fuse_do_readdir(struct fuse_req *r)
{
	return do_readdir(r, false);
}

int fuse_do_readdirplus(struct fuse_req *r)
{
	return do_readdir(r, true);
}

int fuse_do_opendir(struct fuse_req *r)
{
	struct fuse_open_in in;
	uint64_t fh = 0;
	int err;

	if (atomic_load_explicit(&r->srv->opendir_less, memory_order_relaxed))
		return -ENOSYS; /* the guest stops sending OPENDIR (fuse_session.c) */
	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	err = FUSE_CALL(r, opendir, &r->ctx, r->hdr.nodeid, (int)in.flags, &fh);
	if (err)
		return err;
	err = fuse_reply_open(r, fh, true);
	if (err && r->srv->ops->releasedir)
		(void)r->srv->ops->releasedir(r->srv->be, &r->ctx, r->hdr.nodeid, fh);
	return err;
}

int fuse_do_releasedir(struct fuse_req *r)
{
	struct fuse_release_in in;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	return FUSE_CALL(r, releasedir, &r->ctx, r->hdr.nodeid, in.fh);
}

int fuse_do_fsyncdir(struct fuse_req *r)
{
	struct fuse_fsync_in in;

	if (r->srv->cache == CACHE_IMMUTABLE)
		return -ENOSYS; /* nothing to sync; the guest stops asking */
	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	return FUSE_CALL(r, fsyncdir, &r->ctx, r->hdr.nodeid, in.fh,
			 in.fsync_flags & FUSE_FSYNC_FDATASYNC);
}
