/* console.h: the virtio-console device (ID 3), MULTIPORT: named ports relaying host fds. */
#ifndef MICROVM_VIRTIO_CONSOLE_H
#define MICROVM_VIRTIO_CONSOLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_console.h>
#include "../../vmm/memory.h"
#include "../../vmm/util.h"
#include "../virtio_mmio/transport.h"

#define VIRTIO_ID_CONSOLE_DEV 3U
/*
 * Port ids run 1..nports; port 0 stays free (a console port may go there later). Queues
 * are (nports + 2) pairs: port 0's, the control pair, then one per port; the transport
 * has VMMIO_MAX_QUEUES.
 */
#define VCON_MAX_PORTS (VMMIO_MAX_QUEUES / 2U - 2U)
#define VCON_NAME_MAX 127U
/* QEMU's virtio-serial size: Linux fills every receive queue with page-sized buffers. */
#define VCON_QUEUE_SIZE 128U
/* Config space: cols, rows, max_nr_ports, emerg_wr (struct virtio_console_config). */
#define VCON_CONFIG_BYTES 12U

enum vcon_direction {
	VCON_TO_GUEST,   /* the host descriptor is read and its bytes go to the guest (stdin) */
	VCON_FROM_GUEST, /* the guest writes, the bytes go to the host descriptor (stdout) */
};

struct vcon_port_config {
	const char *name; /* VIRTIO_CONSOLE_PORT_NAME: 1..VCON_NAME_MAX bytes */
	/*
	 * Owned by the caller, open until vcon_destroy returned. -1: a TO_GUEST port the
	 * guest sees at EOF at once; a FROM_GUEST port whose output is discarded.
	 */
	int host_fd;
	enum vcon_direction direction;
};

struct vcon_config {
	const struct vcon_port_config *ports; /* port i gets id i + 1 */
	unsigned nports;                      /* 1..VCON_MAX_PORTS */
	/*
	 * Spare ids after the ports (nports + 1 .. nports + nspare, the total at most
	 * VCON_MAX_PORTS): the guest sees none of them until vcon_port_add.
	 */
	unsigned nspare;
	bool seccomp; /* the device thread loads SECCOMP_ROLE_CONSOLE (vmm/seccomp.c) */
};

struct vcon_port;
struct vcon_thread;

struct vcon_device {
	struct vmmio transport;
	uint8_t config[VCON_CONFIG_BYTES]; /* little-endian, read-only */
	struct vcon_port *ports;           /* nports + nspare; the array changes only at init
					    * and destroy (spare ports: hotplug.c) */
	unsigned nports;                   /* including the spare ones */
	struct vcon_thread *thread; /* created parked at init, ended at destroy */
	bool seccomp;
	int stop_fd; /* eventfd: readable once the thread is to park */
	int hotplug_fd; /* eventfd: vcon_port_add/remove left a request for the thread */
	int removed_fd; /* eventfd: a removal is over (vcon_port_collect) */
	pthread_mutex_t hotplug_lock; /* the ports' pending requests (hotplug.c) */
	bool hotplug_lock_made;
	bool driver_ready; /* the guest sent DEVICE_READY(1): runtime ports get PORT_ADD */
	_Atomic bool stopping;
	/* Owned by the device thread while it runs, by reset and drain while it is parked. */
	struct vq_chain chain; /* scratch chain for the control and transmit queues */
	bool broken;           /* a ring is corrupt: nothing is served until reset */
	uint64_t bad_control;  /* guest control messages ignored (length, id, event) */
};

/*
 * Set up the device and its transport at base/gsi; nothing runs until DRIVER_OK. After a
 * failure, vcon_destroy releases what was set up.
 */
int vcon_init(struct vcon_device *dev, const struct vcon_config *cfg,
	      const struct guest_memory *mem, uint64_t base, unsigned gsi) MUST_CHECK;
/*
 * Stop the device thread, then write out everything the guest had placed in the transmit
 * queues, on the calling thread. Call once the vCPUs stopped, while guest memory is
 * still mapped. Writes may block on a full host pipe. Idempotent; vcon_destroy calls it.
 */
void vcon_drain(struct vcon_device *dev);
/* Drain, reset, end the thread and release everything. Harmless after a failed init. */
void vcon_destroy(struct vcon_device *dev);

/*
 * Runtime ports (hotplug.c), on the spare ids, from any one thread while the device
 * exists; the device thread carries them out. From vcon_port_add on, fd belongs to the
 * device (closed by vcon_port_collect or destroy, or at once when the call fails). The
 * guest gets PORT_ADD (once its driver is ready), then the usual open and name
 * handshake. A removal first writes out the guest output already queued, then sends
 * PORT_REMOVE; once over, vcon_removed_fd polls readable and vcon_port_collect closes
 * the descriptor and frees the id. 0; -EINVAL: not a spare id or a bad name; -EBUSY: the
 * id is in use (add) or not added or being removed (remove).
 */
int vcon_port_add(struct vcon_device *dev, uint32_t id, const char *name, int fd,
		  enum vcon_direction dir) MUST_CHECK;
int vcon_port_remove(struct vcon_device *dev, uint32_t id) MUST_CHECK;
int vcon_removed_fd(const struct vcon_device *dev);
/* Finish the removals that are over: up to max of their ids into ids; returns how many. */
unsigned vcon_port_collect(struct vcon_device *dev, uint32_t *ids, unsigned max);

#endif
