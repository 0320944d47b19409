/* device.c: virtio-console device ops for virtio-mmio: config, activation, reset, drain. */
/*
 * Locking: the transport's lock serialises activate, reset and vcon_drain; each of them
 * runs only while the device thread is parked (or parks it first), so the port state
 * and dev->chain have one owner at a time and need no lock of their own.
 * Lock order: vmmio.lock -> the thread's park_lock (thread.c) -> vq.lock.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "vcon_internal.h"

int vcon_complete(struct vcon_device *dev, struct vq *vq, uint16_t head, uint32_t len)
{
	return vmmio_complete(&dev->transport, vq, head, len) ? -EIO : 0;
}

static void vcon_config_read(void *opaque, uint32_t offset, void *data, uint32_t len)
{
	struct vcon_device *dev = opaque;

	/* The transport checked offset + len against config_len. */
	memcpy(data, dev->config + offset, len);
}

/* Ask the thread to park and wait for it; harmless when it is parked already. */
static void vcon_stop(struct vcon_device *dev)
{
	uint64_t one = 1;

	atomic_store(&dev->stopping, true);
	if (write(dev->stop_fd, &one, sizeof(one)) < 0) {
		/* Cannot fail short of counter overflow; the thread also checks `stopping`. */
	}
	vcon_thread_park(dev);
}

/* A new driver starts the control protocol from DEVICE_READY; the host side stays. */
static void vcon_forget_guest(struct vcon_device *dev)
{
	unsigned i;

	for (i = 0; i < dev->nports; i++) {
		struct vcon_port *p = &dev->ports[i];

		p->owed = 0;
		p->ready = false;
		p->guest_open = false;
		p->rx_held = false; /* the ring it came from is being forgotten */
		p->host_ready = false;
	}
	dev->broken = false;
	dev->driver_ready = false;
}

static void vcon_reset(void *opaque)
{
	struct vcon_device *dev = opaque;

	vcon_stop(dev);
	vcon_forget_guest(dev);
}

static int vcon_activate(void *opaque, struct vq *queues, unsigned nqueues, uint64_t features)
{
	struct vcon_device *dev = opaque;
	uint64_t count;

	(void)queues;
	(void)nqueues;
	/* Without MULTIPORT the driver only knows port 0, which we do not serve. */
	if (!(features & (1ULL << VIRTIO_CONSOLE_F_MULTIPORT)))
		log_info("virtio-console: driver refused MULTIPORT; its ports stay unused");
	/* A previous reset left the stop eventfd readable: clear it for this run. */
	if (read(dev->stop_fd, &count, sizeof(count)) < 0) {
		/* EAGAIN: first activation, nothing to clear. */
	}
	atomic_store(&dev->stopping, false);
	vcon_thread_resume(dev);
	return 0;
}

static void vcon_fill_config(struct vcon_device *dev)
{
	uint32_t max_nr_ports = htole32(dev->nports + 1); /* ids 0..nports */

	memset(dev->config, 0, sizeof(dev->config)); /* cols, rows: no F_SIZE; emerg_wr */
	memcpy(dev->config + 4, &max_nr_ports, sizeof(max_nr_ports));
}

static int vcon_check_config(const struct vcon_config *cfg)
{
	unsigned i;

	if (!cfg->ports || cfg->nports == 0 || cfg->nports > VCON_MAX_PORTS ||
	    cfg->nspare > VCON_MAX_PORTS - cfg->nports)
		return -EINVAL;
	for (i = 0; i < cfg->nports; i++) {
		const struct vcon_port_config *pc = &cfg->ports[i];

		if (!pc->name || pc->name[0] == '\0' || strlen(pc->name) > VCON_NAME_MAX)
			return -EINVAL;
		if (pc->direction != VCON_TO_GUEST && pc->direction != VCON_FROM_GUEST)
			return -EINVAL;
	}
	return 0;
}

static int vcon_init_port(struct vcon_device *dev, const struct vcon_port_config *pc,
			  uint32_t id)
{
	struct vcon_port *p = &dev->ports[id - 1];

	p->id = id;
	p->dir = pc->direction;
	p->host_fd = pc->host_fd;
	strcpy(p->name, pc->name); /* length checked by vcon_check_config */
	p->rx = vmmio_queue(&dev->transport, vcon_rx_queue(id));
	p->tx = vmmio_queue(&dev->transport, vcon_tx_queue(id));
	p->rx_notify = vmmio_notify_fd(&dev->transport, vcon_rx_queue(id));
	p->tx_notify = vmmio_notify_fd(&dev->transport, vcon_tx_queue(id));
	if (!p->rx || !p->tx || p->rx_notify < 0 || p->tx_notify < 0)
		return -EINVAL;
	/* No descriptor: input is at EOF from the start, output goes nowhere. */
	p->host_eof = p->dir == VCON_TO_GUEST && p->host_fd < 0;
	p->write_failed = p->dir == VCON_FROM_GUEST && p->host_fd < 0;
	p->present = true;
	if (p->dir != VCON_TO_GUEST)
		return 0;
	return vq_chain_init(&p->rx_chain, VCON_QUEUE_SIZE);
}

