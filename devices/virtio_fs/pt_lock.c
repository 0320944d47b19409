/* pt_lock.c: POSIX and flock locks for the passthrough backend, and interruptible SETLKW waits. */
/*
 * POSIX locks belong to a lock owner (a guest process's file table). Each (inode, owner)
 * gets its own open file description here and its locks are OFD locks on it, so guest
 * owners conflict with each other and with host processes exactly as POSIX owners do;
 * FLUSH (a guest close) closes that description, which drops the owner's locks as
 * close(2) must. flock locks live on the FUSE handle's own descriptor.
 *
 * SETLKW must not pin a worker for ever: it retries the non-blocking lock whenever a guest
 * owner unlocks (a condition variable) and otherwise polls with backoff (1 ms doubling to
 * 50 ms, for locks held by host processes), and stops with EINTR when the guest sends
 * INTERRUPT for it (/dev/fuse does; Linux's virtiofs never does), when the owner's file is
 * closed (FLUSH, or RELEASE of the handle: how a killed guest process shows up), on
 * DESTROY, or on fuse_server_cancel_waits. At most max_waiters wait at once; beyond that
 * SETLKW answers ENOLCK rather than tie up every worker of a queue. OFD locks have no
 * deadlock detection, so the ranges each guest owner holds are mirrored (pt_lockrange.c)
 * and a SETLKW that would close a cycle of waiting guest owners answers EDEADLK, as
 * POSIX locks do. Cycles through host processes' locks go unseen.
 *
 * Locking: l->lock protects the owner hash, the ranges and the waiter list; plock.op
 * is taken before it (plock.op -> pt_locks.lock -> pt_htab.lock -> pt_itab.lock, though
 * l->lock is never held while calling into the other tables) and no open runs under it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include "pt_internal.h"
#include "pt_lockrange.h"

#define LOCK_BUCKETS 256U
#define LOCK_MAX_OWNERS 65536U
#define WAIT_FIRST_NS 1000000L	/* 1 ms */
#define WAIT_MAX_NS 50000000L	/* 50 ms */

struct plock {
	uint64_t nodeid, owner;
	int fd;
	pthread_mutex_t op;	   /* orders fcntl with the ranges update for this owner */
	struct pt_ranges ranges;   /* protected by pt_locks.lock: what this owner holds */
	uint32_t pid;		   /* protected by pt_locks.lock: guest pid of its last lock */
	uint32_t refs;		   /* protected by pt_locks.lock: requests using fd now */
	bool dead;		   /* flushed while in use: closes at the last unref */
	struct plock *next;
};

/* A SETLKW in progress, on the waiting worker's stack; linked in pt_locks.waiters. */
struct waiter {
	uint64_t unique, nodeid, owner, fh;
	struct fuse_lock lk;
	bool is_flock;
	bool cancelled, visited; /* protected by pt_locks.lock */
	struct waiter *next;	 /* protected by pt_locks.lock */
};

struct pt_locks {
	pthread_mutex_t lock;
	pthread_cond_t wake;		   /* a waiter was cancelled */
	struct plock *bucket[LOCK_BUCKETS]; /* protected by lock */
	struct waiter *waiters;		   /* protected by lock */
	unsigned nowners, nwaiters, max_waiters;
};

int pt_locks_create(unsigned max_waiters, struct pt_locks **out)
{
	struct pt_locks *l = calloc(1, sizeof(*l));
	pthread_condattr_t ca;

	if (!l)
		return -ENOMEM;
	l->max_waiters = max_waiters;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&l->lock, NULL) || pthread_cond_init(&l->wake, &ca)) {
		pthread_condattr_destroy(&ca);
		free(l);
		return -ENOMEM;
	}
	pthread_condattr_destroy(&ca);
	*out = l;
	return 0;
}

static struct plock **plock_slot(struct pt_locks *l, uint64_t nodeid, uint64_t owner)
{
	uint64_t h = (nodeid * 0x9e3779b97f4a7c15ULL) ^ owner;
	struct plock **p = &l->bucket[(h ^ (h >> 29)) % LOCK_BUCKETS];

	while (*p && ((*p)->nodeid != nodeid || (*p)->owner != owner))
		p = &(*p)->next;
	return p;
}

static void plock_free(struct plock *pl)
{
	pthread_mutex_destroy(&pl->op);
	pt_ranges_free(&pl->ranges);
	free(pl);
}

/*
 * Under the lock: unlinks *p so no new request finds it. Returns the descriptor to close
 * outside the lock, or -1 when requests still use it (the last plock_put closes it).
 */
