/* test_coalesced.c: queued (coalesced) MMIO writes are applied in order, and queued InterruptACKs never clear a newer event. */
#include <check.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include "check_run.h"
#include "vmmio_fixture.h"
#include "../vmm/coalesced_mmio.h"

#define RING_BYTES 4096U
#define ZONE_GPA 0x1000ULL

struct seen {
	uint64_t gpa[64];
	uint32_t value[64];
	unsigned n;
};

static void record(void *opaque, uint64_t gpa, const uint8_t *data, uint32_t len)
{
	struct seen *s = opaque;
	uint32_t v = 0;

	ck_assert_uint_lt(s->n, 64);
	memcpy(&v, data, len < sizeof(v) ? len : sizeof(v));
	s->gpa[s->n] = gpa;
	s->value[s->n++] = len == 4 ? v : 0xdeadU;
}

/* What KVM does for a guest write in a zone: the entry, then last moves on. */
static void kvm_queues(struct kvm_coalesced_mmio_ring *ring, unsigned max, uint64_t gpa,
		       uint32_t value, uint32_t len)
{
	struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[ring->last];

	memset(e, 0, sizeof(*e));
	e->phys_addr = gpa;
	e->len = len;
	memcpy(e->data, &value, sizeof(value));
	ring->last = (ring->last + 1) % max;
	ck_assert_uint_ne(ring->last, ring->first); /* KVM exits instead of filling it */
}

START_TEST(queued_writes_are_applied_in_order_across_the_wrap)
{
	struct kvm_coalesced_mmio_ring *ring = calloc(1, RING_BYTES);
	struct coalesced_mmio c;
	struct seen s = { .n = 0 };
	unsigned i, round;

	ck_assert_ptr_nonnull(ring);
	coalesced_mmio_init_detached(&c, ring, RING_BYTES);
	ck_assert_uint_gt(c.max_entries, 100);
	ck_assert_int_eq(coalesced_mmio_add(&c, ZONE_GPA, 8, record, &s), 0);
	coalesced_mmio_drain(&c); /* empty: nothing happens */
	ck_assert_uint_eq(s.n, 0);
	/* Start near the end of the ring so that the batches wrap around it. */
	ring->first = ring->last = c.max_entries - 5;
	for (round = 0; round < 4; round++) {
		s.n = 0;
		for (i = 0; i < 9; i++)
			kvm_queues(ring, c.max_entries, ZONE_GPA + (i & 1) * 4, round * 100 + i, 4);
		kvm_queues(ring, c.max_entries, ZONE_GPA + 0x100, 7, 4); /* in no zone: dropped */
		kvm_queues(ring, c.max_entries, ZONE_GPA, 9, 2);         /* a 2-byte write */
		coalesced_mmio_drain(&c);
		ck_assert_uint_eq(ring->first, ring->last);
		ck_assert_uint_eq(s.n, 10);
		for (i = 0; i < 9; i++) {
			ck_assert_uint_eq(s.value[i], round * 100 + i);
			ck_assert_uint_eq(s.gpa[i], ZONE_GPA + (i & 1) * 4);
		}
		ck_assert_uint_eq(s.value[9], 0xdeadU);
	}
	coalesced_mmio_destroy(&c);
	free(ring);
}
END_TEST

START_TEST(zones_are_bounded)
{
	struct kvm_coalesced_mmio_ring *ring = calloc(1, RING_BYTES);
	struct coalesced_mmio c;
	struct seen s;
	unsigned i;

	ck_assert_ptr_nonnull(ring);
	coalesced_mmio_init_detached(&c, ring, RING_BYTES);
	for (i = 0; i < COALESCED_MMIO_MAX_ZONES; i++)
		ck_assert_int_eq(coalesced_mmio_add(&c, ZONE_GPA + i * 0x100, 4, record, &s), 0);
	ck_assert_int_eq(coalesced_mmio_add(&c, 0, 4, record, &s), -ENOSPC);
	coalesced_mmio_destroy(&c);
	free(ring);
}
END_TEST

/* The guest writes InterruptACK; KVM queues it. */
static void guest_acks(struct coalesced_mmio *c, uint32_t bits)
{
	kvm_queues(c->ring, c->max_entries, BASE + VIRTIO_MMIO_INTERRUPT_ACK, bits, 4);
}

/*
 * The transport's InterruptACK goes through the ring. The guest reads the status, then
 * acknowledges it (queued); an interrupt raised after that acknowledgement must survive
 * it, however late the ring is drained.
 */
START_TEST(a_queued_ack_never_clears_a_later_interrupt)
{
	struct kvm_coalesced_mmio_ring *ring = calloc(1, RING_BYTES);
	struct coalesced_mmio c;
	struct fx f;

	ck_assert_ptr_nonnull(ring);
	coalesced_mmio_init_detached(&c, ring, RING_BYTES);
	fx_init(&f);
	ck_assert_int_eq(vmmio_queue_acks(&f.t, &c), 0);
	ck_assert_uint_eq(fake_mmio_bring_up(&f.t, F_V1, f.r, NQ),
			  ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	vmmio_signal_used(&f.t);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	/* Acknowledged: the next status read applies it first. */
	guest_acks(&c, VIRTIO_MMIO_INT_VRING);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* Acknowledged, not yet applied, then a new interrupt: the new bit stays. */
	vmmio_signal_used(&f.t);
	guest_acks(&c, VIRTIO_MMIO_INT_VRING);
	vmmio_signal_config(&f.t);
	vmmio_signal_used(&f.t);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS),
			  VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	/* Only the bits written are cleared; an ordinary (exiting) ACK still works too. */
	guest_acks(&c, VIRTIO_MMIO_INT_CONFIG);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr(&f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_uint_eq(ring->first, ring->last);
	fx_fini(&f);
	coalesced_mmio_destroy(&c);
	free(ring);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("coalesced_mmio");
	TCase *tc = tcase_create("ring");

	tcase_add_test(tc, queued_writes_are_applied_in_order_across_the_wrap);
	tcase_add_test(tc, zones_are_bounded);
	tcase_add_test(tc, a_queued_ack_never_clears_a_later_interrupt);
	suite_add_tcase(s, tc);
	return check_run(s);
}
