/* inode_table.c: the node-ID table: slots with generations, a (dev, ino) hash, lookup counts, fd eviction. */
/*
 * Locking: one mutex, t->lock, protects every field below it in struct pt_itab and every
 * slot. Callers never hold a slot pointer across calls (the slot array moves when it
 * grows); they hold a pinned pt_iref instead. Passthrough lock order, outermost first:
 * pt_locks.lock -> pt_htab.lock -> pt_itab.lock; this lock is innermost and nothing is
 * called with it held that takes another.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "inode_table.h"

#define ITAB_MAX_SLOTS (1U << 30)
#define ITAB_SHRINK_BATCH 64U

struct pt_inode {
	int fd;	       /* O_PATH|O_NOFOLLOW; -1 while evicted or free */
	uint32_t gen;  /* part of the node ID; bumps each time the slot is reused */
	uint32_t refs; /* pins by requests in flight: the fd cannot close while > 0 */
	uint64_t nlookup;
	dev_t dev;
	ino_t ino;
	mode_t type;
	uint32_t hnext;	       /* hash chain, or free list; 0 ends */
	uint32_t lprev, lnext; /* LRU of closable descriptors, oldest first; 0 ends */
	bool used, hashed, on_lru, no_handle;
	struct file_handle *fh; /* how to reopen it once evicted */
	/*
	 * Listed but never opened (pt_itab_insert_listed): its name in directory slot
	 * `parent`, which it pins (refs) until it is opened or freed; 0 and NULL otherwise.
	 */
	uint32_t parent;
	char *name;
	uint64_t dir_end; /* unchanging directories: the cookie after the last entry; 0 unknown */
};

struct pt_itab {
	pthread_mutex_t lock;
	struct pt_inode *slot; /* protected by lock; [0] unused, [1] the root */
	uint32_t nslots, cap, free_head, count;
	uint32_t *bucket; /* protected by lock; power-of-two count */
	uint32_t nbuckets;
	uint32_t lru_head, lru_tail; /* protected by lock */
	unsigned open_fds, fd_budget;
	int mount_fd;	  /* the root opened for open_by_handle_at; -1: no eviction */
	int root_mnt_id;
	uint64_t evictions, reopens;
};

static uint32_t hash_key(const struct pt_itab *t, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4fULL;

	return (uint32_t)(h >> 32) & (t->nbuckets - 1);
}

static uint32_t hash_find(const struct pt_itab *t, dev_t dev, ino_t ino)
{
	for (uint32_t i = t->bucket[hash_key(t, dev, ino)]; i; i = t->slot[i].hnext)
		if (t->slot[i].dev == dev && t->slot[i].ino == ino)
			return i;
	return 0;
}

static void hash_link(struct pt_itab *t, uint32_t idx)
{
	uint32_t b = hash_key(t, t->slot[idx].dev, t->slot[idx].ino);

	t->slot[idx].hnext = t->bucket[b];
	t->bucket[b] = idx;
	t->slot[idx].hashed = true;
}

static void hash_unlink(struct pt_itab *t, uint32_t idx)
{
	uint32_t *p = &t->bucket[hash_key(t, t->slot[idx].dev, t->slot[idx].ino)];

	if (!t->slot[idx].hashed)
		return;
	while (*p && *p != idx)
		p = &t->slot[*p].hnext;
	if (*p)
		*p = t->slot[idx].hnext;
	t->slot[idx].hashed = false;
	t->slot[idx].hnext = 0;
}

/* Doubles the buckets when they average more than one slot each. */
static void hash_maybe_grow(struct pt_itab *t)
{
	uint32_t n = t->nbuckets * 2, *nb;

	if (t->count <= t->nbuckets || n > ITAB_MAX_SLOTS)
		return;
	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return; /* longer chains, still correct */
	free(t->bucket);
	t->bucket = nb;
	t->nbuckets = n;
	for (uint32_t i = 1; i < t->nslots; i++)
		if (t->slot[i].used && t->slot[i].hashed)
			hash_link(t, i);
}

