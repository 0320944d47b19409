/*
 * worker.c: virtio-fs queue workers. Several workers share one queue: each pops a chain,
 * serves it and completes it, so a request that blocks (fsync, a lock wait, a large read)
 * holds one worker while the others keep the queue moving. Idle workers sleep on the
 * queue's ioeventfd and the device's stop eventfd; vq_pop re-arms guest notifications
 * before it reports the queue empty, so no wake-up is lost and idle CPU use is zero.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
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

static void *vfs_worker_main(void *arg)
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
	return NULL;
}

int vfs_worker_start(struct vfs_worker *w, struct vfs_device *dev, unsigned index)
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
	ret = pthread_create(&w->thread, NULL, vfs_worker_main, w);
	if (ret) {
		vq_chain_free(&w->chain);
		return -ret;
	}
	pthread_setname_np(w->thread, w->name);
	w->started = true;
	return 0;
}

void vfs_worker_join(struct vfs_worker *w)
{
	if (!w->started)
		return;
	pthread_join(w->thread, NULL);
	vq_chain_free(&w->chain);
	w->started = false;
}
