/* pt_internal.h: what the passthrough backend's files share: struct pt and its helpers. */
#ifndef MICROVM_PT_INTERNAL_H
#define MICROVM_PT_INTERNAL_H

#include <stdatomic.h>
#include "handle_table.h"
#include "inode_table.h"
#include "passthrough.h"

struct pt_locks;

struct pt {
	struct pt_itab *itab;
	struct pt_htab *htab;
	struct pt_locks *locks;
	int proc_fd;   /* /proc/self/fd, O_PATH: reopening inodes without path strings */
	int syncfs_fd; /* the root, readable: syncfs needs a real descriptor */
	bool readonly;
	bool unchanging; /* readonly and promised unchanged: pt_itab_insert_listed for listings */
	/* Set at INIT, read by every request. */
	_Atomic bool writeback, killpriv_v2;
	_Atomic bool no_openat2; /* the host kernel predates openat2 (5.6) */
};

/* A guest name is one safe component (see fuse_name_check); checked again here. */
MUST_CHECK int pt_name_ok(const char *name);
/* Opens name under dirfd, beneath it, following no symlink (RESOLVE_BENEATH | NO_SYMLINKS). */
MUST_CHECK int pt_openat(struct pt *pt, int dirfd, const char *name, int flags, mode_t mode);
/* Opens another description of an open (non-O_PATH) descriptor through /proc/self/fd. */
MUST_CHECK int pt_reopen_fd(struct pt *pt, int fd, int flags);
/* Reopens a regular file or directory through /proc/self/fd; anything else is ENXIO. */
MUST_CHECK int pt_reopen(struct pt *pt, const struct pt_iref *ir, int flags);
/* Looks name up under dirfd and counts one lookup of the result. */
MUST_CHECK int pt_lookup_at(struct pt *pt, int dirfd, const char *name, struct fuse_entry *e);
/* Counts one lookup of the inode an open descriptor refers to. */
MUST_CHECK int pt_entry_from_fd(struct pt *pt, int fd, struct fuse_entry *e);
/* Pins nodeid and checks it is a directory. */
MUST_CHECK int pt_get_dir(struct pt *pt, uint64_t nodeid, struct pt_iref *ir);
/* Clears setuid, and setgid when group-executable, as a write by a non-owner would. */
MUST_CHECK int pt_kill_suidgid(int fd);
/* Guest open flags reduced to those that mean something here, plus our own. */
MUST_CHECK int pt_open_flags(struct pt *pt, int guest_flags);

/* pt_creds.c: the caller's fsuid/fsgid on this thread around creating ops. */
struct pt_creds {
	bool switched;
};
MUST_CHECK int pt_creds_enter(const struct fuse_ctx *c, struct pt_creds *saved);
void pt_creds_leave(const struct pt_creds *saved);

/* pt_lock.c */
MUST_CHECK int pt_locks_create(unsigned max_waiters, struct pt_locks **out);
void pt_locks_destroy(struct pt_locks *l);
/* Closing a guest file: drops the owner's POSIX locks on the inode and wakes its waits. */
void pt_locks_flush_owner(struct pt_locks *l, uint64_t nodeid, uint64_t owner);
/* Releasing a handle: wakes its flock waits. */
void pt_locks_release_fh(struct pt_locks *l, uint64_t fh);
void pt_locks_clear(struct pt_locks *l);
void pt_locks_interrupt(struct pt_locks *l, uint64_t unique);
void pt_locks_counts(struct pt_locks *l, unsigned *owners, unsigned *waiters);

/* Backend ops implemented outside passthrough.c. */
int pt_op_setattr(void *be, const struct fuse_ctx *c, uint64_t nodeid,
		  const struct fuse_setattr *sa, struct stat *st);
int pt_op_mknod(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		mode_t mode, dev_t rdev, struct fuse_entry *e);
int pt_op_mkdir(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		mode_t mode, struct fuse_entry *e);
int pt_op_symlink(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		  const char *target, struct fuse_entry *e);
int pt_op_unlink(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name);
int pt_op_rmdir(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name);
int pt_op_rename(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		 uint64_t newparent, const char *newname, unsigned flags);
int pt_op_link(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t newparent,
	       const char *newname, struct fuse_entry *e);

int pt_op_open(void *be, const struct fuse_ctx *c, uint64_t nodeid, int flags,
	       uint32_t open_flags_in, uint64_t *fh);
int pt_op_create(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		 mode_t mode, int flags, struct fuse_entry *e, uint64_t *fh);
int pt_op_read(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
	       const struct iovec *iov, unsigned niov, size_t *done);
int pt_op_write(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		const struct iovec *iov, unsigned niov, uint32_t write_flags, size_t *done);
int pt_op_flush(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		uint64_t lock_owner);
int pt_op_release(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		  uint32_t release_flags, uint64_t lock_owner);
int pt_op_fsync(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, bool datasync);
/* FSYNC and FSYNCDIR share this: fsync or fdatasync the handle's descriptor. */
int pt_sync_handle(struct pt *pt, uint64_t fh, bool is_dir, bool datasync);
int pt_op_map_open(void *be, uint64_t nodeid, bool writable, int *fd);
int pt_op_fallocate(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, int mode,
		    uint64_t off, uint64_t len);
int pt_op_lseek(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		int whence, uint64_t *result);
int pt_op_copy_file_range(void *be, const struct fuse_ctx *c, uint64_t nodeid_in, uint64_t fh_in,
			  uint64_t off_in, uint64_t nodeid_out, uint64_t fh_out, uint64_t off_out,
			  uint64_t len, size_t *done);

int pt_op_opendir(void *be, const struct fuse_ctx *c, uint64_t nodeid, int flags, uint64_t *fh);
int pt_op_readdir(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		  bool plus, fuse_dir_fill_fn fill, void *sink);
int pt_op_readdir_at(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t off,
		     bool plus, fuse_dir_fill_fn fill, void *sink);
int pt_op_releasedir(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh);
int pt_op_fsyncdir(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		   bool datasync);

int pt_op_setxattr(void *be, const struct fuse_ctx *c, uint64_t nodeid, const char *name,
		   const void *value, size_t size, int flags);
int pt_op_getxattr(void *be, const struct fuse_ctx *c, uint64_t nodeid, const char *name,
		   void *buf, size_t size, size_t *len);
int pt_op_listxattr(void *be, const struct fuse_ctx *c, uint64_t nodeid, char *buf, size_t size,
		    size_t *len);
int pt_op_removexattr(void *be, const struct fuse_ctx *c, uint64_t nodeid, const char *name);

int pt_op_getlk(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t owner,
		struct fuse_lock *lk);
int pt_op_setlk(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t owner,
		const struct fuse_lock *lk, bool is_flock, bool wait);

#endif
