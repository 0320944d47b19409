/* fuse_backend.h: the file-system operations the FUSE server calls, as a struct of function pointers. */
#ifndef MICROVM_FUSE_BACKEND_H
#define MICROVM_FUSE_BACKEND_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>

/*
 * The server decodes and validates; a backend does the work. Every op returns 0 or a
 * negative errno. A NULL op answers ENOSYS, so an all-NULL struct is the null backend
 * (fuse_null_backend below). Backends are called from several worker threads at once.
 * Node IDs and file handles are opaque 64-bit values chosen by the backend; the guest
 * echoes them and may lie, so the backend validates every one it receives.
 */

/* Who asked: the credentials and request id from struct fuse_in_header. */
struct fuse_ctx {
	uint32_t uid;
	uint32_t gid;
	uint32_t pid;
	uint64_t unique;
};

/* A looked-up inode. nodeid 0 with ENOENT-free return = negative entry (not used by backends). */
struct fuse_entry {
	uint64_t nodeid;
	uint64_t generation;
	struct stat attr;
};

/* What INIT negotiated that changes how a backend behaves. */
struct fuse_conn_params {
	bool writeback;	  /* FUSE_WRITEBACK_CACHE: open O_WRONLY as O_RDWR, ignore O_APPEND */
	bool killpriv_v2; /* FUSE_HANDLE_KILLPRIV_V2: the guest tells us when to clear suid/sgid */
	bool flock;	  /* FUSE_FLOCK_LOCKS */
	bool posix_locks; /* FUSE_POSIX_LOCKS */
};

/*
 * READDIR(PLUS) sink. Returns 0 when the entry was taken, 1 when the reply is full (the
 * entry was NOT taken: a backend that looked the entry up for PLUS must undo that lookup),
 * or a negative errno. `e` is NULL for plain READDIR; for PLUS, e->nodeid 0 means "name
 * only" (used for "." and "..", whose lookups the kernel ignores). `off` is the cookie the
 * guest passes back to continue after this entry.
 */
typedef int (*fuse_dir_fill_fn)(void *sink, const char *name, size_t namelen, uint64_t ino,
				unsigned dtype, uint64_t off, const struct fuse_entry *e);

/* SETATTR as decoded; `valid` holds FATTR_* bits. Times with FATTR_*_NOW use the host clock. */
struct fuse_setattr {
	uint32_t valid;
	uint64_t fh; /* meaningful with FATTR_FH */
	mode_t mode;
	uint32_t uid, gid;
	uint64_t size;
	struct timespec atime, mtime;
};

/* Lock request as decoded from fuse_lk_in (start/end inclusive, type F_RDLCK/F_WRLCK/F_UNLCK). */
struct fuse_lock {
	uint64_t start, end;
	uint32_t type;
	uint32_t pid;
};

struct fuse_backend_ops {
	/* Called after a successful INIT (and again after each new INIT). */
	int (*init)(void *be, const struct fuse_conn_params *conn);
	/* DESTROY, or a re-INIT: forget every inode but the root, close every handle. */
	void (*destroy)(void *be);

	int (*lookup)(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		      struct fuse_entry *e);
	void (*forget)(void *be, uint64_t nodeid, uint64_t nlookup);
	int (*getattr)(void *be, const struct fuse_ctx *c, uint64_t nodeid, struct stat *st);
	int (*setattr)(void *be, const struct fuse_ctx *c, uint64_t nodeid,
		       const struct fuse_setattr *sa, struct stat *st);
	/* Writes at most `size` bytes of the target, without NUL; *len gets the length. */
	int (*readlink)(void *be, const struct fuse_ctx *c, uint64_t nodeid, char *buf, size_t size,
			size_t *len);
	int (*mknod)(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		     mode_t mode, dev_t rdev, struct fuse_entry *e);
	int (*mkdir)(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		     mode_t mode, struct fuse_entry *e);
	int (*symlink)(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		       const char *target, struct fuse_entry *e);
	int (*unlink)(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name);
	int (*rmdir)(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name);
	int (*rename)(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		      uint64_t newparent, const char *newname, unsigned flags);
	int (*link)(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t newparent,
		    const char *newname, struct fuse_entry *e);

