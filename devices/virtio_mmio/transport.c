/* transport.c: virtio-mmio version 2 register emulation, status machine and queue set-up. */
/*
 * Lock order: vmmio.lock -> (device locks taken inside ops callbacks) -> vq.lock.
 * vCPU threads take vmmio.lock on every register access. Device worker threads never
 * take it: they raise interrupts and DEVICE_NEEDS_RESET through atomics and the irqfd,
 * so a reset, which runs under vmmio.lock, may wait for workers to stop.
 *
 * Everything here is reachable from the guest: nothing exits or asserts, a bad access
 * reads as 0 or is ignored, and a bad set-up ends in DEVICE_NEEDS_RESET.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "transport.h"

#define VMMIO_STATUS_DRIVER_BITS                                                  \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |                     \
	 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FAILED)

static void eventfd_kick(int fd)
{
	uint64_t one = 1;

	/* Can only fail if the counter is at 2^64 - 2: the reader is gone; nothing to do. */
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		return;
}

static void eventfd_drain(int fd)
{
	uint64_t v;

	if (fd >= 0 && read(fd, &v, sizeof(v)) < 0)
		return;
}

static int vmmio_check_ops(const struct vmmio_dev_ops *ops)
{
	uint32_t qmax = ops->queue_max_size;

	if (ops->num_queues == 0 || ops->num_queues > VMMIO_MAX_QUEUES)
		return -EINVAL;
	if (qmax == 0 || qmax > VQ_MAX_SIZE || (qmax & (qmax - 1)))
		return -EINVAL;
	if (ops->config_len > VMMIO_CONFIG_MAX || (ops->config_len && !ops->config_read))
		return -EINVAL;
	if (!ops->activate || !ops->reset || ops->device_id == 0)
		return -EINVAL;
	return 0;
}

/* Queues [0, n) and their eventfds, then the irq eventfd. */
static void vmmio_free(struct vmmio *t, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		close(t->notify_fd[i]);
		vq_destroy(&t->queues[i]);
	}
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	free(t->queues);
	free(t->notify_fd);
	t->queues = NULL;
	t->notify_fd = NULL;
	t->irq_fd = -1;
}

static int vmmio_alloc(struct vmmio *t)
{
	unsigned i = 0, n = t->ops.num_queues;
	int ret = -ENOMEM;

	t->queues = calloc(n, sizeof(*t->queues));
	t->notify_fd = calloc(n, sizeof(*t->notify_fd));
	if (!t->queues || !t->notify_fd)
		goto fail;
	for (i = 0; i < n; i++) {
		ret = vq_init(&t->queues[i], (uint16_t)i, t->ops.queue_max_size, t->mem);
		if (ret)
			goto fail;
		t->notify_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->notify_fd[i] < 0) {
			ret = -errno;
			vq_destroy(&t->queues[i]);
			goto fail;
		}
	}
	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irq_fd >= 0)
		return 0;
	ret = -errno;
fail:
	vmmio_free(t, i);
	return ret;
}

int vmmio_init(struct vmmio *t, const struct vmmio_dev_ops *ops, void *dev,
	       const struct guest_memory *mem, uint64_t base, unsigned gsi)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->irq_fd = -1;
	t->vm_fd = -1;
	ret = vmmio_check_ops(ops);
	if (ret)
		return ret;
	t->ops = *ops;
	t->dev = dev;
	t->mem = mem;
	t->base = base;
	t->gsi = gsi;
	ret = pthread_mutex_init(&t->lock, NULL);
	if (ret)
		return -ret;
	ret = vmmio_alloc(t);
	if (ret)
		pthread_mutex_destroy(&t->lock);
	return ret;
}

/* ---- reset and the status machine (VIRTIO 1.2 2.1, 3.1.1) ---- */

static void vmmio_reset_locked(struct vmmio *t)
{
	unsigned i;

	/* The device stops first: no worker may touch a queue we are about to clear. */
	if (t->active)
		t->ops.reset(t->dev);
	t->active = false;
	for (i = 0; i < t->ops.num_queues; i++) {
		vq_reset(&t->queues[i]);
		eventfd_drain(t->notify_fd[i]);
	}
	t->status = 0;
	t->device_features_sel = 0;
	t->driver_features_sel = 0;
	t->driver_features = 0;
	t->queue_sel = 0;
	t->shm_sel = 0;
	t->queue_setup_failed = false;
	atomic_store(&t->interrupt_status, 0);
	atomic_store(&t->needs_reset, false);
}

