/* dax_table.h: the DAX window's mapping table: sorted, non-overlapping ranges of window offsets. */
#ifndef MICROVM_DAX_TABLE_H
#define MICROVM_DAX_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../../vmm/util.h"

enum dax_kind {
	DAX_FILE = 1,	 /* a host file range, mmap(MAP_SHARED) */
	DAX_SCRATCH = 2, /* private zero memory put over a hole the guest touched (dax.c) */
};

/* One mapped range [start, end) of window offsets. Anything not in the table is PROT_NONE. */
struct dax_map {
	uint64_t start, end;
	uint64_t foffset; /* file offset of start (DAX_FILE) */
	uint64_t nodeid;  /* the FUSE node it maps (DAX_FILE) */
	uint8_t kind;	  /* enum dax_kind */
	bool writable;
};

/* Not locked: the owner (struct dax_window) serialises every call. */
struct dax_table {
	struct dax_map *v; /* sorted by start, non-overlapping, no empty entry */
	size_t n, cap;
};

void dax_table_init(struct dax_table *t);
void dax_table_free(struct dax_table *t);
/*
 * Makes room for `extra` more entries, so the next set/clear calls cannot fail: a clear
 * adds at most one entry (a split), a set at most two. Call before changing the host
 * mappings, so the table and the window never disagree after an error.
 */
MUST_CHECK int dax_table_reserve(struct dax_table *t, size_t extra);
/* Removes [start, end) from every entry, cutting and splitting them. -ENOSPC if not reserved. */
MUST_CHECK int dax_table_clear(struct dax_table *t, uint64_t start, uint64_t end);
/* Replaces whatever covered [m->start, m->end) by m. -EINVAL empty, -ENOSPC if not reserved. */
MUST_CHECK int dax_table_set(struct dax_table *t, const struct dax_map *m);
/* Index of the first entry ending after off (t->n when there is none). */
size_t dax_table_lookup(const struct dax_table *t, uint64_t off);

#endif