static void lru_remove(struct pt_itab *t, uint32_t idx)
{
	struct pt_inode *s = &t->slot[idx];

	if (!s->on_lru)
		return;
	if (s->lprev)
		t->slot[s->lprev].lnext = s->lnext;
	else
		t->lru_head = s->lnext;
	if (s->lnext)
		t->slot[s->lnext].lprev = s->lprev;
	else
		t->lru_tail = s->lprev;
	s->lprev = s->lnext = 0;
	s->on_lru = false;
}

static void lru_push(struct pt_itab *t, uint32_t idx)
{
	struct pt_inode *s = &t->slot[idx];

	if (s->on_lru || idx == PT_ROOT_INDEX || s->no_handle || t->mount_fd < 0 || s->fd < 0)
		return;
	s->lprev = t->lru_tail;
	s->lnext = 0;
	if (t->lru_tail)
		t->slot[t->lru_tail].lnext = idx;
	else
		t->lru_head = idx;
	t->lru_tail = idx;
	s->on_lru = true;
}

static uint64_t make_nodeid(const struct pt_itab *t, uint32_t idx)
{
	return (uint64_t)t->slot[idx].gen << 32 | idx;
}

/* Records how to reopen the slot's inode; false when it cannot be evicted. */
static bool slot_take_handle(struct pt_itab *t, struct pt_inode *s)
{
	struct file_handle *fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
	int mnt;

	if (!fh)
		return false;
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(s->fd, "", fh, &mnt, AT_EMPTY_PATH) != 0 || mnt != t->root_mnt_id) {
		free(fh);
		return false;
	}
	s->fh = fh;
	return true;
}

/* Closes least-recently-used descriptors while over budget (or `force` more of them). */
static unsigned evict(struct pt_itab *t, unsigned force)
{
	unsigned n = 0;

	while (t->lru_head && (t->open_fds >= t->fd_budget || n < force)) {
		uint32_t idx = t->lru_head;
		struct pt_inode *s = &t->slot[idx];

		lru_remove(t, idx);
		if (!s->fh && !slot_take_handle(t, s)) {
			s->no_handle = true; /* stays open for good */
			continue;
		}
		close(s->fd);
		s->fd = -1;
		t->open_fds--;
		t->evictions++;
		n++;
	}
	return n;
}

static int slot_reopen(struct pt_itab *t, struct pt_inode *s)
{
	int fd;

	if (!s->fh)
		return -ESTALE;
	evict(t, 0);
	fd = open_by_handle_at(t->mount_fd, s->fh, O_PATH | O_CLOEXEC);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && evict(t, ITAB_SHRINK_BATCH) > 0)
		fd = open_by_handle_at(t->mount_fd, s->fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	s->fd = fd;
	t->open_fds++;
	t->reopens++;
	return 0;
}

static void slot_unpin(struct pt_itab *t, uint32_t idx);

static void slot_free(struct pt_itab *t, uint32_t idx)
{
	struct pt_inode *s = &t->slot[idx];

	hash_unlink(t, idx);
	lru_remove(t, idx);
	if (s->fd >= 0) {
		close(s->fd);
		t->open_fds--;
	}
	free(s->fh);
	free(s->name);
	uint32_t gen = s->gen + 1, parent = s->parent;
	*s = (struct pt_inode){ .fd = -1, .gen = gen ? gen : 1, .hnext = t->free_head };
	t->free_head = idx;
	t->count--;
	if (parent)
		slot_unpin(t, parent);
}

/*
 * Drops one pin (a request's, or a listed child's on its directory): an inode nobody
 * looks up any more goes, one still known becomes evictable again.
 */
static void slot_unpin(struct pt_itab *t, uint32_t idx)
{
	struct pt_inode *s = &t->slot[idx];

	if (!s->used || s->refs == 0 || --s->refs > 0)
		return;
	if (s->nlookup == 0 && idx != PT_ROOT_INDEX)
		slot_free(t, idx);
	else
		lru_push(t, idx);
}

