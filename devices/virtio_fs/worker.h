/* worker.h: the threads that serve one virtio-fs queue through the FUSE server. */
#ifndef MICROVM_VIRTIO_FS_WORKER_H
#define MICROVM_VIRTIO_FS_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "../../vmm/util.h"
#include "../virtio_mmio/virtqueue.h"

struct vfs_device;
struct vfs_worker;

/* What a worker of a queue does at the moment; worker.c says how roles move. */
enum vfs_role {
	VFS_ROLE_NONE,    /* parked, or between activation and joining */
	VFS_ROLE_WATCHER, /* pops the ring, sleeps on the queue's ioeventfd */
	VFS_ROLE_STANDBY, /* times the watcher's requests, takes over from a slow one */
	VFS_ROLE_IDLE,    /* sleeps until handed a role */
	VFS_ROLE_LOOSE,   /* serves one request that may block, holding no role */
};

/* The workers of one queue. It lives in the first of them, the leader. */
struct vfs_wgroup {
	pthread_mutex_t lock;
	/*
	 * The watcher's id, whether it is serving a request, and how many it has started
	 * (VFS_ST_* in worker.c). Read without the lock; the watcher alone sets the busy bit
	 * and the count; who the watcher is changes only under lock.
	 */
	_Atomic uint64_t state;
	_Atomic bool standby_parked; /* the standby sleeps without a timeout */
	/* protected by lock */
	struct vfs_worker *standby;
	struct vfs_worker *idle; /* sleepers, listed through vfs_worker.next_idle */
	unsigned size;           /* members, with ids 1..size */
	uint64_t hand_offs;      /* the watcher gave the role up for a request that may block */
	uint64_t take_overs;     /* the standby took it from a watcher stuck on a request */
};

struct vfs_worker {
	struct vfs_device *dev;
	struct vq *vq;
	int notify_fd; /* the queue's ioeventfd */
	int wake_fd;   /* eventfd: a sibling handed this worker a role */
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
	/* Fixed at create. */
	struct vfs_wgroup *group; /* its queue's: own_group of the leader */
	struct vfs_wgroup own_group;
	unsigned gid;             /* 1..group->size */
	/* Changed under group->lock (by this worker or the one handing it a role). */
	_Atomic int role;             /* enum vfs_role */
	struct vfs_worker *next_idle; /* protected by group->lock */
};

/*
 * Create the thread for queue index of dev (whose transport owns the queue), parked;
 * returns once it has blocked signals and loaded its seccomp filter (if dev->seccomp).
 * leader: the queue's first worker, or NULL for that first one. Leaders are destroyed
 * after their queue's other workers have parked for good (vfs_device_destroy).
 */
int vfs_worker_create(struct vfs_worker *w, struct vfs_device *dev, unsigned index,
		      struct vfs_worker *leader) MUST_CHECK;
/* Activation: serve the queue until dev->stopping. */
void vfs_worker_resume(struct vfs_worker *w);
/* After dev->stopping was set and stop_fd signalled: wait until the worker has parked. */
void vfs_worker_park(struct vfs_worker *w);
/* End the thread (parked or never resumed) and free what create took. */
void vfs_worker_destroy(struct vfs_worker *w);

#endif
