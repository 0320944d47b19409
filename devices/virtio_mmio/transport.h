/* transport.h: the virtio-mmio version 2 transport: registers, status, queues, notifications. */
#ifndef MICROVM_VIRTIO_MMIO_TRANSPORT_H
#define MICROVM_VIRTIO_MMIO_TRANSPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include "../../vmm/bus.h"
#include "../../vmm/coalesced_mmio.h"
#include "../../vmm/layout.h"
#include "../../vmm/memory.h"
#include "../../vmm/util.h"
#include "virtqueue.h"

#define VMMIO_MAGIC 0x74726976U /* "virt" */
#define VMMIO_VERSION 2U        /* modern layout; requires VIRTIO_F_VERSION_1 */
/*
 * Our own vendor id, "MVM" + 0: Linux only stores VendorID and matches it against
 * driver id tables, and virtio-fs (like every in-tree virtio driver) matches
 * VIRTIO_DEV_ANY_ID, so any value is accepted.
 */
#define VMMIO_VENDOR_ID 0x004d564dU
#define VMMIO_MAX_QUEUES 64U
#define VMMIO_CONFIG_MAX (LAYOUT_VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG)
/* Offered on behalf of every device: the virtqueue code implements them. */
#define VMMIO_TRANSPORT_FEATURES                                                       \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |       \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX))

struct vq;

/* A shared memory region (VIRTIO 1.2 2.10), e.g. the virtio-fs DAX window. */
struct vmmio_shm_region {
	uint64_t base; /* guest-physical */
	uint64_t len;
};

/*
 * What a device tells the transport (kvmtool's virtio_ops, Firecracker's VirtioDevice).
 * Filled by the device per instance (queue count and features may come from config).
 * Callbacks run with the transport lock held, on a vCPU thread: they must not call
 * back into the transport's register functions.
 */
struct vmmio_dev_ops {
	const char *name;
	uint32_t device_id;
	uint64_t features;       /* device-specific bits; VMMIO_TRANSPORT_FEATURES are added */
	unsigned num_queues;     /* 1..VMMIO_MAX_QUEUES */
	uint16_t queue_max_size; /* power of two, <= VQ_MAX_SIZE */
	uint32_t config_len;     /* <= VMMIO_CONFIG_MAX */
	/* [offset, offset + len) is within config_len; the transport checked. */
	void (*config_read)(void *dev, uint32_t offset, void *data, uint32_t len);
	/* NULL: config space is read-only and writes are ignored. */
	void (*config_write)(void *dev, uint32_t offset, const void *data, uint32_t len);
	/* DRIVER_OK: start serving. Queues the driver did not enable have !vq_is_ready(). */
	int (*activate)(void *dev, struct vq *queues, unsigned nqueues, uint64_t features);
	/* Stop serving: return only when no thread of the device touches the queues. */
	void (*reset)(void *dev);
	/* NULL or false: no region with that id (reads as length and base ~0). */
	bool (*shm_region)(void *dev, uint32_t id, struct vmmio_shm_region *region);
	/*
	 * Bit q set: queue q is served by the vCPU thread that notifies it. No ioeventfd is
	 * attached for it; its QUEUE_NOTIFY write calls notify on that vCPU thread, without
	 * the transport lock (so other vCPUs' register accesses do not wait), at any time:
	 * before DRIVER_OK and during a reset too, which the device must tell apart itself.
	 */
	uint64_t vcpu_queues;
	void (*notify)(void *dev, unsigned queue);
};

