/*
 * worker.c: virtio-fs queue workers. Several workers share one queue: each pops a chain,
 * serves it and completes it, so a request that blocks (fsync, a lock wait, a large read)
 * holds one worker while the others keep the queue moving. Idle workers sleep on the
 * queue's ioeventfd and the device's stop eventfd; vq_pop re-arms guest notifications
 * before it reports the queue empty, and a worker that takes a chain wakes its siblings
 * (the pop left notifications off), so no wake-up is lost and idle CPU use is zero.
 *
 * Workers are created with the device, at start-up, and park until DRIVER_OK; a reset
 * parks them again and only device destruction ends them. So no thread is created once
 * seccomp filters are loaded: a thread created by a filtered vCPU thread would inherit
 * the vCPU filter on top of its own (vmm/seccomp.c). Each worker loads its own filter
 * before it parks, so before it ever sees guest data.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "../../vmm/seccomp.h"
#include "device.h"
#include "worker.h"

static void vfs_worker_serve(struct vfs_worker *w)
{
	struct vq_chain *c = &w->chain;
	size_t reply;

	reply = fuse_server_handle(w->dev->server, c->out, c->nout, c->in, c->nin);
	/* FORGET and friends have no reply, but the buffer must still go back (len 0). */
	if (vmmio_complete(&w->dev->transport, w->vq, c->head, (uint32_t)reply))
		vmmio_set_needs_reset(&w->dev->transport);
}

/*
 * Popping left guest notifications off (VRING_USED_F_NO_NOTIFY, or avail_event not moved
 * past this chain), and the siblings asleep on the eventfd may have lost the race for the
 * kick that brought it. Wake them, so one pops the next chain or re-arms before sleeping;
 * otherwise a request that blocks in the backend (SETLKW, fsync) leaves the queue
 * unwatched and the guest never kicks for the requests behind it.
 */
static void vfs_worker_wake_siblings(struct vfs_worker *w)
{
	uint64_t one = 1;

	if (w->vq->index == VFS_HIPRIO_QUEUE || w->dev->workers_per_queue < 2)
		return;
	if (write(w->notify_fd, &one, sizeof(one)) < 0) {
		/* Only at counter overflow, when the eventfd is readable anyway. */
	}
}

/* Pop and serve until the queue is empty (0), stopping, or broken (-EIO). */
static int vfs_worker_drain(struct vfs_worker *w)
{
	for (;;) {
		int ret;

		if (atomic_load(&w->dev->stopping))
			return 0;
		ret = vq_pop(w->vq, &w->chain);
		if (ret == -EAGAIN)
			return 0;
		if (ret == -EBADMSG) {
			/* A malformed chain is answered empty; the queue carries on. */
			if (vmmio_complete(&w->dev->transport, w->vq, w->chain.head, 0))
				return -EIO;
			continue;
		}
		if (ret)
			return ret;
		vfs_worker_wake_siblings(w);
		vfs_worker_serve(w);
	}
}

static void vfs_worker_wait(struct vfs_worker *w)
{
	struct pollfd fds[2] = {
		{ .fd = w->notify_fd, .events = POLLIN },
		{ .fd = w->dev->stop_fd, .events = POLLIN },
	};
	uint64_t count;

	if (poll(fds, 2, -1) < 0)
		return;
	/* Non-blocking: another worker of the queue may have taken the count already. */
	if ((fds[0].revents & POLLIN) && read(w->notify_fd, &count, sizeof(count)) < 0) {
		/* EAGAIN: a sibling consumed it; the ring is what matters, not the count. */
	}
}

/* Serve the queue from activation until the device stops (or the ring breaks). */
static void vfs_worker_serve_queue(struct vfs_worker *w)
{
	while (!atomic_load(&w->dev->stopping)) {
		if (vfs_worker_drain(w) == -EIO) {
			/* The driver corrupted the ring: only a reset brings the queue back. */
			vmmio_set_needs_reset(&w->dev->transport);
			break;
		}
		if (!atomic_load(&w->dev->stopping))
			vfs_worker_wait(w);
	}
}

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

static int vfs_worker_init(struct vfs_worker *w, struct vfs_device *dev, unsigned index)
{
	int ret;

	memset(w, 0, sizeof(*w));
	w->dev = dev;
	w->vq = vmmio_queue(&dev->transport, index);
	w->notify_fd = vmmio_notify_fd(&dev->transport, index);
	if (!w->vq || w->notify_fd < 0)
		return -EINVAL;
	ret = vq_chain_init(&w->chain, w->vq->max_size);
	if (ret)
		return ret;
	snprintf(w->name, sizeof(w->name), "vfs:%.6s:q%u", dev->tag, index);
	pthread_mutex_init(&w->park_lock, NULL);
	pthread_cond_init(&w->park_cond, NULL);
	return 0;
}

int vfs_worker_create(struct vfs_worker *w, struct vfs_device *dev, unsigned index)
{
	int ret = vfs_worker_init(w, dev, index);

	if (ret)
		return ret;
	ret = pthread_create(&w->thread, NULL, vfs_worker_main, w);
	if (ret) {
		vq_chain_free(&w->chain);
		pthread_cond_destroy(&w->park_cond);
		pthread_mutex_destroy(&w->park_lock);
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
	vq_chain_free(&w->chain);
	pthread_cond_destroy(&w->park_cond);
	pthread_mutex_destroy(&w->park_lock);
	w->started = false;
}