static int plock_drop(struct pt_locks *l, struct plock **p)
{
	struct plock *pl = *p;
	int fd;

	*p = pl->next;
	l->nowners--;
	if (pl->refs > 0) {
		pl->dead = true;
		return -1;
	}
	fd = pl->fd;
	plock_free(pl);
	return fd;
}

/* A fresh description of the handle's file: read-write if allowed, else read-only. */
static int plock_open(struct pt *pt, int hfd)
{
	int fd = pt_reopen_fd(pt, hfd, pt->readonly ? O_RDONLY : O_RDWR);

	if (fd < 0 && !pt->readonly)
		fd = pt_reopen_fd(pt, hfd, O_RDONLY); /* e.g. ETXTBSY on a running binary */
	return fd;
}

/* Pins the owner's lock description, making it unless `existing_only`. NULL: none, or *err. */
static struct plock *plock_get(struct pt *pt, const struct pt_href *hr, uint64_t owner,
			       bool existing_only, int *err)
{
	struct pt_locks *l = pt->locks;
	struct plock *pl = NULL;
	int fd = -1;

	pthread_mutex_lock(&l->lock);
	struct plock **p = plock_slot(l, hr->nodeid, owner);
	if (!*p && !existing_only) {
		pthread_mutex_unlock(&l->lock);
		fd = plock_open(pt, hr->fd);
		if (fd < 0) {
			*err = fd;
			return NULL;
		}
		pthread_mutex_lock(&l->lock);
		p = plock_slot(l, hr->nodeid, owner); /* someone may have raced us */
		if (!*p && l->nowners < LOCK_MAX_OWNERS && (pl = calloc(1, sizeof(*pl)))) {
			*pl = (struct plock){ .nodeid = hr->nodeid, .owner = owner, .fd = fd };
			pthread_mutex_init(&pl->op, NULL);
			*p = pl;
			l->nowners++;
			fd = -1;
		} else if (!*p) {
			*err = -ENOLCK;
		}
	}
	if (*p) {
		pl = *p;
		pl->refs++;
	}
	pthread_mutex_unlock(&l->lock);
	if (fd >= 0)
		close(fd);
	return pl;
}

static void plock_put(struct pt_locks *l, struct plock *pl)
{
	int fd = -1;

	pthread_mutex_lock(&l->lock);
	if (--pl->refs == 0 && pl->dead) {
		fd = pl->fd; /* already unlinked by plock_drop */
		plock_free(pl);
	}
	pthread_mutex_unlock(&l->lock);
	if (fd >= 0)
		close(fd);
}

static void to_flock(const struct fuse_lock *lk, struct flock *fl)
{
	*fl = (struct flock){ .l_type = (short)lk->type, .l_whence = SEEK_SET,
			      .l_start = (off_t)lk->start };
	/* The guest says "to the end of file" with end = OFFSET_MAX. */
	fl->l_len = lk->end >= (uint64_t)INT64_MAX ? 0 : (off_t)(lk->end - lk->start + 1);
}

/*
 * OFD locks report no pid, but F_GETLK must name the holder: the guest pid of the first
 * other guest owner whose mirrored ranges conflict. 0 when the holder is a host process.
 */