/* A spare id: no descriptor, unseen, either direction later (so a receive chain too). */
static int vcon_init_spare(struct vcon_device *dev, uint32_t id)
{
	static const struct vcon_port_config none = { "-", -1, VCON_TO_GUEST };
	struct vcon_port *p = &dev->ports[id - 1];
	int ret = vcon_init_port(dev, &none, id);

	p->present = false;
	p->spare = true;
	p->name[0] = '\0';
	p->write_failed = true;
	p->pend.fd = p->pend.closing = -1;
	return ret;
}

static int vcon_init_ports(struct vcon_device *dev, const struct vcon_config *cfg)
{
	unsigned i;
	int ret;

	dev->ports = calloc(cfg->nports + cfg->nspare, sizeof(*dev->ports));
	if (!dev->ports)
		return -ENOMEM;
	dev->nports = cfg->nports + cfg->nspare;
	for (i = 0; i < dev->nports; i++) {
		if (i < cfg->nports)
			ret = vcon_init_port(dev, &cfg->ports[i], i + 1);
		else
			ret = vcon_init_spare(dev, i + 1);
		if (ret)
			return ret;
	}
	return vq_chain_init(&dev->chain, VCON_QUEUE_SIZE);
}

int vcon_init(struct vcon_device *dev, const struct vcon_config *cfg,
	      const struct guest_memory *mem, uint64_t base, unsigned gsi)
{
	struct vmmio_dev_ops ops = {
		.name = "virtio-console",
		.device_id = VIRTIO_ID_CONSOLE_DEV,
		/* No F_SIZE (no console port to size), no F_EMERG_WRITE (Linux never uses it). */
		.features = 1ULL << VIRTIO_CONSOLE_F_MULTIPORT,
		.num_queues = 2 * (cfg->nports + cfg->nspare + 2),
		.queue_max_size = VCON_QUEUE_SIZE,
		.config_len = VCON_CONFIG_BYTES,
		.config_read = vcon_config_read,
		.activate = vcon_activate,
		.reset = vcon_reset,
	};
	int ret;

	memset(dev, 0, sizeof(*dev));
	dev->stop_fd = -1;
	dev->hotplug_fd = -1;
	dev->removed_fd = -1;
	ret = vcon_check_config(cfg);
	if (ret)
		return ret;
	dev->seccomp = cfg->seccomp;
	dev->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->stop_fd < 0)
		return -errno;
	dev->hotplug_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->hotplug_fd < 0)
		return -errno;
	dev->removed_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->removed_fd < 0)
		return -errno;
	ret = pthread_mutex_init(&dev->hotplug_lock, NULL);
	if (ret)
		return -ret;
	dev->hotplug_lock_made = true;
	ret = vmmio_init(&dev->transport, &ops, dev, mem, base, gsi);
	if (ret)
		return ret;
	ret = vcon_init_ports(dev, cfg);
	if (ret)
		return ret;
	vcon_fill_config(dev);
	return vcon_thread_create(dev);
}

void vcon_drain(struct vcon_device *dev)
{
	struct vmmio *t = &dev->transport;
	bool more = false;
	unsigned i;

	if (!t->queues || !dev->thread)
		return; /* init failed before the thread existed */
	/* Under the lock: no register access resets the rings while we read them. */
	pthread_mutex_lock(&t->lock);
	if (t->active) {
		vcon_stop(dev);
		/* The guest is stopped: each queue holds at most its size in chains. */
		for (i = 0; i < dev->nports; i++)
			if (vcon_io_tx(dev, &dev->ports[i], VCON_QUEUE_SIZE, &more))
				log_debug("virtio-console: port %u: ring broken, output lost",
					  dev->ports[i].id);
	}
	pthread_mutex_unlock(&t->lock);
}

void vcon_destroy(struct vcon_device *dev)
{
	unsigned i;

	vcon_drain(dev);
	/* Resets an active device, which parks the thread; then it ends. */
	vmmio_destroy(&dev->transport);
	vcon_thread_destroy(dev);
	if (dev->ports)
		vcon_hotplug_release(dev);
	for (i = 0; dev->ports && i < dev->nports; i++)
		vq_chain_free(&dev->ports[i].rx_chain);
	free(dev->ports);
	dev->ports = NULL;
	dev->nports = 0;
	vq_chain_free(&dev->chain);
	if (dev->stop_fd >= 0)
		close(dev->stop_fd);
	dev->stop_fd = -1;
	if (dev->hotplug_fd >= 0)
		close(dev->hotplug_fd);
	dev->hotplug_fd = -1;
	if (dev->removed_fd >= 0)
		close(dev->removed_fd);
	dev->removed_fd = -1;
	if (dev->hotplug_lock_made)
		pthread_mutex_destroy(&dev->hotplug_lock);
	dev->hotplug_lock_made = false;
}
