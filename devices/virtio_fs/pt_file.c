/* pt_file.c: open-file ops of the passthrough backend: OPEN CREATE READ WRITE FLUSH RELEASE FSYNC and ranges. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "pt_internal.h"

#define PT_IOV_BATCH 256U

int pt_op_open(void *be, const struct fuse_ctx *c, uint64_t nodeid, int flags,
	       uint32_t open_flags_in, uint64_t *fh)
{
	struct pt *pt = be;
	struct pt_iref ir;
	int f = pt_open_flags(pt, flags), fd, err;

	if (f < 0)
		return f;
	err = pt_itab_get(pt->itab, nodeid, &ir);
	if (err)
		return err;
	/* pt_reopen refuses anything but regular files and directories. */
	fd = S_ISDIR(ir.type) ? -EISDIR : pt_reopen(pt, &ir, f);
	pt_itab_put(pt->itab, &ir);
	if (fd < 0)
		return fd;
	if ((f & O_TRUNC) && (open_flags_in & FUSE_OPEN_KILL_SUIDGID)) {
		err = pt_kill_suidgid(fd);
		if (err) {
			close(fd);
			return err;
		}
	}
	return pt_htab_add(pt->htab, fd, nodeid, false, fh);
}

/*
 * An existing name under CREATE: opened only if it is a regular file. An open with
 * O_CREAT alone would open whatever is there: a FIFO (blocking the worker until a host
 * process opens the other end) or a device node put into the share on the host. A
 * guest's own kernel sends CREATE for a name it believes absent, which a host-side
 * change can make wrong, and a hostile one sends it for anything.
 */
static int create_open_existing(struct pt *pt, int dirfd, const char *name, int f)
{
	int pfd = pt_openat(pt, dirfd, name, O_PATH | O_NOFOLLOW, 0), fd;
	struct stat st;

	if (pfd < 0)
		return pfd;
	if (fstat(pfd, &st) != 0)
		fd = -errno;
	else if (S_ISREG(st.st_mode))
		fd = pt_reopen_fd(pt, pfd, f & ~(O_CREAT | O_EXCL)); /* this very inode */
	else
		fd = S_ISDIR(st.st_mode) ? -EISDIR : S_ISLNK(st.st_mode) ? -ELOOP : -ENXIO;
	close(pfd);
	return fd;
}

/* A new file, or an existing regular one unless the guest said O_EXCL; races retried. */
static int create_or_open(struct pt *pt, int dirfd, const char *name, int f, int guest_flags,
			  mode_t mode)
{
	int fd = -EEXIST, tries;

	for (tries = 0; tries < 3; tries++) {
		fd = pt_openat(pt, dirfd, name, f | O_EXCL, mode);
		if (fd != -EEXIST || (guest_flags & O_EXCL))
			break;
		fd = create_open_existing(pt, dirfd, name, f);
		if (fd != -ENOENT) /* -ENOENT: removed in between, create it after all */
			break;
	}
	return fd;
}

/* Creates (or opens) as the caller; undoes the writeback O_RDWR upgrade if it is refused. */
static int create_open(struct pt *pt, const struct fuse_ctx *c, int dirfd, const char *name,
		       int f, int guest_flags, mode_t mode)
{
	struct pt_creds cr;
	int fd = pt_creds_enter(c, &cr);

	if (fd < 0)
		return fd;
	fd = create_or_open(pt, dirfd, name, f, guest_flags, mode);
	if (fd == -EACCES && (guest_flags & O_ACCMODE) == O_WRONLY && (f & O_ACCMODE) == O_RDWR)
		fd = create_or_open(pt, dirfd, name, (f & ~O_ACCMODE) | O_WRONLY, guest_flags,
				    mode);
	pt_creds_leave(&cr);
	return fd;
}

