/* pt_lockrange.h: the byte ranges one POSIX lock owner holds, mirrored for deadlock detection. */
#ifndef MICROVM_PT_LOCKRANGE_H
#define MICROVM_PT_LOCKRANGE_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * OFD locks have no deadlock detection, POSIX locks do (EDEADLK). The kernel knows what
 * each of our lock descriptions holds, but not which guest owner a conflicting lock
 * belongs to, so each owner's ranges are mirrored here, updated after every successful
 * lock change, and pt_lock.c walks "who waits for whom" over them.
 */
struct pt_range {
	uint64_t start, end; /* inclusive */
	uint32_t type;	     /* F_RDLCK or F_WRLCK */
};

struct pt_ranges {
	struct pt_range *v;
	unsigned n, cap;
	bool lost; /* more ranges than we follow: treated as holding nothing */
};

/* Records a successful lock (or F_UNLCK) of [start, end] by this owner. */
void pt_ranges_apply(struct pt_ranges *rs, uint64_t start, uint64_t end, uint32_t type);
/* Whether a lock of `type` on [start, end] by someone else conflicts with these ranges. */
bool pt_ranges_conflict(const struct pt_ranges *rs, uint64_t start, uint64_t end, uint32_t type);
void pt_ranges_free(struct pt_ranges *rs);

#endif
