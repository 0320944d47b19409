/* handle_table.c: the open-handle table: slots with generations and pins, so a RELEASE never closes an fd in use. */
/*
 * Locking: h->lock protects the slot array and every slot (see inode_table.c for the
 * passthrough lock order: pt_locks.lock -> pt_htab.lock -> pt_itab.lock). Directory
 * streams have their own lock (struct pt_dir), taken only while the handle is pinned and
 * never together with h->lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "handle_table.h"

#define HTAB_MAX_SLOTS (1U << 24)

struct pt_handle {
	int fd;
	uint32_t gen;
	uint32_t refs;
	uint32_t next_free;
	uint64_t nodeid;
	struct pt_dir *dir;
	bool used, closing, is_dir;
};

struct pt_htab {
	pthread_mutex_t lock;
	struct pt_handle *slot; /* protected by lock; [0] unused so no handle is 0 */
	uint32_t nslots, cap, free_head, count;
};

int pt_htab_create(struct pt_htab **out)
{
	struct pt_htab *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->cap = 64;
	h->nslots = 1;
	h->slot = calloc(h->cap, sizeof(*h->slot));
	if (!h->slot || pthread_mutex_init(&h->lock, NULL)) {
		free(h->slot);
		free(h);
		return -ENOMEM;
	}
	*out = h;
	return 0;
}

static void handle_close(struct pt_handle *s)
{
	close(s->fd);
	if (s->dir) {
		pthread_mutex_destroy(&s->dir->lock);
		free(s->dir);
	}
}

void pt_htab_destroy(struct pt_htab *h)
{
	if (!h)
		return;
	for (uint32_t i = 1; i < h->nslots; i++)
		if (h->slot[i].used)
			handle_close(&h->slot[i]);
	pthread_mutex_destroy(&h->lock);
	free(h->slot);
	free(h);
}

static int slot_alloc(struct pt_htab *h, uint32_t *idx)
{
	if (h->free_head) {
		*idx = h->free_head;
		h->free_head = h->slot[*idx].next_free;
		return 0;
	}
	if (h->nslots == h->cap) {
		struct pt_handle *ns;

		if (h->cap * 2 > HTAB_MAX_SLOTS)
			return -ENFILE;
		ns = realloc(h->slot, h->cap * 2 * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		h->slot = ns;
		h->cap *= 2;
	}
	*idx = h->nslots++;
	h->slot[*idx] = (struct pt_handle){ .gen = 1 };
	return 0;
}

static struct pt_dir *dir_new(void)
{
	struct pt_dir *d = calloc(1, sizeof(*d));

	if (d && pthread_mutex_init(&d->lock, NULL)) {
		free(d);
		d = NULL;
	}
	return d;
}

int pt_htab_add(struct pt_htab *h, int fd, uint64_t nodeid, bool dir, uint64_t *fh)
{
	struct pt_dir *d = NULL;
	uint32_t idx;
	int err;

	if (dir && !(d = dir_new())) {
		close(fd);
		return -ENOMEM;
	}
	pthread_mutex_lock(&h->lock);
	err = slot_alloc(h, &idx);
	if (!err) {
		struct pt_handle *s = &h->slot[idx];

		*s = (struct pt_handle){ .fd = fd, .gen = s->gen, .nodeid = nodeid, .dir = d,
					 .used = true, .is_dir = dir };
		h->count++;
		*fh = (uint64_t)s->gen << 32 | idx;
	}
	pthread_mutex_unlock(&h->lock);
	if (err) {
		close(fd);
		free(d);
	}
	return err;
}

static uint32_t slot_of(const struct pt_htab *h, uint64_t fh, bool dir)
{
	uint32_t idx = (uint32_t)fh;

	if (idx == 0 || idx >= h->nslots)
		return 0;
	const struct pt_handle *s = &h->slot[idx];
	if (!s->used || s->closing || s->is_dir != dir || s->gen != (uint32_t)(fh >> 32))
		return 0;
	return idx;
}

int pt_htab_get(struct pt_htab *h, uint64_t fh, bool dir, struct pt_href *ref)
{
	int err = -EBADF;

	pthread_mutex_lock(&h->lock);
	uint32_t idx = slot_of(h, fh, dir);
	if (idx) {
		struct pt_handle *s = &h->slot[idx];

		s->refs++;
		*ref = (struct pt_href){ .idx = idx, .fd = s->fd, .nodeid = s->nodeid,
					 .dir = s->dir };
		err = 0;
	}
	pthread_mutex_unlock(&h->lock);
	return err;
}

/* Under the lock: the slot goes back to the free list; returns what to close outside it. */
static struct pt_handle slot_free(struct pt_htab *h, uint32_t idx)
{
	struct pt_handle *s = &h->slot[idx], old = *s;
	uint32_t gen = s->gen + 1;

	*s = (struct pt_handle){ .gen = gen ? gen : 1, .next_free = h->free_head };
	h->free_head = idx;
	h->count--;
	return old;
}

void pt_htab_put(struct pt_htab *h, const struct pt_href *ref)
{
	struct pt_handle old = { .used = false };

	pthread_mutex_lock(&h->lock);
	struct pt_handle *s = &h->slot[ref->idx];
	if (s->refs > 0 && --s->refs == 0 && s->closing)
		old = slot_free(h, ref->idx);
	pthread_mutex_unlock(&h->lock);
	if (old.used)
		handle_close(&old);
}

int pt_htab_remove(struct pt_htab *h, uint64_t fh, bool dir)
{
	struct pt_handle old = { .used = false };
	int err = -EBADF;

	pthread_mutex_lock(&h->lock);
	uint32_t idx = slot_of(h, fh, dir);
	if (idx) {
		h->slot[idx].closing = true;
		if (h->slot[idx].refs == 0)
			old = slot_free(h, idx);
		err = 0;
	}
	pthread_mutex_unlock(&h->lock);
	if (old.used)
		handle_close(&old);
	return err;
}

void pt_htab_clear(struct pt_htab *h)
{
	for (uint32_t i = 1;; i++) {
		struct pt_handle old = { .used = false };

		pthread_mutex_lock(&h->lock);
		if (i >= h->nslots) {
			pthread_mutex_unlock(&h->lock);
			return;
		}
		if (h->slot[i].used && !h->slot[i].closing) {
			h->slot[i].closing = true;
			if (h->slot[i].refs == 0)
				old = slot_free(h, i);
		}
		pthread_mutex_unlock(&h->lock);
		if (old.used)
			handle_close(&old);
	}
}

unsigned pt_htab_count(struct pt_htab *h)
{
	pthread_mutex_lock(&h->lock);
	unsigned n = h->count;
	pthread_mutex_unlock(&h->lock);
	return n;
}
