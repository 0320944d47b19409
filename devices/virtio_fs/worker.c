/*
 * worker.c: virtio-fs queue workers: one at a time pops a queue, the others stand by
 * for requests that block.
 *
 * Roles within a queue's group (enum vfs_role; changed under group.lock):
 * - The watcher alone pops. It serves what it pops and, once vq_pop finds the ring empty
 *   (having re-armed guest notifications and looked again), sleeps on the queue's
 *   ioeventfd. A kick wakes that one thread; a quick request costs no system call
 *   besides that wake-up and the interrupt, and no lock besides vq.lock.
 * - Before a request that may block (vfs_may_block: SETLKW waits for a lock that a later
 *   request may release; fsync waits for the disk) the watcher hands the role to a
 *   sleeping sibling and serves the request loose, so the queue moves on.
 * - The standby covers what the opcode cannot predict (a GETATTR on a stuck host file
 *   system): while requests are served it wakes every VFS_STANDBY_MS and takes the role
 *   over from a watcher still on the request it saw last time. After VFS_STANDBY_QUIET
 *   quiet periods it parks, and the watcher wakes it when it starts its next request:
 *   no CPU use while idle.
 * - Everyone else sleeps on its own wake eventfd until handed a role.
 * So a request never waits behind a SETLKW or an fsync while a sibling sleeps, and
 * behind anything else for at most about two standby periods.
 *
 * Why not every worker on the ioeventfd (as before): poll wakes all waiters of an
 * eventfd, so each kick woke the whole pool, and each pop woke it again to keep the ring
 * watched (tests/test_vfs_device.c, VFS_DEVICE_TIMING: a GETATTR took 13 us with 4
 * workers, 6 with one). EPOLLEXCLUSIVE wakes one waiter, but the workers' seccomp filter
 * allows poll only.
 *
 * No busy polling before sleeping: tried with an adaptive window (up to 40 us, grown by
 * short sleeps, halved by empty polls), it did not pay. Where the scheduler puts the
 * guest's thread on the watcher's CPU, the poll delays the very request it waits for
 * (18 us instead of 6); on separate CPUs it only paid against a guest that spins, not
 * one that sleeps until the interrupt as Linux does; on one CPU (the nested test VM) it
 * can only take the guest's CPU.
 *
 * Workers are created with the device, at start-up, and park until DRIVER_OK; a reset
 * parks them again and only device destruction ends them. So no thread is created once
 * seccomp filters are loaded: a thread created by a filtered vCPU thread would inherit
 * the vCPU filter on top of its own (vmm/seccomp.c). Each worker loads its own filter
 * before it parks, so before it ever sees guest data.
 *
 * Locks: park_lock, group.lock and vq.lock are never held together.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <endian.h>
#include <errno.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "../../vmm/seccomp.h"
#include "device.h"
#include "worker.h"

#define VFS_STANDBY_MS 2     /* a request may hold the watcher this long, twice at most */
#define VFS_STANDBY_QUIET 3  /* periods without a new request before the standby parks */

/* group.state: [63:16] requests the watcher started, [15:1] its id (0: none), [0] busy. */
#define VFS_ST_BUSY 1ULL
#define VFS_ST_ID_MAX 0x7fffU
#define VFS_ST_GEN_SHIFT 16

static unsigned vfs_st_watcher(uint64_t s)
{
	return (unsigned)(s >> 1) & VFS_ST_ID_MAX;
}

static bool vfs_st_busy(uint64_t s)
{
	return s & VFS_ST_BUSY;
}

static uint64_t vfs_st_gen(uint64_t s)
{
	return s >> VFS_ST_GEN_SHIFT;
}

static uint64_t vfs_st_make(uint64_t gen, unsigned id, bool busy)
{
	return gen << VFS_ST_GEN_SHIFT | (uint64_t)id << 1 | (busy ? VFS_ST_BUSY : 0);
}

static void vfs_worker_wake(struct vfs_worker *w)
{
	uint64_t one = 1;

	if (write(w->wake_fd, &one, sizeof(one)) < 0) {
		/* Only at counter overflow, when it is readable anyway. */
	}
}

/* ---- roles; every function here takes group.lock, none is on the quick path ---- */

static void vfs_idle_remove(struct vfs_wgroup *g, struct vfs_worker *w)
{
	struct vfs_worker **p;

	for (p = &g->idle; *p; p = &(*p)->next_idle) {
		if (*p == w) {
			*p = w->next_idle;
			break;
		}
	}
	w->next_idle = NULL;
}

