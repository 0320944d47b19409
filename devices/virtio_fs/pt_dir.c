/* pt_dir.c: directory handles of the passthrough backend: OPENDIR, READDIR(PLUS) via getdents64, RELEASEDIR, FSYNCDIR. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "pt_internal.h"

struct pt_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

int pt_op_opendir(void *be, const struct fuse_ctx *c, uint64_t nodeid, int flags, uint64_t *fh)
{
	struct pt *pt = be;
	struct pt_iref ir;
	int err = pt_get_dir(pt, nodeid, &ir), fd;

	if (err)
		return err;
	fd = pt_reopen(pt, &ir, O_RDONLY | O_DIRECTORY);
	pt_itab_put(pt->itab, &ir);
	if (fd < 0)
		return fd;
	return pt_htab_add(pt->htab, fd, nodeid, true, fh);
}

/* Positions the stream at the guest's cookie; keeps the buffer when it already is there. */
static int dir_seek(struct pt_dir *d, int fd, uint64_t off)
{
	if (off == d->off)
		return 0;
	if (off > INT64_MAX || lseek(fd, (off_t)off, SEEK_SET) < 0)
		return -EINVAL;
	d->pos = d->len = 0;
	d->off = off;
	return 0;
}

/* The next record, refilling the buffer; NULL at the end. *err is set on failure. */
static const struct pt_dirent64 *dir_next(struct pt_dir *d, int fd, int *err)
{
	const struct pt_dirent64 *ent;

	if (d->pos >= d->len) {
		long n = syscall(SYS_getdents64, fd, d->buf, sizeof(d->buf));

		if (n < 0)
			*err = -errno;
		d->pos = 0;
		d->len = n > 0 ? (size_t)n : 0;
		if (n <= 0)
			return NULL;
	}
	ent = (const struct pt_dirent64 *)(d->buf + d->pos);
	if (d->len - d->pos < offsetof(struct pt_dirent64, d_name) + 1 ||
	    ent->d_reclen > d->len - d->pos || ent->d_reclen <= offsetof(struct pt_dirent64, d_name)) {
		*err = -EIO;
		return NULL;
	}
	return ent;
}

static bool is_dot_or_dotdot(const char *name)
{
	return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/*
 * READDIRPLUS's lookup of one entry of directory dir (stream fd): opened now, or on an
 * unchanging tree only stat'ed, its descriptor opened on first use (one system call per
 * entry instead of two: most listed entries are never used beyond their attributes).
 */
static int dir_lookup(struct pt *pt, uint64_t dir, int fd, const char *name, struct fuse_entry *e)
{
	if (!pt->unchanging)
		return pt_lookup_at(pt, fd, name, e);
	if (fstatat(fd, name, &e->attr, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	return pt_itab_insert_listed(pt->itab, dir, name, &e->attr, &e->nodeid, &e->generation);
}

/* Hands one entry over; for PLUS looks it up first and undoes that if it did not fit. */
static int dir_emit(struct pt *pt, uint64_t dir, int fd, const struct pt_dirent64 *ent,
		    bool plus, fuse_dir_fill_fn fill, void *sink)
{
	size_t namelen = strnlen(ent->d_name, ent->d_reclen - offsetof(struct pt_dirent64, d_name));
	struct fuse_entry e = { 0 };
	unsigned type = ent->d_type;
	int rc;

	/* "." and "..": the kernel ignores their attributes, so they get no lookup to leak. */
	if (plus && !is_dot_or_dotdot(ent->d_name)) {
		if (dir_lookup(pt, dir, fd, ent->d_name, &e) != 0)
			memset(&e, 0, sizeof(e)); /* gone already: name only */
		else if (type == DT_UNKNOWN)
			type = (e.attr.st_mode & S_IFMT) >> 12;
	}
	rc = fill(sink, ent->d_name, namelen, ent->d_ino, type, (uint64_t)ent->d_off,
		  plus ? &e : NULL);
	if (rc != 0 && e.nodeid)
		pt_itab_forget(pt->itab, e.nodeid, 1);
	return rc;
}

/*
 * Entries of directory stream fd (node dir) from cookie off into fill, until the reply is
 * full or the directory ends (*at_end).
 */
static int dir_fill(struct pt *pt, uint64_t dir, struct pt_dir *d, int fd, uint64_t off,
		    bool plus, fuse_dir_fill_fn fill, void *sink, bool *at_end)
{
	const struct pt_dirent64 *ent;
	int err = dir_seek(d, fd, off);

	*at_end = false;
	while (!err && (ent = dir_next(d, fd, &err)) != NULL) {
		int rc = dir_emit(pt, dir, fd, ent, plus, fill, sink);

		if (rc != 0)
			return rc < 0 ? rc : 0; /* 1: the reply is full */
		d->pos += ent->d_reclen;
		d->off = (uint64_t)ent->d_off;
	}
	*at_end = !err;
	return err;
}

int pt_op_readdir(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		  bool plus, fuse_dir_fill_fn fill, void *sink)
{
	struct pt *pt = be;
	struct pt_href hr;
	bool at_end;
	int err = pt_htab_get(pt->htab, fh, true, &hr);

	if (err)
		return err;
	pthread_mutex_lock(&hr.dir->lock);
	err = dir_fill(pt, nodeid, hr.dir, hr.fd, off, plus, fill, sink, &at_end);
	pthread_mutex_unlock(&hr.dir->lock);
	pt_htab_put(pt->htab, &hr);
	return err;
}

/*
 * Open-less sessions (cache: immutable): one READDIR without a handle. The directory's
 * end is remembered, so the request the guest sends only to learn that it has seen every
 * entry (one per directory listing) costs no system call.
 */
int pt_op_readdir_at(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t off,
		     bool plus, fuse_dir_fill_fn fill, void *sink)
{
	struct pt *pt = be;
	struct pt_iref ir;
	struct pt_dir *d;
	bool at_end;
	int fd, err = pt_get_dir(pt, nodeid, &ir);

	if (err)
		return err;
	if (off != 0 && off == pt_itab_dir_end(pt->itab, &ir)) {
		pt_itab_put(pt->itab, &ir);
		return 0;
	}
	d = malloc(sizeof(*d));
	fd = d ? pt_reopen(pt, &ir, O_RDONLY | O_DIRECTORY) : -ENOMEM;
	err = fd < 0 ? fd : 0;
	if (!err) {
		d->off = 0;
		d->pos = d->len = 0;
		err = dir_fill(pt, nodeid, d, fd, off, plus, fill, sink, &at_end);
		if (!err && at_end && pt->unchanging)
			pt_itab_set_dir_end(pt->itab, &ir, d->off);
		close(fd);
	}
	free(d);
	pt_itab_put(pt->itab, &ir);
	return err;
}

int pt_op_releasedir(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh)
{
	return pt_htab_remove(((struct pt *)be)->htab, fh, true);
}

int pt_op_fsyncdir(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		   bool datasync)
{
	return pt_sync_handle(be, fh, true, datasync);
}
