/* device.h: the virtio-fs device (ID 26): config space, queues, and the workers that serve them. */
#ifndef MICROVM_VIRTIO_FS_DEVICE_H
#define MICROVM_VIRTIO_FS_DEVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "../../vmm/memory.h"
#include "../../vmm/util.h"
#include "../virtio_mmio/transport.h"
#include "fuse_server.h"

#include <linux/virtio_ids.h> /* VIRTIO_ID_FS (26) */
#define VFS_TAG_BYTES 36U
#define VFS_HIPRIO_QUEUE 0U
#define VFS_QUEUE_SIZE 1024U
/* Threads per request queue: a slow request (fsync, a large read) leaves others free. */
#define VFS_DEFAULT_WORKERS_PER_QUEUE 4U

struct vfs_worker;

struct vfs_device_config {
	const char *tag;
	unsigned request_queues;    /* 1..CONFIG_MAX_SHARE_QUEUES */
	unsigned workers_per_queue; /* 0: VFS_DEFAULT_WORKERS_PER_QUEUE */
	struct fuse_server *server; /* owned by the caller, outlives the device */
	struct vmmio_shm_region dax; /* len 0: no DAX window (region 0 reads as absent) */
	bool seccomp; /* workers load the SECCOMP_ROLE_VFS_WORKER filter (vmm/seccomp.c) */
	/* Quick requests are served on the notifying vCPU thread (vcpu_serve.c). */
	bool serve_on_vcpu;
};

struct vfs_device {
	struct vmmio transport;
	struct fuse_server *server;
	uint8_t config[VFS_TAG_BYTES + 4]; /* struct virtio_fs_config, little-endian */
	char tag[VFS_TAG_BYTES + 1];
	unsigned request_queues;
	unsigned workers_per_queue;
	struct vmmio_shm_region dax;
	/*
	 * Created parked by vfs_device_init, resumed by activate, parked again by reset, ended
	 * by vfs_device_destroy; the array is written only at init and destroy.
	 */
	struct vfs_worker *workers;
	unsigned nworkers;
	bool seccomp;
	bool serve_on_vcpu;
	int stop_fd;            /* eventfd: readable once the device is stopping */
	_Atomic bool stopping;  /* also before the first DRIVER_OK */
	/* serve_on_vcpu: the vCPU serving quick requests holds the lock (vcpu_serve.c). */
	pthread_mutex_t vcpu_lock;
	struct vq_chain vcpu_chain;
	_Atomic unsigned long long vcpu_served; /* requests served on vCPU threads */
};

/* Set up the device and its transport at base/gsi; nothing runs until DRIVER_OK. */
int vfs_device_init(struct vfs_device *dev, const struct vfs_device_config *cfg,
		    const struct guest_memory *mem, uint64_t base, unsigned gsi) MUST_CHECK;
/*
 * Serve one popped chain: the FUSE server's reply, then the used ring and interrupt.
 * vfs_device_complete publishes a reply (len bytes) by itself. Both return 0, or -EIO
 * after setting DEVICE_NEEDS_RESET when the queue cannot take it.
 */
int vfs_device_serve(struct vfs_device *dev, struct vq *vq, struct vq_chain *chain);
int vfs_device_complete(struct vfs_device *dev, struct vq *vq, uint16_t head, uint32_t len);
/* Stop the workers and release the transport. */
void vfs_device_destroy(struct vfs_device *dev);

#endif
