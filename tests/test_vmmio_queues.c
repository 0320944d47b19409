/* test_vmmio_queues.c: virtio-mmio queue set-up, notifications and a request round trip. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vmmio_fixture.h"

START_TEST(queue_setup_is_refused_before_features_ok)
{
	struct fx f;

	fx_init(&f);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
	fake_mmio_setup_queue(&f.t, &f.r[0], 0);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(vq_ring_addr(vmmio_queue(&f.t, 0), VQ_RING_USED), 0);
	ck_assert_uint_eq(vmmio_queue(&f.t, 0)->size, 0);
	fx_fini(&f);
}
END_TEST

START_TEST(queue_setup_is_refused_after_driver_ok)
{
	struct fx f;

	fx_init(&f);
	to_features_ok(&f, F_V1);
	fake_mmio_setup_queue(&f.t, &f.r[0], 0);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	ck_assert_uint_eq(f.d.activations, 1);
	/* Queue 1 was never set up, and now cannot be; queue 0 cannot be torn down. */
	fake_mmio_setup_queue(&f.t, &f.r[1], 1);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(&f, VIRTIO_MMIO_QUEUE_READY, 0);
	wr(&f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_QUEUE_READY), 1);
	ck_assert_uint_eq(vq_ring_addr(vmmio_queue(&f.t, 0), VQ_RING_DESC), f.r[0].desc_gpa);
	fx_fini(&f);
}
END_TEST

START_TEST(bad_queue_select_is_checked)
{
	struct fx f;
	uint32_t sel[] = { NQ, NQ + 1, 0xffffffffU };
	unsigned i;

	fx_init(&f);
	to_features_ok(&f, F_V1);
	for (i = 0; i < ARRAY_SIZE(sel); i++) {
		wr(&f, VIRTIO_MMIO_QUEUE_SEL, sel[i]);
		ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
		wr(&f, VIRTIO_MMIO_QUEUE_NUM, 4);
		wr(&f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
		wr(&f, VIRTIO_MMIO_QUEUE_READY, 1);
		ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);
		wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, sel[i]);
	}
	/* Nothing leaked into the real queues. */
	for (i = 0; i < NQ; i++) {
		ck_assert_uint_eq(vmmio_queue(&f.t, i)->size, 0);
		ck_assert_uint_eq(vq_ring_addr(vmmio_queue(&f.t, i), VQ_RING_DESC), 0);
	}
	ck_assert_ptr_null(vmmio_queue(&f.t, NQ));
	ck_assert_int_eq(vmmio_notify_fd(&f.t, NQ), -1);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 1);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
	fx_fini(&f);
}
END_TEST

START_TEST(queue_size_must_be_a_power_of_two_within_the_maximum)
{
	static const uint32_t bad[] = { 0, 3, 12, 2 * QMAX, 0x10000 };
	struct fx f;
	unsigned i;

	fx_init(&f);
	to_features_ok(&f, F_V1);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		wr(&f, VIRTIO_MMIO_QUEUE_NUM, bad[i]);
		ck_assert_uint_eq(vmmio_queue(&f.t, 0)->size, 0);
	}
	/* With no valid size the queue cannot go ready, and DRIVER_OK then needs reset. */
	wr(&f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)f.r[0].desc_gpa);
	wr(&f, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)f.r[0].avail_gpa);
	wr(&f, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)f.r[0].used_gpa);
	wr(&f, VIRTIO_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(&f, VIRTIO_MMIO_QUEUE_NUM, 4);
	ck_assert_uint_eq(vmmio_queue(&f.t, 0)->size, 4);
	fx_fini(&f);
}
END_TEST

START_TEST(rings_outside_ram_end_in_needs_reset)
{
	struct fx f;

	fx_init(&f);
	to_features_ok(&f, F_V1);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(&f, VIRTIO_MMIO_QUEUE_NUM, QMAX);
	wr(&f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	wr(&f, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x10); /* 64 GiB: no RAM there */
	wr(&f, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)f.r[0].avail_gpa);
	wr(&f, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)f.r[0].used_gpa);
	wr(&f, VIRTIO_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	ck_assert_uint_eq(f.d.activations, 0);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS),
			  ST_ACK | ST_DRV | ST_FOK | ST_DOK | VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	ck_assert_uint_eq(irq_count(&f), 1);
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), 0);
	fx_fini(&f);
}
END_TEST

