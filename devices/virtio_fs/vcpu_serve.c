/*
 * vcpu_serve.c: quick requests served on the vCPU thread that sent them.
 *
 * A guest that stats, opens and lists files waits for each reply before it sends the next
 * request. Handing such a request to a worker costs two thread switches and, when the
 * vCPU has nothing else to do, a halt and a wake-up of the vCPU: under nesting that is
 * most of a round trip, on hardware still the largest part of it. So for the request
 * queues of a device with serve_on_vcpu, the QUEUE_NOTIFY write exits to userspace (no
 * ioeventfd) and the vCPU thread itself pops the chains that fuse_request_is_quick
 * accepts (lookups, stats, opens, reads, listings, releases), serves them and returns to
 * the guest with the interrupt already raised.
 *
 * Everything else stays with the workers: the first chain that is not quick (a write, an
 * fsync, a lock wait that may never end) is left at the head of the ring and a worker is
 * woken for it, as is everything behind it; the workers drain in order. So a vCPU never
 * waits on the guest or on a lock, only on host syscalls of bounded cost, and at most
 * VFS_VCPU_BATCH of them per notify. One vCPU serves a device at a time (a try-lock);
 * another vCPU that notifies meanwhile hands its chains to the workers instead of waiting.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include "device.h"
#include "vcpu_serve.h"

/* Chains one notify may serve on the vCPU before the rest go to the workers. */
#define VFS_VCPU_BATCH 16U

static bool vfs_chain_is_quick(const struct vq_chain *chain, void *arg)
{
	(void)arg;
	return fuse_request_is_quick(chain->out, chain->nout);
}

/* Serve quick chains until the queue is empty (0) or something is left for the workers. */
static int vfs_vcpu_drain(struct vfs_device *dev, struct vq *vq)
{
	unsigned served;

	for (served = 0; served < VFS_VCPU_BATCH; served++) {
		bool more; /* the loop pops again anyway */
		int ret;

		if (atomic_load(&dev->stopping))
			return 0;
		/* Re-armed when this empties the ring: another vCPU's request kicks meanwhile. */
		ret = vq_pop_if(vq, &dev->vcpu_chain, vfs_chain_is_quick, NULL, &more);
		if (ret == -EAGAIN)
			return 0;
		if (ret == -EBADMSG)
			ret = vfs_device_complete(dev, vq, dev->vcpu_chain.head, 0);
		else if (ret == 0)
			ret = vfs_device_serve(dev, vq, &dev->vcpu_chain);
		if (ret)
			return ret; /* -EBUSY (not quick) or -EIO: the workers take over */
		atomic_fetch_add_explicit(&dev->vcpu_served, 1, memory_order_relaxed);
	}
	return -EBUSY;
}

void vfs_vcpu_notify(void *opaque, unsigned queue)
{
	struct vfs_device *dev = opaque;
	struct vq *vq = vmmio_queue(&dev->transport, queue);
	int ret = -EBUSY;

	if (!vq)
		return;
	if (pthread_mutex_trylock(&dev->vcpu_lock) == 0) {
		ret = vfs_vcpu_drain(dev, vq);
		pthread_mutex_unlock(&dev->vcpu_lock);
	}
	if (ret) /* one sleeping worker wakes (EPOLLEXCLUSIVE on the notify eventfd) */
		vmmio_kick_queue(&dev->transport, queue);
}

void vfs_vcpu_quiesce(struct vfs_device *dev)
{
	/* dev->stopping is set: whoever holds the lock returns after its current request. */
	pthread_mutex_lock(&dev->vcpu_lock);
	pthread_mutex_unlock(&dev->vcpu_lock);
}
