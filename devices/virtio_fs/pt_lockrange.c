/* pt_lockrange.c: the byte ranges one POSIX lock owner holds, mirrored for deadlock detection. */
#include <errno.h>
#include <stdlib.h>
#include "pt_lockrange.h"

#define RANGES_MAX 8192U

static bool overlaps(const struct pt_range *r, uint64_t start, uint64_t end)
{
	return r->start <= end && start <= r->end;
}

static int ranges_push(struct pt_ranges *rs, uint64_t start, uint64_t end, uint32_t type)
{
	if (rs->n == rs->cap) {
		unsigned ncap = rs->cap ? rs->cap * 2 : 8;
		struct pt_range *nv;

		if (ncap > RANGES_MAX || !(nv = realloc(rs->v, ncap * sizeof(*nv))))
			return -ENOLCK;
		rs->v = nv;
		rs->cap = ncap;
	}
	rs->v[rs->n++] = (struct pt_range){ start, end, type };
	return 0;
}

/*
 * Cuts [start, end] out of every range (POSIX: a new lock replaces what it covers). An
 * owner's ranges never overlap, so at most two pieces survive: left of start, right of end.
 */
static int ranges_cut(struct pt_ranges *rs, uint64_t start, uint64_t end)
{
	struct pt_range keep[2];
	unsigned w = 0, nkeep = 0;

	for (unsigned i = 0; i < rs->n; i++) {
		struct pt_range r = rs->v[i];

		if (!overlaps(&r, start, end)) {
			rs->v[w++] = r;
			continue;
		}
		if (r.start < start && nkeep < 2)
			keep[nkeep++] = (struct pt_range){ r.start, start - 1, r.type };
		if (r.end > end && nkeep < 2)
			keep[nkeep++] = (struct pt_range){ end + 1, r.end, r.type };
	}
	rs->n = w;
	for (unsigned k = 0; k < nkeep; k++)
		if (ranges_push(rs, keep[k].start, keep[k].end, keep[k].type))
			return -ENOLCK;
	return 0;
}

void pt_ranges_apply(struct pt_ranges *rs, uint64_t start, uint64_t end, uint32_t type)
{
	if (rs->lost)
		return;
	if (ranges_cut(rs, start, end) || (type != F_UNLCK && ranges_push(rs, start, end, type)))
		rs->lost = true; /* too many to follow: this owner drops out of deadlock checks */
}

bool pt_ranges_conflict(const struct pt_ranges *rs, uint64_t start, uint64_t end, uint32_t type)
{
	for (unsigned i = 0; i < rs->n; i++)
		if (overlaps(&rs->v[i], start, end) && (type == F_WRLCK || rs->v[i].type == F_WRLCK))
			return true;
	return false;
}

void pt_ranges_free(struct pt_ranges *rs)
{
	free(rs->v);
	*rs = (struct pt_ranges){ 0 };
}