int pt_op_create(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		 mode_t mode, int flags, struct fuse_entry *e, uint64_t *fh)
{
	struct pt *pt = be;
	struct pt_iref dir;
	int f = pt_open_flags(pt, flags), fd, err;

	if (pt->readonly)
		return -EROFS;
	if (f < 0)
		return f;
	err = pt_name_ok(name);
	if (!err)
		err = pt_get_dir(pt, parent, &dir);
	if (err)
		return err;
	f |= O_CREAT;
	fd = create_open(pt, c, dir.fd, name, f, flags, mode & 07777);
	pt_itab_put(pt->itab, &dir);
	if (fd < 0)
		return fd;
	/* The entry comes from the open file itself, so a racing rename cannot swap it. */
	err = pt_entry_from_fd(pt, fd, e);
	if (err) {
		close(fd);
		return err;
	}
	err = pt_htab_add(pt->htab, fd, e->nodeid, false, fh);
	if (err)
		pt_itab_forget(pt->itab, e->nodeid, 1);
	return err;
}

static ssize_t rw_once(int fd, const struct iovec *iov, unsigned n, off_t off, bool wr)
{
	ssize_t k;

	do
		k = wr ? pwritev(fd, iov, (int)n, off) : preadv(fd, iov, (int)n, off);
	while (k < 0 && errno == EINTR);
	return k;
}

/* Drops `got` bytes from the front of iov[*first..n). */
static void iov_advance(struct iovec *iov, unsigned *first, unsigned n, size_t got)
{
	while (*first < n && got >= iov[*first].iov_len) {
		got -= iov[*first].iov_len;
		(*first)++;
	}
	if (*first < n) {
		iov[*first].iov_base = (char *)iov[*first].iov_base + got;
		iov[*first].iov_len -= got;
	}
}

/* Moves all the bytes unless the file ends (read) or refuses more (write). */
static int rw_all(int fd, const struct iovec *iov, unsigned n, uint64_t off, bool wr,
		  size_t *done)
{
	struct iovec cur[PT_IOV_BATCH];
	size_t total = 0;

	while (n > 0) {
		unsigned k = n < PT_IOV_BATCH ? n : PT_IOV_BATCH, first = 0;

		memcpy(cur, iov, k * sizeof(*cur));
		while (first < k) {
			ssize_t got = rw_once(fd, cur + first, k - first, (off_t)(off + total), wr);

			if (got < 0 && total == 0)
				return -errno;
			if (got <= 0)
				goto out;
			total += (size_t)got;
			iov_advance(cur, &first, k, (size_t)got);
		}
		iov += k;
		n -= k;
	}
out:
	*done = total;
	return 0;
}

int pt_op_read(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
	       const struct iovec *iov, unsigned niov, size_t *done)
{
	struct pt *pt = be;
	struct pt_href hr;
	int err = pt_htab_get(pt->htab, fh, false, &hr);

	if (err)
		return err;
	err = rw_all(hr.fd, iov, niov, off, false, done);
	pt_htab_put(pt->htab, &hr);
	return err;
}

int pt_op_write(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		const struct iovec *iov, unsigned niov, uint32_t write_flags, size_t *done)
{
	struct pt *pt = be;
	struct pt_href hr;
	int err;

	if (pt->readonly)
		return -EROFS;
	err = pt_htab_get(pt->htab, fh, false, &hr);
	if (err)
		return err;
	/* We write as root, so the host would not clear these bits: the guest says when. */
	if ((write_flags & FUSE_WRITE_KILL_SUIDGID) && atomic_load(&pt->killpriv_v2))
		err = pt_kill_suidgid(hr.fd);
	if (!err)
		err = rw_all(hr.fd, iov, niov, off, true, done);
	pt_htab_put(pt->htab, &hr);
	return err;
}

int pt_op_flush(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		uint64_t lock_owner)
{
	struct pt *pt = be;
	struct pt_href hr;
	int err = pt_htab_get(pt->htab, fh, false, &hr);

	if (err)
		return err;
	/* close() drops the caller's POSIX locks on the file, whichever descriptor closes. */
	pt_locks_flush_owner(pt->locks, hr.nodeid, lock_owner);
	/* A close of a duplicate gives network file systems their close-to-open flush. */
	int dupfd = dup(hr.fd);
	if (dupfd >= 0 && close(dupfd) != 0)
		err = -errno;
	pt_htab_put(pt->htab, &hr);
	return err;
}

