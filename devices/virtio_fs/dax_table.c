/* dax_table.c: the DAX mapping table: replacing, cutting and splitting ranges of window offsets. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "dax_table.h"

void dax_table_init(struct dax_table *t)
{
	memset(t, 0, sizeof(*t));
}

void dax_table_free(struct dax_table *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

int dax_table_reserve(struct dax_table *t, size_t extra)
{
	size_t want = t->n + extra, cap = t->cap ? t->cap : 16;
	struct dax_map *v;

	if (want <= t->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	v = realloc(t->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	t->v = v;
	t->cap = cap;
	return 0;
}

/* Binary search: entries are sorted and disjoint, so their ends are sorted too. */
size_t dax_table_lookup(const struct dax_table *t, uint64_t off)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].end > off)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Drops the part of m before `to`: the file offset moves with the start. */
static void dax_map_cut_front(struct dax_map *m, uint64_t to)
{
	if (m->kind == DAX_FILE)
		m->foffset += to - m->start;
	m->start = to;
}

int dax_table_clear(struct dax_table *t, uint64_t start, uint64_t end)
{
	size_t i = dax_table_lookup(t, start), j;

	if (start >= end || i == t->n || t->v[i].start >= end)
		return 0;
	if (t->v[i].start < start && t->v[i].end > end) {
		/* The range is inside one entry: it splits in two. */
		if (t->n == t->cap)
			return -ENOSPC;
		memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof(t->v[0]));
		t->n++;
		t->v[i].end = start;
		dax_map_cut_front(&t->v[i + 1], end);
		return 0;
	}
	if (t->v[i].start < start) {
		t->v[i].end = start; /* keeps its head */
		i++;
	}
	for (j = i; j < t->n && t->v[j].end <= end; j++)
		; /* entries i..j-1 lie wholly inside: they go */
	if (j < t->n && t->v[j].start < end)
		dax_map_cut_front(&t->v[j], end); /* keeps its tail */
	memmove(&t->v[i], &t->v[j], (t->n - j) * sizeof(t->v[0]));
	t->n -= j - i;
	return 0;
}

int dax_table_set(struct dax_table *t, const struct dax_map *m)
{
	size_t i;
	int err;

	if (m->start >= m->end)
		return -EINVAL;
	if (t->cap - t->n < 2)
		return -ENOSPC; /* a split plus the new entry */
	err = dax_table_clear(t, m->start, m->end);
	if (err)
		return err;
	i = dax_table_lookup(t, m->start);
	memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof(t->v[0]));
	t->v[i] = *m;
	t->n++;
	return 0;
}
