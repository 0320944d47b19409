/* inode_table.h: node IDs for host inodes: O_PATH descriptors keyed by (st_dev, st_ino), lookup counts. */
#ifndef MICROVM_INODE_TABLE_H
#define MICROVM_INODE_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include "../../vmm/util.h"

/*
 * A node ID is (generation << 32 | slot index): opaque to the guest, checked on every use,
 * never a pointer. Slot 1 with generation 0 is the root, so the root is FUSE_ROOT_ID.
 * Descriptors beyond the budget are closed least-recently-used first and reopened with
 * open_by_handle_at when needed (only for inodes on the root's mount, and only when the
 * file system gives handles and we hold CAP_DAC_READ_SEARCH).
 */
#define PT_ROOT_INDEX 1U

struct pt_itab;

/* A pinned inode: fd stays open and valid until pt_itab_put. */
struct pt_iref {
	uint32_t idx;
	int fd;	    /* O_PATH|O_NOFOLLOW */
	mode_t type; /* S_IFMT bits */
	uint64_t nodeid;
};

struct pt_itab_stats {
	unsigned inodes;   /* live node IDs, root included */
	unsigned open_fds; /* inode descriptors open now */
	unsigned fd_budget;
	uint64_t evictions, reopens;
};

/* Takes ownership of root_fd (O_PATH of the shared directory). */
MUST_CHECK int pt_itab_create(int root_fd, const struct stat *root_st, unsigned fd_budget,
			      struct pt_itab **out);
void pt_itab_destroy(struct pt_itab *t);

/* -ESTALE for node IDs that are unknown, forgotten or from another generation. */
MUST_CHECK int pt_itab_get(struct pt_itab *t, uint64_t nodeid, struct pt_iref *ref);
void pt_itab_put(struct pt_itab *t, const struct pt_iref *ref);

/*
 * Records one more lookup of the inode behind fd (consumed in every case) whose attributes
 * are st; *nodeid and *gen identify it to the guest.
 */
MUST_CHECK int pt_itab_insert(struct pt_itab *t, int fd, const struct stat *st, uint64_t *nodeid,
			      uint64_t *gen);
/*
 * Records one more lookup of the inode that `name` in directory parent_nodeid had when it
 * was listed (attributes st), without opening it: for trees that do not change (cache:
 * immutable). The name is opened on first use, beneath the directory and checked to be
 * the same inode (else -ESTALE); until then the directory stays pinned.
 */
MUST_CHECK int pt_itab_insert_listed(struct pt_itab *t, uint64_t parent_nodeid, const char *name,
				     const struct stat *st, uint64_t *nodeid, uint64_t *gen);
/* Drops n lookups (saturating at zero); the inode goes when none remain and none are pinned. */
void pt_itab_forget(struct pt_itab *t, uint64_t nodeid, uint64_t n);
/* Forgets every inode but the root (DESTROY). */
void pt_itab_forget_all(struct pt_itab *t);
/* After EMFILE/ENFILE: closes some evictable descriptors; returns how many. */
unsigned pt_itab_shrink(struct pt_itab *t, unsigned want);

/* A pinned directory's end cookie, remembered for trees that do not change; 0: unknown. */
uint64_t pt_itab_dir_end(struct pt_itab *t, const struct pt_iref *ref);
void pt_itab_set_dir_end(struct pt_itab *t, const struct pt_iref *ref, uint64_t end);

void pt_itab_get_stats(struct pt_itab *t, struct pt_itab_stats *st);

#endif
