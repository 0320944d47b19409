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
	int epoll_fd;  /* sleeps here: notify_fd (EPOLLEXCLUSIVE) and the stop eventfd */
	struct vq_chain chain;
	pthread_t thread;
	bool started; /* the thread exists: between vfs_worker_create and vfs_worker_destroy */
	char name[16]; /* "vfs:TAG:qN", cut to the 15 bytes a thread name holds */
	pthread_mutex_t park_lock;
	pthread_cond_t park_cond;
	/* protected by park_lock */
	bool ready;    /* the thread has set itself up; setup_err says how */
	int setup_err;
	bool run;      /* set by vfs_worker_resume; the worker clears it when it parks */
	bool quit;     /* set by vfs_worker_destroy */
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
