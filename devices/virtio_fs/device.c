/* device.c: virtio-fs device ops for the virtio-mmio transport: config, activation, reset, DAX region. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "device.h"
#include "vcpu_serve.h"
#include "worker.h"

static void vfs_config_read(void *opaque, uint32_t offset, void *data, uint32_t len)
{
	struct vfs_device *dev = opaque;

	/* The transport checked offset + len against config_len. */
	memcpy(data, dev->config + offset, len);
}

int vfs_device_complete(struct vfs_device *dev, struct vq *vq, uint16_t head, uint32_t len)
{
	if (vmmio_complete(&dev->transport, vq, head, len) == 0)
		return 0;
	vmmio_set_needs_reset(&dev->transport);
	return -EIO;
}

int vfs_device_serve(struct vfs_device *dev, struct vq *vq, struct vq_chain *chain)
{
	size_t reply = fuse_server_handle(dev->server, chain->out, chain->nout, chain->in,
					  chain->nin);

	/* FORGET and friends have no reply, but the buffer must still go back (len 0). */
	return vfs_device_complete(dev, vq, chain->head, (uint32_t)reply);
}

static void vfs_stop_workers(struct vfs_device *dev)
{
	uint64_t one = 1;
	unsigned i;

	atomic_store(&dev->stopping, true);
	if (write(dev->stop_fd, &one, sizeof(one)) < 0) {
		/* Cannot fail for a non-overflowing eventfd; workers also poll `stopping`. */
	}
	/* A worker waiting in SETLKW must come back before it can park. */
	if (dev->server) /* NULL after an init that refused its config */
		fuse_server_cancel_waits(dev->server);
	if (dev->serve_on_vcpu)
		vfs_vcpu_quiesce(dev);
	for (i = 0; i < dev->nworkers; i++)
		vfs_worker_park(&dev->workers[i]);
}

/* After vfs_stop_workers: end the (parked) threads. */
static void vfs_destroy_workers(struct vfs_device *dev)
{
	unsigned i;

	for (i = 0; i < dev->nworkers; i++)
		vfs_worker_destroy(&dev->workers[i]);
	free(dev->workers);
	dev->workers = NULL;
	dev->nworkers = 0;
}

static void vfs_reset(void *opaque)
{
	vfs_stop_workers(opaque);
}

/*
 * Hiprio gets one worker (FORGETs are quick); each request queue gets a pool. Created
 * parked at init, by the unfiltered start-up thread: see worker.c for why not at
 * DRIVER_OK.
 */
static int vfs_create_workers(struct vfs_device *dev)
{
	unsigned total = 1 + dev->request_queues * dev->workers_per_queue;
	unsigned i;
	int ret = 0;

	dev->workers = calloc(total, sizeof(*dev->workers));
	if (!dev->workers)
		return -ENOMEM;
	for (i = 0; i < total && ret == 0; i++) {
		unsigned queue = i == 0 ? VFS_HIPRIO_QUEUE : 1 + (i - 1) / dev->workers_per_queue;

		ret = vfs_worker_create(&dev->workers[i], dev, queue);
		if (ret == 0)
			dev->nworkers = i + 1;
	}
	return ret;
}

static int vfs_activate(void *opaque, struct vq *queues, unsigned nqueues, uint64_t features)
{
	struct vfs_device *dev = opaque;
	uint64_t count;
	unsigned i;

	(void)queues;
	(void)nqueues;
	(void)features;
	/* A previous reset left the stop eventfd readable: clear it for this run. */
	if (read(dev->stop_fd, &count, sizeof(count)) < 0) {
		/* EAGAIN: first activation, nothing to clear. */
	}
	atomic_store(&dev->stopping, false);
	for (i = 0; i < dev->nworkers; i++)
		vfs_worker_resume(&dev->workers[i]);
	return 0;
}

static bool vfs_shm_region(void *opaque, uint32_t id, struct vmmio_shm_region *region)
{
	struct vfs_device *dev = opaque;

	/* Region 0 is VIRTIO_FS_SHMCAP_ID_CACHE, the DAX window; there is no other. */
	if (id != 0 || dev->dax.len == 0)
		return false;
	*region = dev->dax;
	return true;
}