START_TEST(activation_passes_ready_queues_with_negotiated_ring_features)
{
	struct fx f;
	struct vq *q0;

	fx_init(&f);
	ck_assert_uint_eq(fake_mmio_bring_up(&f.t, F_V1 | F_EVENT, f.r, 1),
			  ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	ck_assert_ptr_eq(f.d.queues, vmmio_queue(&f.t, 0));
	q0 = vmmio_queue(&f.t, 0);
	ck_assert(vq_is_ready(q0));
	ck_assert(q0->event_idx);
	ck_assert(!q0->indirect);
	ck_assert_uint_eq(q0->size, QMAX);
	ck_assert(!vq_is_ready(vmmio_queue(&f.t, 1)));
	fx_fini(&f);
	ck_assert_uint_eq(f.d.resets, 1); /* destroy stops an active device */
}
END_TEST

START_TEST(queue_notify_kicks_the_eventfd_or_calls_the_vcpu_hook)
{
	struct fx f;
	uint64_t v = 0;

	fx_init(&f);
	ck_assert_uint_eq(fake_mmio_bring_up(&f.t, F_V1, f.r, NQ),
			  ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	ck_assert(!vmmio_is_vcpu_queue(&f.t, 0));
	ck_assert(vmmio_is_vcpu_queue(&f.t, 1));
	ck_assert(!vmmio_is_vcpu_queue(&f.t, NQ));
	/* Queue 1 is served on the notifying thread: the hook, and no eventfd signal. */
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	ck_assert_uint_eq(f.d.notifies, 1);
	ck_assert_uint_eq(f.d.last_notify, 1);
	ck_assert_int_eq(read(vmmio_notify_fd(&f.t, 1), &v, sizeof(v)), -1);
	/* Queue 0 is the workers': its eventfd, and no hook. */
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(f.d.notifies, 1);
	ck_assert_int_eq(read(vmmio_notify_fd(&f.t, 0), &v, sizeof(v)), sizeof(v));
	ck_assert_uint_eq(v, 1);
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, NQ); /* no such queue */
	ck_assert_uint_eq(f.d.notifies, 1);
	fx_fini(&f);
}
END_TEST

START_TEST(a_request_travels_from_driver_to_device_and_back)
{
	struct fx f;
	uint64_t req, resp;
	uint32_t id, len;
	uint16_t head;

	fx_init(&f);
	f.d.serve_on_notify = true;
	ck_assert_uint_eq(fake_mmio_bring_up(&f.t, F_V1 | F_EVENT, f.r, NQ),
			  ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	req = fake_alloc(&f.m, 8, 16);
	resp = fake_alloc(&f.m, 8, 16);
	memcpy(fake_host(&f.m, req), "ping", 4);
	head = fake_chain(&f.r[1], (struct fake_seg[]){ { req, 4, false }, { resp, 8, true } }, 2);
	fake_publish(&f.r[1], head);
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	ck_assert(fake_ring_get_used(&f.r[1], &id, &len));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(fake_host(&f.m, resp), "pong", 4);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	ck_assert_uint_eq(irq_count(&f), 1);
	wr(&f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	/* The guest asks for no interrupt until used index 5: the next reply is silent. */
	fake_set_used_event(&f.r[1], 5);
	fake_publish(&f.r[1], head);
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	ck_assert(fake_ring_get_used(&f.r[1], &id, &len));
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_uint_eq(irq_count(&f), 0);
	fx_fini(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vmmio_queues");
	TCase *queues = tcase_create("queues");
	SRunner *sr;
	int failed;

	tcase_add_test(queues, queue_setup_is_refused_before_features_ok);
	tcase_add_test(queues, queue_setup_is_refused_after_driver_ok);
	tcase_add_test(queues, bad_queue_select_is_checked);
	tcase_add_test(queues, queue_size_must_be_a_power_of_two_within_the_maximum);
	tcase_add_test(queues, rings_outside_ram_end_in_needs_reset);
	tcase_add_test(queues, activation_passes_ready_queues_with_negotiated_ring_features);
	tcase_add_test(queues, queue_notify_kicks_the_eventfd_or_calls_the_vcpu_hook);
	tcase_add_test(queues, a_request_travels_from_driver_to_device_and_back);
	suite_add_tcase(s, queues);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
