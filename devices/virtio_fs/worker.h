/* worker.h: a thread that drains one virtio-fs queue through the FUSE server. */
#ifndef MICROVM_VIRTIO_FS_WORKER_H
#define MICROVM_VIRTIO_FS_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include "../../vmm/util.h"
#include "../virtio_mmio/virtqueue.h"

struct vfs_device;

struct vfs_worker {
	struct vfs_device *dev;
	struct vq *vq;
	int notify_fd; /* the queue's ioeventfd */
	struct vq_chain chain;
	pthread_t thread;
	bool started;
	char name[16]; /* "vfs:TAG:qN", cut to the 15 bytes a thread name holds */
};

/* Start a worker on queue index of dev (whose transport owns the queue). */
int vfs_worker_start(struct vfs_worker *w, struct vfs_device *dev, unsigned index) MUST_CHECK;
/* Wait for the thread after dev->stopping was set and stop_fd signalled. */
void vfs_worker_join(struct vfs_worker *w);

#endif