static struct vfs_worker *vfs_idle_pop(struct vfs_wgroup *g)
{
	struct vfs_worker *w = g->idle;

	if (w)
		vfs_idle_remove(g, w);
	return w;
}

/* Under lock, while no watcher is serving: w (NULL: nobody) watches from now on. */
static void vfs_set_watcher(struct vfs_wgroup *g, struct vfs_worker *w)
{
	uint64_t s = atomic_load(&g->state);

	atomic_store(&g->state, vfs_st_make(vfs_st_gen(s), w ? w->gid : 0, false));
	if (w)
		atomic_store(&w->role, VFS_ROLE_WATCHER);
}

/* Take the first free role: watcher, standby, else idle. */
static void vfs_group_join(struct vfs_worker *w)
{
	struct vfs_wgroup *g = w->group;

	pthread_mutex_lock(&g->lock);
	if (vfs_st_watcher(atomic_load(&g->state)) == 0) {
		vfs_set_watcher(g, w);
	} else if (!g->standby) {
		g->standby = w;
		atomic_store(&w->role, VFS_ROLE_STANDBY);
	} else {
		w->next_idle = g->idle;
		g->idle = w;
		atomic_store(&w->role, VFS_ROLE_IDLE);
	}
	pthread_mutex_unlock(&g->lock);
}

/* Stopping: give up whatever role w has, so that the next activation starts afresh. */
static void vfs_group_leave(struct vfs_worker *w)
{
	struct vfs_wgroup *g = w->group;

	pthread_mutex_lock(&g->lock);
	if (vfs_st_watcher(atomic_load(&g->state)) == w->gid)
		vfs_set_watcher(g, NULL);
	if (g->standby == w) {
		g->standby = NULL;
		atomic_store(&g->standby_parked, false);
	}
	vfs_idle_remove(g, w);
	atomic_store(&w->role, VFS_ROLE_NONE);
	pthread_mutex_unlock(&g->lock);
}

/*
 * The watcher is about to serve a request that may block: an idle sibling (else the
 * standby) watches instead; with nobody asleep the role stays vacant until a worker
 * comes back (vfs_group_join), and nobody sleeps meanwhile.
 */
static void vfs_group_hand_off(struct vfs_worker *w)
{
	struct vfs_wgroup *g = w->group;
	struct vfs_worker *next = NULL;

	pthread_mutex_lock(&g->lock);
	if (vfs_st_watcher(atomic_load(&g->state)) == w->gid) {
		next = vfs_idle_pop(g);
		if (!next && g->standby) {
			next = g->standby;
			g->standby = NULL;
			atomic_store(&g->standby_parked, false);
		}
		vfs_set_watcher(g, next);
		g->hand_offs++;
	}
	atomic_store(&w->role, VFS_ROLE_LOOSE);
	pthread_mutex_unlock(&g->lock);
	if (next)
		vfs_worker_wake(next);
}

/*
 * The standby saw the watcher on one request (state seen) for a whole period: it
 * becomes the watcher, and an idle sibling the standby. The old watcher finds out when
 * its request ends (vfs_watch_end fails) and joins again.
 */
static void vfs_group_take_over(struct vfs_worker *w, uint64_t seen)
{
	struct vfs_wgroup *g = w->group;
	struct vfs_worker *next = NULL;

	pthread_mutex_lock(&g->lock);
	if (g->standby == w &&
	    atomic_compare_exchange_strong(&g->state, &seen,
					   vfs_st_make(vfs_st_gen(seen), w->gid, false))) {
		atomic_store(&w->role, VFS_ROLE_WATCHER);
		g->take_overs++;
		next = vfs_idle_pop(g);
		g->standby = next;
		if (next)
			atomic_store(&next->role, VFS_ROLE_STANDBY);
	}
	pthread_mutex_unlock(&g->lock);
	if (next)
		vfs_worker_wake(next);
}

/*
 * The standby saw no new request for a while (state seen): sleep without a timeout.
 * Our store of parked and the watcher's start of a request (vfs_watch_begin) are each
 * followed by a load of what the other wrote, all sequentially consistent: either the
 * watcher sees parked and wakes us, or we see its new state and stay unparked.
 */
static void vfs_group_park(struct vfs_worker *w, uint64_t seen)
{
	struct vfs_wgroup *g = w->group;

	pthread_mutex_lock(&g->lock);
	if (g->standby == w)
		atomic_store(&g->standby_parked, true);
	pthread_mutex_unlock(&g->lock);
	if (atomic_load(&g->state) != seen)
		atomic_store(&g->standby_parked, false);
}