void vmmio_destroy(struct vmmio *t)
{
	if (!t->queues)
		return;
	vmmio_kvm_detach(t);
	pthread_mutex_lock(&t->lock);
	vmmio_reset_locked(t);
	pthread_mutex_unlock(&t->lock);
	vmmio_free(t, t->ops.num_queues);
	pthread_mutex_destroy(&t->lock);
}

uint64_t vmmio_device_features(const struct vmmio *t)
{
	return t->ops.features | VMMIO_TRANSPORT_FEATURES;
}

/* 3.1.1 step 5: a subset of what we offered, and version 2 needs VERSION_1. */
static bool vmmio_features_acceptable(const struct vmmio *t)
{
	uint64_t f = t->driver_features;

	return !(f & ~vmmio_device_features(t)) && (f & (1ULL << VIRTIO_F_VERSION_1));
}

static void vmmio_driver_ok(struct vmmio *t)
{
	uint64_t f = t->driver_features;
	int ret;

	t->status |= VIRTIO_CONFIG_S_DRIVER_OK;
	if (t->queue_setup_failed) {
		/* Guest-caused and repeatable at will: only under --verbose. */
		log_info("%s: driver enabled a queue with a bad layout; device needs reset",
			 t->ops.name ? t->ops.name : "virtio-mmio");
		vmmio_set_needs_reset(t);
		return;
	}
	ret = t->ops.activate(t->dev, t->queues, t->ops.num_queues, f);
	if (ret) {
		log_error("%s: activation failed (%d); device needs reset",
			  t->ops.name ? t->ops.name : "virtio-mmio", ret);
		vmmio_set_needs_reset(t);
		return;
	}
	t->active = true;
}

/*
 * The driver only ever adds bits, in the order ACKNOWLEDGE, DRIVER, FEATURES_OK,
 * DRIVER_OK; 0 resets. A bit added out of order is dropped, and the driver sees that by
 * reading STATUS back (that is how a refused FEATURES_OK is reported).
 */
static void vmmio_write_status(struct vmmio *t, uint32_t v)
{
	uint32_t add, failed;

	if (v == 0) {
		vmmio_reset_locked(t);
		return;
	}
	v &= VMMIO_STATUS_DRIVER_BITS; /* NEEDS_RESET is ours; the driver echoes it back */
	if (t->status & ~v)
		return; /* clearing a bit is no transition of 3.1.1 */
	add = v & ~t->status;
	failed = (t->status | add) & VIRTIO_CONFIG_S_FAILED;
	if (add & VIRTIO_CONFIG_S_ACKNOWLEDGE)
		t->status |= VIRTIO_CONFIG_S_ACKNOWLEDGE;
	if ((add & VIRTIO_CONFIG_S_DRIVER) && (t->status & VIRTIO_CONFIG_S_ACKNOWLEDGE))
		t->status |= VIRTIO_CONFIG_S_DRIVER;
	if ((add & VIRTIO_CONFIG_S_FEATURES_OK) && !failed &&
	    (t->status & VIRTIO_CONFIG_S_DRIVER) && vmmio_features_acceptable(t))
		t->status |= VIRTIO_CONFIG_S_FEATURES_OK;
	if ((add & VIRTIO_CONFIG_S_DRIVER_OK) && !failed &&
	    (t->status & VIRTIO_CONFIG_S_FEATURES_OK))
		vmmio_driver_ok(t);
	if (add & VIRTIO_CONFIG_S_FAILED)
		t->status |= VIRTIO_CONFIG_S_FAILED;
}

static void vmmio_write_driver_features(struct vmmio *t, uint32_t v)
{
	unsigned shift;

	/* Only between DRIVER and FEATURES_OK: afterwards the features are final. */
	if ((t->status & (VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
			  VIRTIO_CONFIG_S_FAILED)) != VIRTIO_CONFIG_S_DRIVER)
		return;
	if (t->driver_features_sel > 1)
		return;
	shift = 32 * t->driver_features_sel;
	t->driver_features &= ~(0xffffffffULL << shift);
	t->driver_features |= (uint64_t)v << shift;
}

/* ---- queue registers ---- */

/* The one place QUEUE_SEL is checked (kvmtool's MMIO path forgot it). */
static struct vq *vmmio_selected_queue(struct vmmio *t)
{
	return t->queue_sel < t->ops.num_queues ? &t->queues[t->queue_sel] : NULL;
}

/* 4.2.3.2: queues are set up after FEATURES_OK and before DRIVER_OK. */
static struct vq *vmmio_setup_queue(struct vmmio *t)
{
	uint32_t s = t->status & (VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK |
				  VIRTIO_CONFIG_S_FAILED);

	if (s != VIRTIO_CONFIG_S_FEATURES_OK || atomic_load(&t->needs_reset))
		return NULL;
	return vmmio_selected_queue(t);
}