static int slot_alloc(struct pt_itab *t, uint32_t *idx)
{
	if (t->free_head) {
		*idx = t->free_head;
		t->free_head = t->slot[*idx].hnext;
		t->slot[*idx].hnext = 0;
		return 0;
	}
	if (t->nslots == t->cap) {
		uint32_t ncap = t->cap * 2;
		struct pt_inode *ns;

		if (ncap > ITAB_MAX_SLOTS)
			return -ENFILE;
		ns = realloc(t->slot, ncap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		t->slot = ns;
		t->cap = ncap;
	}
	*idx = t->nslots++;
	t->slot[*idx] = (struct pt_inode){ .fd = -1, .gen = 1 };
	return 0;
}

#define ITAB_MAX_LISTED_DEPTH 64U /* listed inodes under listed ones: bounded recursion */

/* A listed slot gets its descriptor: an ordinary slot from now on, its directory let go. */
static void slot_settle(struct pt_itab *t, uint32_t idx, int fd)
{
	struct pt_inode *s = &t->slot[idx];
	uint32_t parent = s->parent;

	s->fd = fd;
	t->open_fds++;
	free(s->name);
	s->name = NULL;
	s->parent = 0;
	slot_unpin(t, parent);
}

static int slot_open(struct pt_itab *t, uint32_t idx, unsigned depth);

/*
 * A listed inode's first use: open its name in its directory (one component, never "."
 * or "..", with O_NOFOLLOW: it cannot leave the directory) and check that the name still
 * means the inode that was listed; then it is an ordinary slot and lets its directory go.
 */
static int slot_open_listed(struct pt_itab *t, uint32_t idx, unsigned depth)
{
	struct pt_inode *s = &t->slot[idx];
	uint32_t parent = s->parent;
	struct stat st;
	int fd, err = t->slot[parent].fd < 0 ? slot_open(t, parent, depth + 1) : 0;

	if (err)
		return err;
	evict(t, 0);
	fd = openat(t->slot[parent].fd, s->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	if (fstat(fd, &st) != 0 || st.st_dev != s->dev || st.st_ino != s->ino) {
		close(fd);
		return -ESTALE; /* the host broke the immutable promise: not that inode */
	}
	slot_settle(t, idx, fd);
	return 0;
}

/* A descriptor for a slot that has none: opened by name once listed, else by handle. */
static int slot_open(struct pt_itab *t, uint32_t idx, unsigned depth)
{
	if (depth > ITAB_MAX_LISTED_DEPTH)
		return -ELOOP;
	if (t->slot[idx].name)
		return slot_open_listed(t, idx, depth);
	return slot_reopen(t, &t->slot[idx]);
}

/* The slot for nodeid, or 0 when the guest names something that is not there. */
static uint32_t slot_of(const struct pt_itab *t, uint64_t nodeid)
{
	uint32_t idx = (uint32_t)nodeid;

	if (idx == 0 || idx >= t->nslots || !t->slot[idx].used ||
	    t->slot[idx].gen != (uint32_t)(nodeid >> 32))
		return 0;
	return idx;
}

/* Eviction needs file handles on the root's mount and CAP_DAC_READ_SEARCH to reopen them. */
static void itab_enable_eviction(struct pt_itab *t, int root_fd)
{
	struct file_handle *fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
	int fd = -1, test = -1;

	t->mount_fd = -1;
	if (!fh)
		return;
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(root_fd, "", fh, &t->root_mnt_id, AT_EMPTY_PATH) == 0)
		fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		test = open_by_handle_at(fd, fh, O_PATH | O_CLOEXEC);
	free(fh);
	if (test >= 0) {
		close(test);
		t->mount_fd = fd;
	} else if (fd >= 0) {
		close(fd);
	}
}

int pt_itab_create(int root_fd, const struct stat *root_st, unsigned fd_budget,
		   struct pt_itab **out)
{
	struct pt_itab *t = calloc(1, sizeof(*t));

	if (!t)
		goto fail;
	t->cap = 64;
	t->nbuckets = 64;
	t->slot = calloc(t->cap, sizeof(*t->slot));
	t->bucket = calloc(t->nbuckets, sizeof(*t->bucket));
	if (!t->slot || !t->bucket || pthread_mutex_init(&t->lock, NULL))
		goto fail;
	t->fd_budget = fd_budget ? fd_budget : 1;
	itab_enable_eviction(t, root_fd);
	t->nslots = PT_ROOT_INDEX + 1;
	t->slot[PT_ROOT_INDEX] = (struct pt_inode){ .fd = root_fd, .gen = 0, .nlookup = 1,
						    .dev = root_st->st_dev, .ino = root_st->st_ino,
						    .type = root_st->st_mode & S_IFMT, .used = true };
	hash_link(t, PT_ROOT_INDEX);
	t->count = 1;
	t->open_fds = 1;
	*out = t;
	return 0;
fail:
	if (t) {
		free(t->slot);
		free(t->bucket);
		free(t);
	}
	close(root_fd);
	return -ENOMEM;
}

void pt_itab_destroy(struct pt_itab *t)
{
	if (!t)
		return;
	for (uint32_t i = 1; i < t->nslots; i++) {
		if (t->slot[i].used && t->slot[i].fd >= 0)
			close(t->slot[i].fd);
		free(t->slot[i].fh);
		free(t->slot[i].name);
	}
	if (t->mount_fd >= 0)
		close(t->mount_fd);
	pthread_mutex_destroy(&t->lock);
	free(t->slot);
	free(t->bucket);
	free(t);
}

int pt_itab_get(struct pt_itab *t, uint64_t nodeid, struct pt_iref *ref)
{
	int err = 0;

	pthread_mutex_lock(&t->lock);
	uint32_t idx = slot_of(t, nodeid);
	if (!idx)
		err = -ESTALE;
	else if (t->slot[idx].fd < 0)
		err = slot_open(t, idx, 0);
	if (!err) {
		struct pt_inode *s = &t->slot[idx];

		s->refs++;
		lru_remove(t, idx);
		*ref = (struct pt_iref){ .idx = idx, .fd = s->fd, .type = s->type,
					 .nodeid = nodeid };
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

void pt_itab_put(struct pt_itab *t, const struct pt_iref *ref)
{
	pthread_mutex_lock(&t->lock);
	slot_unpin(t, ref->idx);
	evict(t, 0);
	pthread_mutex_unlock(&t->lock);
}

/* An evicted slot whose (dev, ino) matches: the same inode only if the handles match. */
static bool same_inode_as_evicted(const struct pt_inode *s, int fd)
{
	struct file_handle *fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
	bool same = false;
	int mnt;

	if (!fh)
		return false;
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", fh, &mnt, AT_EMPTY_PATH) == 0 &&
	    fh->handle_bytes == s->fh->handle_bytes && fh->handle_type == s->fh->handle_type)
		same = memcmp(fh->f_handle, s->fh->f_handle, fh->handle_bytes) == 0;
	free(fh);
	return same;
}

/* Under the lock: one more lookup of a known slot, which is also recently used again. */
static void slot_count_lookup(struct pt_itab *t, uint32_t idx)
{
	struct pt_inode *s = &t->slot[idx];

	if (s->on_lru) { /* to the young end */
		lru_remove(t, idx);
		lru_push(t, idx);
	}
	if (s->nlookup < UINT64_MAX)
		s->nlookup++;
}

/* Under the lock: a newly allocated slot takes the inode st describes, looked up once. */
static void slot_take_inode(struct pt_itab *t, uint32_t idx, const struct stat *st)
{
	struct pt_inode *s = &t->slot[idx];

	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->type = st->st_mode & S_IFMT;
	s->nlookup = 1;
	s->used = true;
	t->count++;
	hash_link(t, idx);
	hash_maybe_grow(t);
}

/* Under the lock: adds a lookup to a known inode. Returns false if fd must become a new slot. */
static bool insert_existing(struct pt_itab *t, uint32_t idx, int *fd)
{
	struct pt_inode *s = &t->slot[idx];

	if (s->fd < 0) {
		/* A listed slot has no handle to compare: (dev, ino) is all it knows. */
		if (!s->name && !same_inode_as_evicted(s, *fd)) {
			hash_unlink(t, idx); /* the old inode is gone; its number was reused */
			return false;
		}
		evict(t, 0);
		if (s->name) {
			slot_settle(t, idx, *fd);
		} else {
			s->fd = *fd;
			t->open_fds++;
		}
		*fd = -1;
		lru_push(t, idx);
	}
	slot_count_lookup(t, idx);
	return true;
}

int pt_itab_insert(struct pt_itab *t, int fd, const struct stat *st, uint64_t *nodeid,
		   uint64_t *gen)
{
	uint32_t idx;
	int err = 0;

	pthread_mutex_lock(&t->lock);
	idx = hash_find(t, st->st_dev, st->st_ino);
	if (!idx || !insert_existing(t, idx, &fd)) {
		evict(t, 0);
		err = slot_alloc(t, &idx);
		if (!err) {
			t->slot[idx].fd = fd;
			fd = -1;
			t->open_fds++;
			slot_take_inode(t, idx, st);
			lru_push(t, idx);
		}
	}
	if (!err) {
		*nodeid = make_nodeid(t, idx);
		*gen = idx == PT_ROOT_INDEX ? 0 : t->slot[idx].gen;
	}
	pthread_mutex_unlock(&t->lock);
	if (fd >= 0)
		close(fd);
	return err;
}

/* Under the lock: a new slot for an inode seen in directory slot parent, not opened. */
static int insert_listed_new(struct pt_itab *t, uint32_t parent, const char *name,
			     const struct stat *st, uint32_t *idx)
{
	char *copy = strdup(name);
	int err = copy ? slot_alloc(t, idx) : -ENOMEM;

	if (err) {
		free(copy);
		return err;
	}
	t->slot[*idx].parent = parent;
	t->slot[*idx].name = copy;
	t->slot[parent].refs++;
	lru_remove(t, parent); /* pinned: its descriptor stays for the child's first use */
	slot_take_inode(t, *idx, st);
	return 0;
}

int pt_itab_insert_listed(struct pt_itab *t, uint64_t parent_nodeid, const char *name,
			  const struct stat *st, uint64_t *nodeid, uint64_t *gen)
{
	uint32_t parent, idx;
	int err = 0;

	pthread_mutex_lock(&t->lock);
	parent = slot_of(t, parent_nodeid);
	idx = parent ? hash_find(t, st->st_dev, st->st_ino) : 0;
	if (!parent) {
		err = -ESTALE;
	} else if (idx) {
		slot_count_lookup(t, idx);
	} else {
		err = insert_listed_new(t, parent, name, st, &idx);
	}
	if (!err) {
		*nodeid = make_nodeid(t, idx);
		*gen = idx == PT_ROOT_INDEX ? 0 : t->slot[idx].gen;
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

void pt_itab_forget(struct pt_itab *t, uint64_t nodeid, uint64_t n)
{
	pthread_mutex_lock(&t->lock);
	uint32_t idx = slot_of(t, nodeid);
	if (idx && idx != PT_ROOT_INDEX) {
		struct pt_inode *s = &t->slot[idx];

		s->nlookup = n >= s->nlookup ? 0 : s->nlookup - n;
		if (s->nlookup == 0 && s->refs == 0)
			slot_free(t, idx);
	}
	pthread_mutex_unlock(&t->lock);
}

void pt_itab_forget_all(struct pt_itab *t)
{
	pthread_mutex_lock(&t->lock);
	for (uint32_t i = PT_ROOT_INDEX + 1; i < t->nslots; i++) {
		struct pt_inode *s = &t->slot[i];

		if (!s->used)
			continue;
		s->nlookup = 0;
		if (s->refs == 0)
			slot_free(t, i);
	}
	pthread_mutex_unlock(&t->lock);
}

unsigned pt_itab_shrink(struct pt_itab *t, unsigned want)
{
	pthread_mutex_lock(&t->lock);
	unsigned n = evict(t, want);
	pthread_mutex_unlock(&t->lock);
	return n;
}

uint64_t pt_itab_dir_end(struct pt_itab *t, const struct pt_iref *ref)
{
	pthread_mutex_lock(&t->lock);
	uint64_t end = t->slot[ref->idx].dir_end;
	pthread_mutex_unlock(&t->lock);
	return end;
}

void pt_itab_set_dir_end(struct pt_itab *t, const struct pt_iref *ref, uint64_t end)
{
	pthread_mutex_lock(&t->lock);
	t->slot[ref->idx].dir_end = end;
	pthread_mutex_unlock(&t->lock);
}

void pt_itab_get_stats(struct pt_itab *t, struct pt_itab_stats *st)
{
	pthread_mutex_lock(&t->lock);
	*st = (struct pt_itab_stats){ .inodes = t->count, .open_fds = t->open_fds,
				      .fd_budget = t->fd_budget, .evictions = t->evictions,
				      .reopens = t->reopens };
	pthread_mutex_unlock(&t->lock);
}