static void vfs_group_unpark(struct vfs_wgroup *g)
{
	struct vfs_worker *standby = NULL;

	pthread_mutex_lock(&g->lock);
	if (atomic_load(&g->standby_parked)) {
		atomic_store(&g->standby_parked, false);
		standby = g->standby;
	}
	pthread_mutex_unlock(&g->lock);
	if (standby)
		vfs_worker_wake(standby);
}

/* ---- the watcher's quick path: two atomic updates per request, no lock ---- */

/* Mark the watcher busy on one more request; false if w is not the watcher. */
static bool vfs_watch_begin(struct vfs_worker *w)
{
	struct vfs_wgroup *g = w->group;
	uint64_t s = atomic_load(&g->state);

	do {
		if (vfs_st_watcher(s) != w->gid)
			return false;
	} while (!atomic_compare_exchange_weak(&g->state, &s,
					       vfs_st_make(vfs_st_gen(s) + 1, w->gid, true)));
	if (atomic_load(&g->standby_parked))
		vfs_group_unpark(g);
	return true;
}

/* The request is done; false if the standby took the role over meanwhile. */
static bool vfs_watch_end(struct vfs_worker *w)
{
	struct vfs_wgroup *g = w->group;
	uint64_t s = atomic_load(&g->state);

	do {
		if (vfs_st_watcher(s) != w->gid)
			return false;
	} while (!atomic_compare_exchange_weak(&g->state, &s, s & ~VFS_ST_BUSY));
	return true;
}

/* ---- serving ---- */

/* A SETATTR that truncates may free or zero a large file; chmod, chown, utimes do not. */
static bool vfs_setattr_truncates(const struct vq_chain *c)
{
	size_t at = sizeof(struct fuse_in_header) + offsetof(struct fuse_setattr_in, valid);
	uint32_t valid;

	return vq_chain_read(c, at, &valid, sizeof(valid)) == sizeof(valid) &&
	       (le32toh(valid) & FATTR_SIZE);
}

/*
 * Requests that may take long: the watcher hands its role on before serving them, which
 * costs a sibling's wake-up (a READ took 17 us instead of 6 with 4 workers when READ and
 * WRITE were listed). READ and WRITE are not: they mostly meet the page cache, and a miss
 * is what the standby is for. The guest may rewrite the header after this look: the
 * worst it gets is a wrong guess, which the standby also covers.
 */
static bool vfs_may_block(const struct vq_chain *c)
{
	uint32_t op;

	if (vq_chain_read(c, offsetof(struct fuse_in_header, opcode), &op, sizeof(op)) !=
	    sizeof(op))
		return false; /* the FUSE server answers it at once */
	switch (le32toh(op)) {
	case FUSE_SETLKW: /* until another request, maybe queued behind it, unlocks */
	case FUSE_FSYNC:  /* the disk, from here on */
	case FUSE_FSYNCDIR:
	case FUSE_SYNCFS:
	case FUSE_FALLOCATE:
	case FUSE_COPY_FILE_RANGE:
		return true;
	case FUSE_SETATTR:
		return vfs_setattr_truncates(c);
	default:
		return false;
	}
}

static void vfs_worker_serve(struct vfs_worker *w)
{
	struct vq_chain *c = &w->chain;
	size_t reply;

	reply = fuse_server_handle(w->dev->server, c->out, c->nout, c->in, c->nin);
	/* FORGET and friends have no reply, but the buffer must still go back (len 0). */
	if (vmmio_complete(&w->dev->transport, w->vq, c->head, (uint32_t)reply))
		vmmio_set_needs_reset(&w->dev->transport);
}

/* The watcher popped a chain: serve it as the watcher, or loose if it may block. */
static void vfs_worker_take(struct vfs_worker *w)
{
	bool watching = !vfs_may_block(&w->chain);

	if (watching)
		watching = vfs_watch_begin(w); /* cannot fail between requests */
	else
		vfs_group_hand_off(w);
	vfs_worker_serve(w);
	/* Served loose, or the standby took over while this request was slow. */
	if (!watching || !vfs_watch_end(w))
		vfs_group_join(w);
}

/* Non-blocking: the count is only a hint; the ring and the roles are the truth. */
static void vfs_eventfd_clear(int fd)
{
	uint64_t count;

	if (read(fd, &count, sizeof(count)) < 0) {
		/* EAGAIN: nothing to clear. */
	}
}

/*
 * Sleep until the wake eventfd, stop, or (watch) the ioeventfd is readable, or for
 * timeout_ms (-1: no limit). Returns poll's result: 0 on timeout.
 */
