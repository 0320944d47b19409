/* passthrough.h: the passthrough backend: the guest's file system is a host directory. */
#ifndef MICROVM_PASSTHROUGH_H
#define MICROVM_PASSTHROUGH_H

#include <stdbool.h>
#include <stdint.h>
#include "../../vmm/util.h"
#include "fuse_backend.h"

struct pt_config {
	const char *root;	   /* the shared directory */
	bool readonly;		   /* every modifying op answers EROFS; files open read-only */
	unsigned max_lock_waiters; /* SETLKW requests waiting at once; 0: 2 */
	unsigned fd_budget;	   /* inode descriptors kept open; 0: 3/4 of RLIMIT_NOFILE */
	bool unchanging;	   /* cache: immutable: READDIRPLUS entries are opened lazily */
};

struct pt;

struct pt_stats {
	unsigned inodes, open_inode_fds, fd_budget, handles, lock_owners, lock_waiters;
	uint64_t evictions, reopens;
};

/* Raises RLIMIT_NOFILE to its hard limit, opens the root and /proc/self/fd. */
MUST_CHECK int pt_create(const struct pt_config *cfg, struct pt **out);
void pt_destroy(struct pt *pt);
void pt_get_stats(struct pt *pt, struct pt_stats *st);

/* The ops table; the opaque `be` pointer is the struct pt. */
extern const struct fuse_backend_ops pt_backend_ops;

#endif