static uint32_t conflicting_guest_pid(struct pt_locks *l, uint64_t nodeid, uint64_t owner,
				      const struct fuse_lock *lk)
{
	uint32_t pid = 0;

	pthread_mutex_lock(&l->lock);
	for (unsigned b = 0; b < LOCK_BUCKETS && !pid; b++) {
		for (struct plock *p = l->bucket[b]; p && !pid; p = p->next) {
			if (p->nodeid == nodeid && p->owner != owner &&
			    pt_ranges_conflict(&p->ranges, lk->start, lk->end, lk->type))
				pid = p->pid;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return pid;
}

int pt_op_getlk(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t owner,
		struct fuse_lock *lk)
{
	struct pt *pt = be;
	struct pt_href hr;
	struct plock *pl;
	struct flock fl;
	int err = pt_htab_get(pt->htab, fh, false, &hr), fd;

	if (err)
		return err;
	to_flock(lk, &fl);
	/* An owner without locks sees what any new description sees. */
	pl = plock_get(pt, &hr, owner, true, &err);
	fd = pl ? pl->fd : plock_open(pt, hr.fd);
	if (fd >= 0 && fcntl(fd, F_OFD_GETLK, &fl) != 0)
		err = -errno;
	else if (fd < 0)
		err = fd;
	if (pl)
		plock_put(pt->locks, pl);
	else if (fd >= 0)
		close(fd);
	pt_htab_put(pt->htab, &hr);
	if (err)
		return err;
	if (fl.l_type != F_UNLCK)
		lk->pid = conflicting_guest_pid(pt->locks, nodeid, owner, lk);
	lk->type = (uint32_t)fl.l_type;
	lk->start = (uint64_t)fl.l_start;
	lk->end = fl.l_len == 0 ? (uint64_t)INT64_MAX : (uint64_t)(fl.l_start + fl.l_len - 1);
	if (fl.l_type == F_UNLCK)
		lk->pid = 0;
	return 0;
}

/* One non-blocking attempt; -EAGAIN when someone else holds a conflicting lock. */
static int lock_try(struct pt *pt, const struct pt_href *hr, uint64_t owner,
		    const struct fuse_lock *lk, bool is_flock)
{
	struct flock fl;
	struct plock *pl;
	int err = 0;

	if (is_flock) {
		int op = lk->type == F_UNLCK ? LOCK_UN : lk->type == F_RDLCK ? LOCK_SH : LOCK_EX;

		return flock(hr->fd, op | LOCK_NB) == 0 ? 0 : errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
	to_flock(lk, &fl);
	pl = plock_get(pt, hr, owner, lk->type == F_UNLCK, &err);
	if (!pl)
		return err; /* unlocking an owner that holds nothing: done */
	pthread_mutex_lock(&pl->op);
	if (fcntl(pl->fd, F_OFD_SETLK, &fl) != 0) {
		err = (errno == EACCES || errno == EWOULDBLOCK) ? -EAGAIN : -errno;
	} else {
		pthread_mutex_lock(&pt->locks->lock);
		pt_ranges_apply(&pl->ranges, lk->start, lk->end, lk->type);
		pl->pid = lk->pid;
		pthread_mutex_unlock(&pt->locks->lock);
	}
	pthread_mutex_unlock(&pl->op);
	plock_put(pt->locks, pl);
	return err;
}

/*
 * Under the lock: whether the owners holding what (nodeid, lk) asks for, or those they in
 * turn wait for, include `me` — the kernel's POSIX deadlock rule, over guest owners.
 */
static bool waits_for_me(struct pt_locks *l, uint64_t nodeid, uint64_t owner,
			 const struct fuse_lock *lk, uint64_t me)
{
	for (unsigned b = 0; b < LOCK_BUCKETS; b++) {
		for (struct plock *p = l->bucket[b]; p; p = p->next) {
			if (p->nodeid != nodeid || p->owner == owner ||
			    !pt_ranges_conflict(&p->ranges, lk->start, lk->end, lk->type))
				continue;
			if (p->owner == me)
				return true;
			for (struct waiter *w = l->waiters; w; w = w->next) {
				if (w->owner != p->owner || w->is_flock || w->visited)
					continue;
				w->visited = true; /* each wait is followed once: no cycles here */
				if (waits_for_me(l, w->nodeid, w->owner, &w->lk, me))
					return true;
			}
		}
	}
	return false;
}

static bool would_deadlock(struct pt_locks *l, const struct waiter *me)
{
	bool dead;

	pthread_mutex_lock(&l->lock);
	for (struct waiter *w = l->waiters; w; w = w->next)
		w->visited = w == me;
	dead = waits_for_me(l, me->nodeid, me->owner, &me->lk, me->owner);
	pthread_mutex_unlock(&l->lock);
	return dead;
}

/* Something may have been unlocked or downgraded: waiters retry now rather than at their
 * next poll. Contention between guest owners therefore resolves at once; only locks held
 * by host processes are noticed by polling. */
static void lock_kick(struct pt_locks *l)
{
	pthread_mutex_lock(&l->lock);
	pthread_cond_broadcast(&l->wake);
	pthread_mutex_unlock(&l->lock);
}

static void wait_add(struct pt_locks *l, struct waiter *w)
{
	w->next = l->waiters;
	l->waiters = w;
	l->nwaiters++;
}

static void wait_remove(struct pt_locks *l, struct waiter *w)
{
	struct waiter **p = &l->waiters;

	while (*p && *p != w)
		p = &(*p)->next;
	if (*p) {
		*p = w->next;
		l->nwaiters--;
	}
}

/* Sleeps up to ns or until cancelled; returns -EINTR once cancelled. */
static int wait_pause(struct pt_locks *l, struct waiter *w, long ns)
{
	struct timespec t;
	int err = 0;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_nsec += ns;
	t.tv_sec += t.tv_nsec / 1000000000L;
	t.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&l->lock);
	if (!w->cancelled)
		pthread_cond_timedwait(&l->wake, &l->lock, &t);
	if (w->cancelled)
		err = -EINTR;
	pthread_mutex_unlock(&l->lock);
	return err;
}

static int lock_wait(struct pt *pt, const struct fuse_ctx *c, const struct pt_href *hr,
		     uint64_t fh, uint64_t owner, const struct fuse_lock *lk, bool is_flock)
{
	struct pt_locks *l = pt->locks;
	struct waiter w = { .unique = c->unique, .nodeid = hr->nodeid, .owner = owner, .fh = fh,
			    .lk = *lk, .is_flock = is_flock };
	long ns = WAIT_FIRST_NS;
	int err;

	pthread_mutex_lock(&l->lock);
	err = l->nwaiters >= l->max_waiters ? -ENOLCK : 0;
	if (!err)
		wait_add(l, &w);
	pthread_mutex_unlock(&l->lock);
	if (err)
		return err;
	while ((err = lock_try(pt, hr, owner, lk, is_flock)) == -EAGAIN) {
		if (!is_flock && would_deadlock(l, &w)) {
			err = -EDEADLK;
			break;
		}
		err = wait_pause(l, &w, ns);
		if (err)
			break;
		ns = ns * 2 > WAIT_MAX_NS ? WAIT_MAX_NS : ns * 2;
	}
	pthread_mutex_lock(&l->lock);
	wait_remove(l, &w);
	pthread_mutex_unlock(&l->lock);
	return err;
}

int pt_op_setlk(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t owner,
		const struct fuse_lock *lk, bool is_flock, bool wait)
{
	struct pt *pt = be;
	struct pt_href hr;
	int err = pt_htab_get(pt->htab, fh, false, &hr);

	if (err)
		return err;
	if (wait && lk->type != F_UNLCK)
		err = lock_wait(pt, c, &hr, fh, owner, lk, is_flock);
	else
		err = lock_try(pt, &hr, owner, lk, is_flock);
	pt_htab_put(pt->htab, &hr);
	if (!err && lk->type != F_WRLCK)
		lock_kick(pt->locks);
	return err;
}

enum cancel_by { BY_ALL, BY_UNIQUE, BY_OWNER, BY_FH };

struct cancel {
	enum cancel_by by;
	uint64_t unique, nodeid, owner, fh;
};

static bool cancel_matches(const struct cancel *k, const struct waiter *w)
{
	switch (k->by) {
	case BY_UNIQUE:
		return w->unique == k->unique;
	case BY_OWNER:
		return w->nodeid == k->nodeid && w->owner == k->owner;
	case BY_FH:
		return w->fh == k->fh;
	case BY_ALL:
	default:
		return true;
	}
}

/* Under the lock: cancels the matching waiters and wakes everyone to look. */
static void cancel_where(struct pt_locks *l, const struct cancel *k)
{
	for (struct waiter *w = l->waiters; w; w = w->next)
		if (cancel_matches(k, w))
			w->cancelled = true;
	pthread_cond_broadcast(&l->wake);
}

void pt_locks_flush_owner(struct pt_locks *l, uint64_t nodeid, uint64_t owner)
{
	struct cancel k = { .by = BY_OWNER, .nodeid = nodeid, .owner = owner };
	int fd = -1;

	pthread_mutex_lock(&l->lock);
	cancel_where(l, &k);
	struct plock **p = plock_slot(l, nodeid, owner);
	if (*p)
		fd = plock_drop(l, p);
	pthread_mutex_unlock(&l->lock);
	if (fd >= 0)
		close(fd);
}

void pt_locks_release_fh(struct pt_locks *l, uint64_t fh)
{
	struct cancel k = { .by = BY_FH, .fh = fh };

	pthread_mutex_lock(&l->lock);
	cancel_where(l, &k);
	pthread_mutex_unlock(&l->lock);
}

void pt_locks_interrupt(struct pt_locks *l, uint64_t unique)
{
	struct cancel k = { .by = unique ? BY_UNIQUE : BY_ALL, .unique = unique };

	pthread_mutex_lock(&l->lock);
	cancel_where(l, &k);
	pthread_mutex_unlock(&l->lock);
}

/* Closes every owner's description (dropping its locks) and cancels every wait. */
void pt_locks_clear(struct pt_locks *l)
{
	struct cancel all = { .by = BY_ALL };

	pthread_mutex_lock(&l->lock);
	cancel_where(l, &all);
	for (unsigned b = 0; b < LOCK_BUCKETS; b++) {
		while (l->bucket[b]) {
			int fd = plock_drop(l, &l->bucket[b]);

			if (fd >= 0)
				close(fd); /* closing a lock-only description does not block */
		}
	}
	pthread_mutex_unlock(&l->lock);
}

void pt_locks_counts(struct pt_locks *l, unsigned *owners, unsigned *waiters)
{
	pthread_mutex_lock(&l->lock);
	*owners = l->nowners;
	*waiters = l->nwaiters;
	pthread_mutex_unlock(&l->lock);
}

void pt_locks_destroy(struct pt_locks *l)
{
	pt_locks_clear(l);
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