struct vmmio {
	pthread_mutex_t lock;     /* guards the register state below; taken per MMIO access */
	struct vmmio_dev_ops ops; /* copied at init, read-only afterwards */
	void *dev;
	const struct guest_memory *mem;
	uint64_t base;
	unsigned gsi;
	struct vq *queues; /* ops.num_queues; set-up under lock, then the device's */
	int *notify_fd;    /* per queue eventfd: KVM ioeventfd, or an MMIO notify, signals it */
	int irq_fd;        /* eventfd: KVM irqfd on gsi; in tests read it directly */
	int vm_fd;         /* -1 unless vmmio_kvm_attach succeeded */
	/* InterruptACK writes KVM queues (vmmio_queue_acks); NULL: they all exit */
	struct coalesced_mmio *acks;
	/* protected by lock */
	uint32_t status; /* without NEEDS_RESET, which lives in needs_reset */
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	uint32_t shm_sel;
	bool active;             /* activate succeeded; reset must stop the device */
	bool queue_setup_failed; /* a QUEUE_READY was refused: DRIVER_OK gets NEEDS_RESET */
	/* atomic: written by worker threads without the lock */
	_Atomic uint32_t interrupt_status;
	_Atomic uint32_t config_generation;
	_Atomic bool needs_reset;
};

/* Allocates the queues and eventfds. base: guest-physical window, gsi: interrupt line. */
int vmmio_init(struct vmmio *t, const struct vmmio_dev_ops *ops, void *dev,
	       const struct guest_memory *mem, uint64_t base, unsigned gsi) MUST_CHECK;
/* Resets an active device, detaches from KVM, closes the eventfds. */
void vmmio_destroy(struct vmmio *t);
/* Claim [base, base + LAYOUT_VIRTIO_MMIO_SIZE) on the MMIO bus. */
int vmmio_register(struct vmmio *t, struct bus *mmio) MUST_CHECK;
/* Bus callbacks: registers take aligned 32-bit accesses only, config space any width. */
void vmmio_bus_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
void vmmio_bus_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);

/* Everything offered: device bits plus VMMIO_TRANSPORT_FEATURES. */
uint64_t vmmio_device_features(const struct vmmio *t);
struct vq *vmmio_queue(struct vmmio *t, unsigned index); /* NULL when out of range */
int vmmio_notify_fd(const struct vmmio *t, unsigned index); /* -1 when out of range */
int vmmio_irq_fd(const struct vmmio *t);
/* Signal queue index's notify eventfd, as a guest notify does: wakes whoever waits on it. */
void vmmio_kick_queue(struct vmmio *t, unsigned index);
/* Is queue q served on the notifying vCPU thread (ops.vcpu_queues)? */
static inline bool vmmio_is_vcpu_queue(const struct vmmio *t, unsigned q)
{
	return q < t->ops.num_queues && (t->ops.vcpu_queues >> q & 1);
}

/* Interrupts, callable from any thread without the lock: set the status bit, kick irqfd. */
void vmmio_signal_used(struct vmmio *t);
void vmmio_signal_config(struct vmmio *t); /* also bumps ConfigGeneration */
/* Set DEVICE_NEEDS_RESET and tell the driver with a config-change interrupt (2.1.2). */
void vmmio_set_needs_reset(struct vmmio *t);
/* Push (head, len) and interrupt the guest if it asked for it. */
int vmmio_complete(struct vmmio *t, struct vq *vq, uint16_t head, uint32_t len) MUST_CHECK;

/*
 * KVM fast path (kvm_fds.c): one ioeventfd per queue on QUEUE_NOTIFY (4 bytes,
 * datamatch = queue index) and an irqfd on the GSI, so neither a notification nor an
 * interrupt needs a vCPU exit to userspace. With acks (the VM's coalesced ring), KVM also
 * queues InterruptACK writes there instead of exiting for each: every InterruptStatus read
 * and every interrupt the device raises drains the ring first, so the driver and the
 * device see exactly what immediate writes would give. Best effort: without the ring
 * the writes exit as before. Before the vCPUs run.
 */
int vmmio_kvm_attach(struct vmmio *t, int vm_fd, struct coalesced_mmio *acks) MUST_CHECK;
void vmmio_kvm_detach(struct vmmio *t);
/* The InterruptACK part of vmmio_kvm_attach, on its own for tests (a detached ring). */
int vmmio_queue_acks(struct vmmio *t, struct coalesced_mmio *c) MUST_CHECK;

#endif
