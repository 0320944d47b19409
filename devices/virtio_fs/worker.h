/* worker.h: a thread that drains one virtio-fs queue through the FUSE server. */
#ifndef MICROVM_VIRTIO_FS_WORKER_H
#define MICROVM_VIRTIO_FS_WORKER_H

#include "../../vmm/parked_thread.h"
#include "../../vmm/util.h"
#include "../virtio_mmio/virtqueue.h"

struct vfs_device;

struct vfs_worker {
	struct vfs_device *dev;
	struct vq *vq;
	int notify_fd; /* the queue's ioeventfd */
	int epoll_fd;  /* sleeps here: notify_fd (EPOLLEXCLUSIVE) and the stop eventfd */
	struct vq_chain chain;
	struct parked_thread thread; /* "vfs:TAG:qN" */
};

/*
 * Create the thread for queue index of dev (whose transport owns the queue), parked;
 * returns once it has blocked signals and loaded its seccomp filter (if dev->seccomp).
 */
int vfs_worker_create(struct vfs_worker *w, struct vfs_device *dev, unsigned index) MUST_CHECK;
/* Activation: serve the queue until dev->stopping. */
void vfs_worker_resume(struct vfs_worker *w);
/* After dev->stopping was set and stop_fd signalled: wait until the worker has parked. */
void vfs_worker_park(struct vfs_worker *w);
/* End the thread (parked or never resumed) and free what create took. */
void vfs_worker_destroy(struct vfs_worker *w);

#endif