static void vfs_fill_config(struct vfs_device *dev, const char *tag)
{
	uint32_t n = dev->request_queues;
	size_t len = strlen(tag);

	if (len > VFS_TAG_BYTES)
		len = VFS_TAG_BYTES;
	memset(dev->config, 0, sizeof(dev->config));
	memcpy(dev->config, tag, len); /* NUL-padded, not NUL-terminated when 36 bytes */
	memcpy(dev->tag, tag, len);
	dev->tag[len] = '\0';
	dev->config[VFS_TAG_BYTES + 0] = (uint8_t)n;
	dev->config[VFS_TAG_BYTES + 1] = (uint8_t)(n >> 8);
	dev->config[VFS_TAG_BYTES + 2] = (uint8_t)(n >> 16);
	dev->config[VFS_TAG_BYTES + 3] = (uint8_t)(n >> 24);
}

int vfs_device_init(struct vfs_device *dev, const struct vfs_device_config *cfg,
		    const struct guest_memory *mem, uint64_t base, unsigned gsi)
{
	struct vmmio_dev_ops ops = {
		.name = "virtio-fs",
		.device_id = VIRTIO_ID_FS,
		.features = 0, /* no VIRTIO_FS_F_NOTIFICATION: no notification queue */
		.num_queues = 1 + cfg->request_queues,
		.queue_max_size = VFS_QUEUE_SIZE,
		.config_len = sizeof(dev->config),
		.config_read = vfs_config_read,
		.activate = vfs_activate,
		.reset = vfs_reset,
		.shm_region = vfs_shm_region,
	};
	int ret;

	memset(dev, 0, sizeof(*dev));
	dev->stop_fd = -1;
	atomic_store(&dev->stopping, true); /* until DRIVER_OK */
	pthread_mutex_init(&dev->vcpu_lock, NULL);
	if (cfg->request_queues == 0 || cfg->request_queues >= VMMIO_MAX_QUEUES || !cfg->server)
		return -EINVAL;
	dev->server = cfg->server;
	dev->request_queues = cfg->request_queues;
	dev->workers_per_queue = cfg->workers_per_queue ? cfg->workers_per_queue
							: VFS_DEFAULT_WORKERS_PER_QUEUE;
	dev->dax = cfg->dax;
	vfs_fill_config(dev, cfg->tag);
	dev->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->stop_fd < 0)
		return -errno;
	dev->seccomp = cfg->seccomp;
	if (cfg->serve_on_vcpu) {
		ret = vq_chain_init(&dev->vcpu_chain, VFS_QUEUE_SIZE);
		if (ret)
			return ret;
		dev->serve_on_vcpu = true;
		/* Every request queue (1..n); hiprio's FORGETs stay with its worker. */
		ops.vcpu_queues = ((1ULL << cfg->request_queues) - 1) << 1;
		ops.notify = vfs_vcpu_notify;
	}
	ret = vmmio_init(&dev->transport, &ops, dev, mem, base, gsi);
	if (ret == 0)
		ret = vfs_create_workers(dev);
	return ret;
}

void vfs_device_destroy(struct vfs_device *dev)
{
	/* Resets an active device, which stops and parks the workers; then they end. */
	vmmio_destroy(&dev->transport);
	vfs_stop_workers(dev);
	vfs_destroy_workers(dev);
	if (dev->stop_fd >= 0)
		close(dev->stop_fd);
	dev->stop_fd = -1;
	if (dev->serve_on_vcpu) {
		/* -v: beside the server's per-opcode counts, how many never left the vCPU. */
		log_info("virtio-fs %s: %llu requests served on vCPU threads", dev->tag,
			 atomic_load(&dev->vcpu_served));
		vq_chain_free(&dev->vcpu_chain);
	}
	dev->serve_on_vcpu = false;
	pthread_mutex_destroy(&dev->vcpu_lock);
}