	/* open_flags_in: FUSE_OPEN_KILL_SUIDGID. */
	int (*open)(void *be, const struct fuse_ctx *c, uint64_t nodeid, int flags,
		    uint32_t open_flags_in, uint64_t *fh);
	int (*create)(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		      mode_t mode, int flags, struct fuse_entry *e, uint64_t *fh);
	/* Data moves straight between the file and the iovecs; *done = bytes moved. */
	int (*read)(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		    const struct iovec *iov, unsigned niov, size_t *done);
	/* write_flags: FUSE_WRITE_KILL_SUIDGID etc. */
	int (*write)(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		     const struct iovec *iov, unsigned niov, uint32_t write_flags, size_t *done);
	int (*flush)(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		     uint64_t lock_owner);
	int (*release)(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		       uint32_t release_flags, uint64_t lock_owner);
	int (*fsync)(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		     bool datasync);
	int (*fallocate)(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, int mode,
			 uint64_t off, uint64_t len);
	int (*lseek)(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		     int whence, uint64_t *result);
	int (*copy_file_range)(void *be, const struct fuse_ctx *c, uint64_t nodeid_in,
			       uint64_t fh_in, uint64_t off_in, uint64_t nodeid_out,
			       uint64_t fh_out, uint64_t off_out, uint64_t len, size_t *done);

	int (*opendir)(void *be, const struct fuse_ctx *c, uint64_t nodeid, int flags,
		       uint64_t *fh);
	int (*readdir)(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		       uint64_t off, bool plus, fuse_dir_fill_fn fill, void *sink);
	/* Optional: READDIR without an open handle (open-less sessions). */
	int (*readdir_at)(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t off,
			  bool plus, fuse_dir_fill_fn fill, void *sink);
	int (*releasedir)(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh);
	int (*fsyncdir)(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
			bool datasync);

	int (*statfs)(void *be, const struct fuse_ctx *c, uint64_t nodeid, struct statvfs *sv);
	int (*access)(void *be, const struct fuse_ctx *c, uint64_t nodeid, int mask);
	int (*syncfs)(void *be, const struct fuse_ctx *c, uint64_t nodeid);

	int (*setxattr)(void *be, const struct fuse_ctx *c, uint64_t nodeid, const char *name,
			const void *value, size_t size, int flags);
	/* size 0: only report the length in *len. Otherwise ERANGE when it does not fit. */
	int (*getxattr)(void *be, const struct fuse_ctx *c, uint64_t nodeid, const char *name,
			void *buf, size_t size, size_t *len);
	int (*listxattr)(void *be, const struct fuse_ctx *c, uint64_t nodeid, char *buf,
			 size_t size, size_t *len);
	int (*removexattr)(void *be, const struct fuse_ctx *c, uint64_t nodeid, const char *name);

	/* POSIX (per lock owner) and, with is_flock, BSD flock locks on the open file. */
	int (*getlk)(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		     uint64_t owner, struct fuse_lock *lk);
	int (*setlk)(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		     uint64_t owner, const struct fuse_lock *lk, bool is_flock, bool wait);
	/* INTERRUPT: cancel the waiting request with this unique (SETLKW); no reply. */
	void (*interrupt)(void *be, uint64_t unique);

	/*
	 * DAX: a new descriptor of regular file nodeid, opened read-only or read-write, for
	 * the caller to mmap and close. SETUPMAPPING carries no usable fh (Linux sends -1) and
	 * a mapping outlives every handle, so it cannot borrow an open file's descriptor.
	 */
	int (*map_open)(void *be, uint64_t nodeid, bool writable, int *fd);
};

/* The null backend: every op answers ENOSYS, FORGET does nothing. */
static const struct fuse_backend_ops fuse_null_backend __attribute__((unused)) = { 0 };

/* Longest name a backend ever sees (NAME_MAX) and longest symlink target (PATH_MAX - 1). */
#define FUSE_NAME_MAX 255U
#define FUSE_SYMLINK_MAX (PATH_MAX - 1)

/*
 * A name is one safe path component: not empty, at most FUSE_NAME_MAX bytes, no '/', no
 * NUL inside, and not "." or "..". Returns 0, -EINVAL (empty, '/', NUL), -ENAMETOOLONG, or
 * -EPERM ("." and "..": an attempt to leave the single-component rule).
 */
static inline int fuse_name_check(const char *name, size_t len)
{
	if (len == 0 || memchr(name, '/', len) || memchr(name, '\0', len))
		return -EINVAL;
	if (len > FUSE_NAME_MAX)
		return -ENAMETOOLONG;
	if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		return -EPERM;
	return 0;
}

#endif
