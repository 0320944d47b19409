/*
 * worker.c: virtio-fs queue workers. Several workers share one queue: each pops a chain,
 * serves it and completes it, so a request that blocks (fsync, a lock wait, a large read,
 * a stuck host file system) holds one worker while the others keep the queue moving.
 *
 * Wake-ups are the cost that matters (under nesting a wake-up of a host thread costs
 * about as much as the request itself), so a kick wakes one worker, not the pool:
 * - Idle workers sleep in epoll_wait on the queue's ioeventfd, added with EPOLLEXCLUSIVE,
 *   and on the device's stop eventfd (not exclusive: a stop wakes everyone).
 * - A worker pops with vq_pop_watched: if that emptied the ring, guest notifications are
 *   armed again before it serves the chain, so the guest's next buffer kicks and wakes a
 *   sleeping sibling; only if more chains were already pending does the worker wake a
 *   sibling itself (the guest will not kick for those). A synchronous guest (one request
 *   at a time, the usual case) thus costs one wake-up per request, and nothing can wait
 *   behind a blocked worker while a sibling sleeps.
 * Before, every idle worker polled the ioeventfd (poll wakes all waiters) and each pop
 * woke them all again: about six wake-ups per request with four workers. Idle CPU use is
 * zero: no busy polling (measured not to pay; see the closing note of issue 7).
 *
 * Workers are created with the device, at start-up, and park until DRIVER_OK; a reset
 * parks them again and only device destruction ends them. So no thread is created once
 * seccomp filters are loaded: a thread created by a filtered vCPU thread would inherit
 * the vCPU filter on top of its own (vmm/seccomp.c). Each worker loads its own filter
 * before it parks, so before it ever sees guest data; its epoll set is made before that.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "../../vmm/parked_thread.h"
#include "device.h"
#include "worker.h"

/*
 * Chains were pending behind the one just popped, and the guest will not kick for them:
 * wake one sleeping sibling (EPOLLEXCLUSIVE) to take the next.
 */
static void vfs_worker_wake_sibling(struct vfs_worker *w)
{
	if (w->vq->index == VFS_HIPRIO_QUEUE || w->dev->workers_per_queue < 2)
		return; /* alone on the queue: it pops the next itself */
	vmmio_kick_queue(&w->dev->transport, w->vq->index);
}

/* Pop and serve until the queue is empty (0), stopping, or broken (-EIO). */
static int vfs_worker_drain(struct vfs_worker *w)
{
	for (;;) {
		bool more;
		int ret;

		if (atomic_load(&w->dev->stopping))
			return 0;
		ret = vq_pop_watched(w->vq, &w->chain, &more);
		if (more)
			vfs_worker_wake_sibling(w);
		if (ret == -EAGAIN)
			return 0;
		if (ret == -EBADMSG) {
			/* A malformed chain is answered empty; the queue carries on. */
			if (vfs_device_complete(w->dev, w->vq, w->chain.head, 0))
				return -EIO;
			continue;
		}
		if (ret)
			return ret;
		if (vfs_device_serve(w->dev, w->vq, &w->chain))
			return -EIO;
	}
}

static void vfs_worker_wait(struct vfs_worker *w)
{
	struct epoll_event ev[2];
	uint64_t count;
	int i, n = epoll_wait(w->epoll_fd, ev, 2, -1);

	/* Non-blocking: a sibling may have taken the count; the ring is what matters. */
	for (i = 0; i < n; i++) {
		if (ev[i].data.fd == w->notify_fd && read(w->notify_fd, &count, sizeof(count)) < 0) {
			/* EAGAIN: a sibling consumed it. */
		}
	}
}

/* Serve the queue from activation until the device stops (or the ring breaks). */
static void vfs_worker_serve_queue(void *arg)
{
	struct vfs_worker *w = arg;

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

/* The sleep set: the queue's ioeventfd (one sleeper woken per kick) and the stop eventfd. */
static int vfs_worker_epoll(struct vfs_worker *w)
{
	struct epoll_event kick = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = w->notify_fd };
	struct epoll_event stop = { .events = EPOLLIN, .data.fd = w->dev->stop_fd };

	w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epoll_fd < 0)
		return -errno;
	if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->notify_fd, &kick) < 0 ||
	    epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->dev->stop_fd, &stop) < 0) {
		int err = -errno;

		close(w->epoll_fd);
		w->epoll_fd = -1;
		return err;
	}
	return 0;
}

static int vfs_worker_init(struct vfs_worker *w, struct vfs_device *dev, unsigned index)
{
	int ret;

	memset(w, 0, sizeof(*w));
	w->dev = dev;
	w->epoll_fd = -1;
	w->vq = vmmio_queue(&dev->transport, index);
	w->notify_fd = vmmio_notify_fd(&dev->transport, index);
	if (!w->vq || w->notify_fd < 0)
		return -EINVAL;
	ret = vfs_worker_epoll(w);
	if (ret)
		return ret;
	ret = vq_chain_init(&w->chain, w->vq->max_size);
	if (ret) {
		close(w->epoll_fd);
		w->epoll_fd = -1;
	}
	return ret;
}

/* Undo vfs_worker_init. */
static void vfs_worker_fini(struct vfs_worker *w)
{
	vq_chain_free(&w->chain);
	if (w->epoll_fd >= 0)
		close(w->epoll_fd);
	w->epoll_fd = -1;
}

int vfs_worker_create(struct vfs_worker *w, struct vfs_device *dev, unsigned index)
{
	char name[16];
	int ret = vfs_worker_init(w, dev, index);

	if (ret)
		return ret;
	snprintf(name, sizeof(name), "vfs:%.6s:q%u", dev->tag, index);
	ret = parked_thread_create(&w->thread, name, SECCOMP_ROLE_VFS_WORKER, dev->seccomp,
				   vfs_worker_serve_queue, w);
	if (ret)
		vfs_worker_fini(w);
	return ret;
}

void vfs_worker_resume(struct vfs_worker *w)
{
	parked_thread_resume(&w->thread);
}

void vfs_worker_park(struct vfs_worker *w)
{
	parked_thread_park(&w->thread);
}

void vfs_worker_destroy(struct vfs_worker *w)
{
	if (!w->thread.started)
		return;
	parked_thread_destroy(&w->thread);
	vfs_worker_fini(w);
}