static int vfs_worker_sleep(struct vfs_worker *w, bool watch, int timeout_ms)
{
	struct pollfd fds[3] = {
		{ .fd = w->wake_fd, .events = POLLIN },
		{ .fd = w->dev->stop_fd, .events = POLLIN },
		{ .fd = watch ? w->notify_fd : -1, .events = POLLIN },
	};
	int n = poll(fds, 3, timeout_ms);

	if (n > 0 && (fds[0].revents & POLLIN))
		vfs_eventfd_clear(w->wake_fd);
	if (n > 0 && (fds[2].revents & POLLIN))
		vfs_eventfd_clear(w->notify_fd);
	return n;
}

/*
 * The watcher: serve the ring until it is empty, then sleep on the ioeventfd. Returns
 * when the role has gone, the device stops, or the ring broke (-EIO).
 */
static int vfs_worker_watch(struct vfs_worker *w)
{
	while (!atomic_load(&w->dev->stopping) && atomic_load(&w->role) == VFS_ROLE_WATCHER) {
		int ret = vq_pop(w->vq, &w->chain);

		if (ret == -EAGAIN) {
			vfs_worker_sleep(w, true, -1);
		} else if (ret == -EBADMSG) {
			/* A malformed chain is answered empty; the queue carries on. */
			if (vmmio_complete(&w->dev->transport, w->vq, w->chain.head, 0))
				return -EIO;
		} else if (ret) {
			return ret;
		} else {
			vfs_worker_take(w);
		}
	}
	return 0;
}

/*
 * A standby period passed: state s now, seen a period ago. The same request still in
 * service (a new one would have counted) means take over; none started, park after a few.
 */
static void vfs_standby_tick(struct vfs_worker *w, uint64_t seen, uint64_t s, unsigned *quiet)
{
	if (vfs_st_gen(s) != vfs_st_gen(seen)) {
		*quiet = 0;
	} else if (vfs_st_busy(s)) {
		vfs_group_take_over(w, s);
	} else if (++*quiet >= VFS_STANDBY_QUIET) {
		vfs_group_park(w, s);
		*quiet = 0;
	}
}

/* The standby: time the watcher's requests until the role changes or the device stops. */
static void vfs_worker_stand_by(struct vfs_worker *w)
{
	struct vfs_wgroup *g = w->group;
	uint64_t seen = atomic_load(&g->state), s;
	unsigned quiet = 0;

	while (!atomic_load(&w->dev->stopping) && atomic_load(&w->role) == VFS_ROLE_STANDBY) {
		bool parked = atomic_load(&g->standby_parked);

		if (vfs_worker_sleep(w, false, parked ? -1 : VFS_STANDBY_MS) != 0 || parked) {
			/* Woken: unparked, stopping, or a new role. Start timing afresh. */
			seen = atomic_load(&g->state);
			quiet = 0;
			continue;
		}
		s = atomic_load(&g->state);
		vfs_standby_tick(w, seen, s, &quiet);
		seen = s;
	}
}

/* Serve the queue from activation until the device stops (or the ring breaks). */
static void vfs_worker_serve_queue(struct vfs_worker *w)
{
	vfs_group_join(w);
	while (!atomic_load(&w->dev->stopping)) {
		int role = atomic_load(&w->role);

		if (role == VFS_ROLE_WATCHER) {
			if (vfs_worker_watch(w) == -EIO) {
				/* The driver corrupted the ring: only a reset brings it back. */
				vmmio_set_needs_reset(&w->dev->transport);
				break;
			}
		} else if (role == VFS_ROLE_STANDBY) {
			vfs_worker_stand_by(w);
		} else {
			vfs_worker_sleep(w, false, -1);
		}
	}
	vfs_group_leave(w);
}

/* ---- the thread's life ---- */

/*
 * Before any guest data: no asynchronous signals here (the main thread reads them from a
 * signalfd; this thread may exist before it blocks them), then this role's seccomp filter.
 * SIGSYS and the fault signals stay deliverable: the filter's report needs SIGSYS.
 */
