/* mg_timing.c: the cost of one trap per kind of virtio-mmio access, for the round-trip budget. */
/*
 * A FUSE round trip in the guest costs one notify (QUEUE_NOTIFY: KVM completes it in the
 * kernel through the queue's ioeventfd, or, for a queue served on the vCPU, hands it to
 * microvm's vCPU thread) and, per interrupt, a read of INTERRUPT_STATUS, which KVM hands
 * to the vCPU thread, and a write of INTERRUPT_ACK, which KVM queues in its coalesced
 * ring without an exit. This times n of each kind on window 0, whose first queue has an
 * ioeventfd from start-up on (the device is not started, so its parked worker only finds
 * a higher count later); the acknowledgements in batches that fit the ring, each followed
 * (untimed) by a status read, which drains it.
 */
#define MG_ACK_BATCH 100U
#include <time.h>
#include "mmio_garbage.h"

static double elapsed_us(const struct timespec *a, unsigned n)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((double)(b.tv_sec - a->tv_sec) * 1e9 + (double)(b.tv_nsec - a->tv_nsec)) / 1e3 / n;
}

void mg_time_exits(struct mg *m, unsigned n)
{
	volatile uint32_t *magic = (volatile uint32_t *)(m->win + VIRTIO_MMIO_MAGIC_VALUE);
	volatile uint32_t *notify = (volatile uint32_t *)(m->win + VIRTIO_MMIO_QUEUE_NOTIFY);
	volatile uint32_t *sel = (volatile uint32_t *)(m->win + VIRTIO_MMIO_QUEUE_SEL);
	volatile uint32_t *ack = (volatile uint32_t *)(m->win + VIRTIO_MMIO_INTERRUPT_ACK);
	volatile uint32_t *status = (volatile uint32_t *)(m->win + VIRTIO_MMIO_INTERRUPT_STATUS);
	double read_us, notify_us, write_us, ack_us = 0;
	struct timespec t;
	unsigned i, b;

	if (n == 0 || !m->dev[0].present)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (i = 0; i < n; i++)
		(void)*magic;
	read_us = elapsed_us(&t, n);
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (i = 0; i < n; i++)
		*notify = 0;
	notify_us = elapsed_us(&t, n);
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (i = 0; i < n; i++)
		*sel = 0;
	write_us = elapsed_us(&t, n);
	for (b = 0; b < n / MG_ACK_BATCH; b++) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		for (i = 0; i < MG_ACK_BATCH; i++)
			*ack = 0; /* acknowledges nothing */
		ack_us += elapsed_us(&t, n);
		(void)*status;
	}
	printf("MMIOGARBAGE exits n=%u register_read_us=%.1f register_write_us=%.1f "
	       "notify_in_kernel_us=%.1f interrupt_ack_us=%.1f\n", n, read_us, write_us, notify_us,
	       ack_us);
}
