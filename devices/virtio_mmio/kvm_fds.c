/* kvm_fds.c: wire a virtio-mmio transport's eventfds into KVM (ioeventfd per queue, irqfd). */
#include <errno.h>
#include <endian.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>
#include "transport.h"

/*
 * QUEUE_NOTIFY writes carry the queue index (no VIRTIO_F_NOTIFICATION_DATA), so one
 * datamatch ioeventfd per queue lets KVM complete the write in the kernel and wake the
 * queue's worker directly. Writes with any other value still exit to userspace, where
 * vmmio_bus_write ignores an index out of range.
 */
static int vmmio_ioeventfd(const struct vmmio *t, int vm_fd, unsigned q, uint32_t flags)
{
	struct kvm_ioeventfd io;

	memset(&io, 0, sizeof(io));
	io.datamatch = q;
	io.addr = t->base + VIRTIO_MMIO_QUEUE_NOTIFY;
	io.len = 4;
	io.fd = t->notify_fd[q];
	io.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | flags;
	return ioctl(vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

/* Without KVM_IRQFD_FLAG_RESAMPLE KVM pulses the line: the DSDT declares it edge. */
static int vmmio_irqfd(const struct vmmio *t, int vm_fd, uint32_t flags)
{
	struct kvm_irqfd irqfd;

	memset(&irqfd, 0, sizeof(irqfd));
	irqfd.fd = (uint32_t)t->irq_fd;
	irqfd.gsi = t->gsi;
	irqfd.flags = flags;
	return ioctl(vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}

static void vmmio_ioeventfd_unwind(const struct vmmio *t, int vm_fd, unsigned n)
{
	while (n--) {
		if (vmmio_is_vcpu_queue(t, n))
			continue; /* never assigned */
		/* Deassigning what we assigned a moment ago cannot sensibly fail. */
		if (vmmio_ioeventfd(t, vm_fd, n, KVM_IOEVENTFD_FLAG_DEASSIGN))
			log_error("virtio-mmio: cannot remove ioeventfd of queue %u", n);
	}
}

int vmmio_kvm_attach(struct vmmio *t, int vm_fd, struct coalesced_mmio *acks)
{
	unsigned q;
	int ret;

	if (t->vm_fd >= 0)
		return -EBUSY;
	for (q = 0; q < t->ops.num_queues; q++) {
		if (vmmio_is_vcpu_queue(t, q))
			continue; /* its QUEUE_NOTIFY must reach the vCPU thread */
		ret = vmmio_ioeventfd(t, vm_fd, q, 0);
		if (ret) {
			vmmio_ioeventfd_unwind(t, vm_fd, q);
			return ret;
		}
	}
	ret = vmmio_irqfd(t, vm_fd, 0);
	if (ret) {
		vmmio_ioeventfd_unwind(t, vm_fd, t->ops.num_queues);
		return ret;
	}
	t->vm_fd = vm_fd;
	/* Best effort: without a coalesced ring each InterruptACK exits, as it always did. */
	ret = acks ? vmmio_queue_acks(t, acks) : 0;
	if (ret)
		log_debug("virtio-mmio at 0x%llx: InterruptACK writes exit (%s)",
			  (unsigned long long)t->base, strerror(-ret));
	return 0;
}

void vmmio_kvm_detach(struct vmmio *t)
{
	if (t->vm_fd < 0)
		return;
	if (vmmio_irqfd(t, t->vm_fd, KVM_IRQFD_FLAG_DEASSIGN))
		log_error("virtio-mmio: cannot remove irqfd of gsi %u", t->gsi);
	vmmio_ioeventfd_unwind(t, t->vm_fd, t->ops.num_queues);
	t->vm_fd = -1;
}

/* A queued InterruptACK, applied by whoever drains: atomics only, no transport lock. */
static void vmmio_queued_ack(void *opaque, uint64_t gpa, const uint8_t *data, uint32_t len)
{
	struct vmmio *t = opaque;
	uint32_t v;

	(void)gpa;
	if (len != sizeof(v))
		return; /* the register takes 32-bit writes only, as vmmio_bus_write does */
	memcpy(&v, data, sizeof(v));
	atomic_fetch_and(&t->interrupt_status, ~le32toh(v));
}

int vmmio_queue_acks(struct vmmio *t, struct coalesced_mmio *c)
{
	int ret = coalesced_mmio_add(c, t->base + VIRTIO_MMIO_INTERRUPT_ACK, 4, vmmio_queued_ack,
				     t);

	if (ret == 0)
		t->acks = c;
	return ret;
}