int pt_op_release(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		  uint32_t release_flags, uint64_t lock_owner)
{
	struct pt *pt = be;
	struct pt_href hr;

	if ((release_flags & FUSE_RELEASE_FLUSH) && pt_htab_get(pt->htab, fh, false, &hr) == 0) {
		pt_locks_flush_owner(pt->locks, hr.nodeid, lock_owner);
		pt_htab_put(pt->htab, &hr);
	}
	/* flock locks (FUSE_RELEASE_FLOCK_UNLOCK) live on this descriptor: closing drops them,
	 * then waiters (this handle's are cancelled) look again. */
	int err = pt_htab_remove(pt->htab, fh, false);
	pt_locks_release_fh(pt->locks, fh);
	return err;
}

/* FSYNC and FSYNCDIR: sync the descriptor behind a file or directory handle. */
int pt_sync_handle(struct pt *pt, uint64_t fh, bool is_dir, bool datasync)
{
	struct pt_href hr;
	int err = pt_htab_get(pt->htab, fh, is_dir, &hr);

	if (err)
		return err;
	if ((datasync ? fdatasync(hr.fd) : fsync(hr.fd)) != 0)
		err = -errno;
	pt_htab_put(pt->htab, &hr);
	return err;
}

int pt_op_fsync(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, bool datasync)
{
	return pt_sync_handle(be, fh, false, datasync);
}

/* The DAX mapper's own descriptor: O_RDONLY or O_RDWR, never O_APPEND (mmap would refuse it). */
int pt_op_map_open(void *be, uint64_t nodeid, bool writable, int *fd)
{
	struct pt *pt = be;
	struct pt_iref ir;
	int err;

	if (writable && pt->readonly)
		return -EROFS;
	err = pt_itab_get(pt->itab, nodeid, &ir);
	if (err)
		return err;
	/* Only regular files: a directory, device or FIFO has no pages to map. */
	err = S_ISREG(ir.type) ? pt_reopen(pt, &ir, writable ? O_RDWR : O_RDONLY) : -ENODEV;
	pt_itab_put(pt->itab, &ir);
	if (err < 0)
		return err;
	*fd = err;
	return 0;
}

int pt_op_fallocate(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, int mode,
		    uint64_t off, uint64_t len)
{
	struct pt *pt = be;
	struct pt_href hr;
	int err;

	if (pt->readonly)
		return -EROFS;
	/* What Linux's FUSE client itself lets through. */
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	err = pt_htab_get(pt->htab, fh, false, &hr);
	if (err)
		return err;
	if (fallocate(hr.fd, mode, (off_t)off, (off_t)len) != 0)
		err = -errno;
	pt_htab_put(pt->htab, &hr);
	return err;
}

int pt_op_lseek(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		int whence, uint64_t *result)
{
	struct pt *pt = be;
	struct pt_href hr;
	off_t r;
	int err;

	if (whence != SEEK_SET && whence != SEEK_END && whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	err = pt_htab_get(pt->htab, fh, false, &hr);
	if (err)
		return err;
	r = lseek(hr.fd, (off_t)off, whence);
	if (r < 0)
		err = -errno;
	else
		*result = (uint64_t)r;
	pt_htab_put(pt->htab, &hr);
	return err;
}

int pt_op_copy_file_range(void *be, const struct fuse_ctx *c, uint64_t nodeid_in, uint64_t fh_in,
			  uint64_t off_in, uint64_t nodeid_out, uint64_t fh_out, uint64_t off_out,
			  uint64_t len, size_t *done)
{
	struct pt *pt = be;
	struct pt_href in, out;
	loff_t oi = (loff_t)off_in, oo = (loff_t)off_out;
	ssize_t n;
	int err;

	if (pt->readonly)
		return -EROFS;
	err = pt_htab_get(pt->htab, fh_in, false, &in);
	if (err)
		return err;
	err = pt_htab_get(pt->htab, fh_out, false, &out);
	if (!err) {
		n = copy_file_range(in.fd, &oi, out.fd, &oo, (size_t)len, 0);
		if (n < 0)
			err = -errno;
		else
			*done = (size_t)n;
		pt_htab_put(pt->htab, &out);
	}
	pt_htab_put(pt->htab, &in);
	return err;
}