static int vfs_worker_setup(struct vfs_worker *w)
{
	sigset_t set;

	sigfillset(&set);
	sigdelset(&set, SIGSYS);
	sigdelset(&set, SIGSEGV);
	sigdelset(&set, SIGBUS);
	sigdelset(&set, SIGILL);
	sigdelset(&set, SIGFPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (!w->dev->seccomp)
		return 0;
	return seccomp_install(SECCOMP_ROLE_VFS_WORKER, w->name);
}

/*
 * The thread: set up, report, then park until vfs_worker_resume, serve until the device
 * stops, park again (vfs_worker_park waits for that), until vfs_worker_destroy.
 */
static void *vfs_worker_main(void *arg)
{
	struct vfs_worker *w = arg;
	int err = vfs_worker_setup(w);

	pthread_mutex_lock(&w->park_lock);
	w->setup_err = err;
	w->ready = true;
	pthread_cond_broadcast(&w->park_cond);
	while (err == 0) {
		while (!w->run && !w->quit)
			pthread_cond_wait(&w->park_cond, &w->park_lock);
		if (w->quit)
			break;
		pthread_mutex_unlock(&w->park_lock);
		vfs_worker_serve_queue(w);
		pthread_mutex_lock(&w->park_lock);
		w->run = false;
		pthread_cond_broadcast(&w->park_cond);
	}
	pthread_mutex_unlock(&w->park_lock);
	return NULL;
}

/* The leader's group, or a place in the leader's group. */
static int vfs_worker_join_group(struct vfs_worker *w, struct vfs_worker *leader)
{
	struct vfs_wgroup *g = leader ? leader->group : &w->own_group;

	if (!leader) {
		memset(g, 0, sizeof(*g));
		pthread_mutex_init(&g->lock, NULL);
	}
	if (g->size >= VFS_ST_ID_MAX)
		return -EINVAL;
	w->group = g;
	w->gid = ++g->size;
	return 0;
}

static int vfs_worker_init(struct vfs_worker *w, struct vfs_device *dev, unsigned index,
			   struct vfs_worker *leader)
{
	int ret;

	memset(w, 0, sizeof(*w));
	w->dev = dev;
	w->wake_fd = -1;
	w->vq = vmmio_queue(&dev->transport, index);
	w->notify_fd = vmmio_notify_fd(&dev->transport, index);
	if (!w->vq || w->notify_fd < 0 || (leader && leader->vq != w->vq))
		return -EINVAL;
	w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->wake_fd < 0)
		return -errno;
	ret = vq_chain_init(&w->chain, w->vq->max_size);
	if (ret == 0)
		ret = vfs_worker_join_group(w, leader);
	if (ret) {
		vq_chain_free(&w->chain);
		close(w->wake_fd);
		return ret;
	}
	snprintf(w->name, sizeof(w->name), "vfs:%.6s:q%u", dev->tag, index);
	pthread_mutex_init(&w->park_lock, NULL);
	pthread_cond_init(&w->park_cond, NULL);
	return 0;
}

/* Undo vfs_worker_init. */
static void vfs_worker_fini(struct vfs_worker *w)
{
	vq_chain_free(&w->chain);
	close(w->wake_fd);
	w->wake_fd = -1;
	if (w->group == &w->own_group)
		pthread_mutex_destroy(&w->own_group.lock);
	pthread_cond_destroy(&w->park_cond);
	pthread_mutex_destroy(&w->park_lock);
}

int vfs_worker_create(struct vfs_worker *w, struct vfs_device *dev, unsigned index,
		      struct vfs_worker *leader)
{
	int ret = vfs_worker_init(w, dev, index, leader);

	if (ret)
		return ret;
	ret = pthread_create(&w->thread, NULL, vfs_worker_main, w);
	if (ret) {
		vfs_worker_fini(w);
		return -ret;
	}
	pthread_setname_np(w->thread, w->name);
	w->started = true;
	pthread_mutex_lock(&w->park_lock);
	while (!w->ready)
		pthread_cond_wait(&w->park_cond, &w->park_lock);
	ret = w->setup_err;
	pthread_mutex_unlock(&w->park_lock);
	if (ret)
		vfs_worker_destroy(w); /* the thread has returned already */
	return ret;
}

void vfs_worker_resume(struct vfs_worker *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->park_lock);
	w->run = true;
	pthread_cond_broadcast(&w->park_cond);
	pthread_mutex_unlock(&w->park_lock);
}

void vfs_worker_park(struct vfs_worker *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->park_lock);
	while (w->run)
		pthread_cond_wait(&w->park_cond, &w->park_lock);
	pthread_mutex_unlock(&w->park_lock);
}

void vfs_worker_destroy(struct vfs_worker *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->park_lock);
	w->quit = true;
	pthread_cond_broadcast(&w->park_cond);
	pthread_mutex_unlock(&w->park_lock);
	pthread_join(w->thread, NULL);
	vfs_worker_fini(w);
	w->started = false;
}