static void vmmio_write_queue_ready(struct vmmio *t, struct vq *vq, uint32_t v)
{
	uint64_t f = t->driver_features;
	int ret;

	if (v == 0) {
		vq_reset(vq);
		return;
	}
	if (vq_is_ready(vq))
		return;
	ret = vq_enable(vq, f & (1ULL << VIRTIO_RING_F_EVENT_IDX),
			f & (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	if (ret)
		t->queue_setup_failed = true;
}

static void vmmio_write_ring_half(struct vq *vq, enum vq_ring ring, bool high, uint32_t v)
{
	uint64_t gpa = vq_ring_addr(vq, ring);

	if (high)
		gpa = (gpa & 0xffffffffULL) | (uint64_t)v << 32;
	else
		gpa = (gpa & ~0xffffffffULL) | v;
	/* -EBUSY: rewriting a ready queue's rings is ignored (4.2.3.2 forbids it). */
	if (vq_set_ring_addr(vq, ring, gpa))
		return;
}

static void vmmio_write_queue_reg(struct vmmio *t, uint64_t offset, uint32_t v)
{
	struct vq *vq = vmmio_setup_queue(t);

	if (!vq)
		return;
	switch (offset) {
	case VIRTIO_MMIO_QUEUE_NUM:
		/* A size that is 0, above the maximum or not a power of two is not taken. */
		if (vq_set_size(vq, v))
			return;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		vmmio_write_queue_ready(t, vq, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		vmmio_write_ring_half(vq, VQ_RING_DESC, offset == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		vmmio_write_ring_half(vq, VQ_RING_AVAIL, offset == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, v);
		break;
	default:
		vmmio_write_ring_half(vq, VQ_RING_USED, offset == VIRTIO_MMIO_QUEUE_USED_HIGH, v);
		break;
	}
}

/* Also a QUEUE_NOTIFY that reached userspace: KVM had no ioeventfd (or no KVM: tests). */
void vmmio_kick_queue(struct vmmio *t, unsigned index)
{
	if (index < t->ops.num_queues)
		eventfd_kick(t->notify_fd[index]);
}

/* A queue served on the notifying vCPU thread (ops.vcpu_queues); the lock is not held. */
static bool vmmio_vcpu_notify(struct vmmio *t, uint64_t offset, const uint8_t *data,
			      uint32_t len)
{
	uint32_t index;

	if (offset != VIRTIO_MMIO_QUEUE_NOTIFY || len != 4 || !t->ops.notify)
		return false;
	memcpy(&index, data, sizeof(index));
	index = le32toh(index);
	if (!vmmio_is_vcpu_queue(t, index))
		return false;
	t->ops.notify(t->dev, index);
	return true;
}

/*
 * InterruptACK writes the guest made may still sit in KVM's coalesced ring: apply them
 * before the status is read or a bit is set, so that an acknowledgement is never applied
 * after, and never clears, an event raised after it.
 */
static void vmmio_apply_queued_acks(struct vmmio *t)
{
	if (t->acks)
		coalesced_mmio_drain(t->acks);
}

/* ---- register reads ---- */

static uint32_t vmmio_read_shm(struct vmmio *t, uint64_t offset)
{
	struct vmmio_shm_region r = { 0, 0 };
	uint64_t v;

	/* 4.2.2: a region that does not exist reads as length (and base) ~0. */
	if (!t->ops.shm_region || !t->ops.shm_region(t->dev, t->shm_sel, &r))
		r.base = r.len = ~0ULL;
	v = offset < VIRTIO_MMIO_SHM_BASE_LOW ? r.len : r.base;
	return offset & 4 ? (uint32_t)(v >> 32) : (uint32_t)v;
}

static uint32_t vmmio_read_queue_reg(struct vmmio *t, uint64_t offset)
{
	struct vq *vq = vmmio_selected_queue(t);

	if (!vq)
		return 0; /* QueueNumMax 0 tells the driver the queue does not exist */
	if (offset == VIRTIO_MMIO_QUEUE_NUM_MAX)
		return vq->max_size;
	return vq_is_ready(vq);
}

static uint32_t vmmio_read_features(struct vmmio *t)
{
	uint64_t f = vmmio_device_features(t);

	if (t->device_features_sel > 1)
		return 0;
	return (uint32_t)(f >> (32 * t->device_features_sel));
}

static uint32_t vmmio_read_reg(struct vmmio *t, uint64_t offset)
{
	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VMMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VMMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->ops.device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VMMIO_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return vmmio_read_features(t);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
	case VIRTIO_MMIO_QUEUE_READY:
		return vmmio_read_queue_reg(t, offset);
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		vmmio_apply_queued_acks(t);
		return atomic_load(&t->interrupt_status);
	case VIRTIO_MMIO_STATUS:
		return t->status | (atomic_load(&t->needs_reset) ? VIRTIO_CONFIG_S_NEEDS_RESET : 0);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return vmmio_read_shm(t, offset);
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return atomic_load(&t->config_generation);
	default:
		return 0; /* write-only, legacy-only and reserved registers */
	}
}

/* ---- register writes ---- */

static void vmmio_write_reg(struct vmmio *t, uint64_t offset, uint32_t v)
{
	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		vmmio_write_driver_features(t, v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		vmmio_write_queue_reg(t, offset, v);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		vmmio_kick_queue(t, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		atomic_fetch_and(&t->interrupt_status, ~v);
		break;
	case VIRTIO_MMIO_STATUS:
		vmmio_write_status(t, v);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		t->shm_sel = v;
		break;
	default:
		break; /* read-only, legacy (GUEST_PAGE_SIZE, QUEUE_PFN, ...) and reserved */
	}
}

/* ---- bus callbacks ---- */

/* Config space takes any width, but only wholly inside the device's config. */
static bool vmmio_config_range(const struct vmmio *t, uint64_t offset, uint32_t len,
			       uint32_t *off)
{
	uint64_t o = offset - VIRTIO_MMIO_CONFIG;

	if (o >= t->ops.config_len || len > t->ops.config_len - o)
		return false;
	*off = (uint32_t)o;
	return true;
}

void vmmio_bus_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct vmmio *t = opaque;
	uint32_t off, v;

	memset(data, 0, len);
	pthread_mutex_lock(&t->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		if (vmmio_config_range(t, offset, len, &off))
			t->ops.config_read(t->dev, off, data, len);
	} else if (len == 4 && (offset & 3) == 0) {
		v = htole32(vmmio_read_reg(t, offset));
		memcpy(data, &v, sizeof(v));
	}
	pthread_mutex_unlock(&t->lock);
}

void vmmio_bus_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct vmmio *t = opaque;
	uint32_t off, v;

	if (vmmio_vcpu_notify(t, offset, data, len))
		return;
	pthread_mutex_lock(&t->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		if (t->ops.config_write && vmmio_config_range(t, offset, len, &off))
			t->ops.config_write(t->dev, off, data, len);
	} else if (len == 4 && (offset & 3) == 0) {
		memcpy(&v, data, sizeof(v));
		vmmio_write_reg(t, offset, le32toh(v));
	}
	pthread_mutex_unlock(&t->lock);
}

int vmmio_register(struct vmmio *t, struct bus *mmio)
{
	struct bus_range r = {
		.base = t->base,
		.len = LAYOUT_VIRTIO_MMIO_SIZE,
		.name = t->ops.name ? t->ops.name : "virtio-mmio",
		.opaque = t,
		.read = vmmio_bus_read,
		.write = vmmio_bus_write,
	};

	return bus_register(mmio, &r);
}

/* ---- accessors and interrupts ---- */

struct vq *vmmio_queue(struct vmmio *t, unsigned index)
{
	return index < t->ops.num_queues ? &t->queues[index] : NULL;
}

int vmmio_notify_fd(const struct vmmio *t, unsigned index)
{
	return index < t->ops.num_queues ? t->notify_fd[index] : -1;
}

int vmmio_irq_fd(const struct vmmio *t)
{
	return t->irq_fd;
}

/* Queued acknowledgements first (vmmio_apply_queued_acks), then the bits, then the edge. */
static void vmmio_raise(struct vmmio *t, uint32_t bits)
{
	vmmio_apply_queued_acks(t);
	atomic_fetch_or(&t->interrupt_status, bits);
	eventfd_kick(t->irq_fd);
}

void vmmio_signal_used(struct vmmio *t)
{
	vmmio_raise(t, VIRTIO_MMIO_INT_VRING);
}

void vmmio_signal_config(struct vmmio *t)
{
	atomic_fetch_add(&t->config_generation, 1);
	vmmio_raise(t, VIRTIO_MMIO_INT_CONFIG);
}

void vmmio_set_needs_reset(struct vmmio *t)
{
	atomic_store(&t->needs_reset, true);
	vmmio_raise(t, VIRTIO_MMIO_INT_CONFIG);
}

int vmmio_complete(struct vmmio *t, struct vq *vq, uint16_t head, uint32_t len)
{
	bool notify;
	int ret = vq_push_notify(vq, head, len, &notify);

	if (ret == 0 && notify)
		vmmio_signal_used(t);
	return ret;
}
