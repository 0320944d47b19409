/* test_vmmio.c: virtio-mmio registers, feature negotiation and status machine, driven as a driver. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "vmmio_fixture.h"

START_TEST(identity_registers_read_as_linux_expects)
{
	struct fx f;

	fx_init(&f);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_VERSION), 2);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_DEVICE_ID), DEV_ID);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_VENDOR_ID), VMMIO_VENDOR_ID);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), 0);
	/* Legacy-only and reserved registers read 0 and ignore writes. */
	wr(&f, VIRTIO_MMIO_GUEST_PAGE_SIZE, 4096);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_GUEST_PAGE_SIZE), 0);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_QUEUE_PFN), 0);
	ck_assert_uint_eq(rd(&f, 0x0f8), 0);
	fx_fini(&f);
}
END_TEST

START_TEST(device_features_are_paged_by_the_selector)
{
	struct fx f;
	uint64_t want = DEV_FEATURE | F_V1 | F_EVENT | (1ULL << VIRTIO_RING_F_INDIRECT_DESC);

	fx_init(&f);
	ck_assert_uint_eq(vmmio_device_features(&f.t), want);
	wr(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)want);
	wr(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)(want >> 32));
	wr(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	fx_fini(&f);
}
END_TEST

START_TEST(features_ok_is_kept_for_a_valid_subset)
{
	struct fx f;

	fx_init(&f);
	to_features_ok(&f, F_V1 | DEV_FEATURE);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	ck_assert_uint_eq(f.d.activations, 1);
	ck_assert_uint_eq(f.d.activated_features, F_V1 | DEV_FEATURE);
	fx_fini(&f);
}
END_TEST

START_TEST(features_ok_is_refused_without_version_1)
{
	struct fx f;

	fx_init(&f);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
	set_driver_features(&f, DEV_FEATURE | F_EVENT);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	/* And DRIVER_OK cannot follow. */
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS) & (ST_FOK | ST_DOK), 0);
	ck_assert_uint_eq(f.d.activations, 0);
	fx_fini(&f);
}
END_TEST

START_TEST(features_ok_is_refused_with_bits_we_never_offered)
{
	struct fx f;

	fx_init(&f);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
	set_driver_features(&f, F_V1 | (1ULL << 5));
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	/* VIRTIO_F_RING_PACKED (34) is not offered either. */
	set_driver_features(&f, F_V1 | (1ULL << VIRTIO_F_RING_PACKED));
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	/* The driver may try again with an acceptable set. */
	set_driver_features(&f, F_V1);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK);
	fx_fini(&f);
}
END_TEST

START_TEST(driver_features_are_frozen_outside_the_negotiation_window)
{
	struct fx f;

	fx_init(&f);
	/* Before DRIVER: ignored, so FEATURES_OK later lacks VERSION_1 and is refused. */
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK);
	set_driver_features(&f, F_V1);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	/* After FEATURES_OK: ignored, activation sees the negotiated set. */
	set_driver_features(&f, F_V1 | F_EVENT);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK);
	set_driver_features(&f, F_V1 | DEV_FEATURE);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	ck_assert_uint_eq(f.d.activated_features, F_V1 | F_EVENT);
	fx_fini(&f);
}
END_TEST

START_TEST(status_bits_must_come_in_order_and_never_clear)
{
	struct fx f;

	fx_init(&f);
	wr(&f, VIRTIO_MMIO_STATUS, ST_DRV); /* DRIVER without ACKNOWLEDGE */
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), 0);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV); /* both at once, in order: fine */
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_DOK); /* DRIVER_OK before FEATURES_OK */
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK); /* clearing DRIVER is not a transition */
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	/* Narrow writes to registers are ignored. */
	vmmio_bus_write(&f.t, VIRTIO_MMIO_STATUS, (const uint8_t *)"\0", 1);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	/* FAILED is always accepted, and then DRIVER_OK is not. */
	set_driver_features(&f, F_V1);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | VIRTIO_CONFIG_S_FAILED);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | VIRTIO_CONFIG_S_FAILED | ST_FOK | ST_DOK);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | VIRTIO_CONFIG_S_FAILED);
	ck_assert_uint_eq(f.d.activations, 0);
	fx_fini(&f);
}
END_TEST

/* Drive the device to one of the states, then write 0 and check everything is clear. */
static void reset_from(uint32_t state)
{
	struct fx f;
	uint32_t s = 0;

	fx_init(&f);
	wr(&f, VIRTIO_MMIO_STATUS, ST_ACK);
	if (state & ST_DRV) {
		wr(&f, VIRTIO_MMIO_STATUS, s = ST_ACK | ST_DRV);
		set_driver_features(&f, F_V1 | F_EVENT);
	}
	if (state & ST_FOK) {
		wr(&f, VIRTIO_MMIO_STATUS, s |= ST_FOK);
		fake_mmio_setup_queue(&f.t, &f.r[0], 0);
	}
	if (state & ST_DOK)
		wr(&f, VIRTIO_MMIO_STATUS, s |= ST_DOK);
	if (state & VIRTIO_CONFIG_S_FAILED)
		wr(&f, VIRTIO_MMIO_STATUS, ST_ACK | s | VIRTIO_CONFIG_S_FAILED);
	vmmio_signal_used(&f.t);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS) & state, state);
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), 0);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_uint_eq(f.d.resets, (state & ST_DOK) ? 1 : 0);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(vq_ring_addr(vmmio_queue(&f.t, 0), VQ_RING_DESC), 0);
	ck_assert_uint_eq(f.t.driver_features, 0);
	/* And the device comes up again from scratch. */
	ck_assert_uint_eq(fake_mmio_bring_up(&f.t, F_V1, f.r, NQ),
			  ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	fx_fini(&f);
}

START_TEST(reset_works_from_every_state)
{
	reset_from(ST_ACK);
	reset_from(ST_ACK | ST_DRV);
	reset_from(ST_ACK | ST_DRV | ST_FOK);
	reset_from(ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	reset_from(ST_ACK | VIRTIO_CONFIG_S_FAILED);
	reset_from(ST_ACK | ST_DRV | ST_FOK | ST_DOK | VIRTIO_CONFIG_S_FAILED);
}
END_TEST

START_TEST(activation_failure_sets_needs_reset)
{
	struct fx f;

	fx_init(&f);
	f.d.activate_ret = -ENOMEM;
	ck_assert_uint_eq(fake_mmio_bring_up(&f.t, F_V1, f.r, NQ),
			  ST_ACK | ST_DRV | ST_FOK | ST_DOK | VIRTIO_CONFIG_S_NEEDS_RESET);
	/* The driver echoing NEEDS_RESET back in a status write changes nothing. */
	wr(&f, VIRTIO_MMIO_STATUS,
	   ST_ACK | ST_DRV | ST_FOK | ST_DOK | VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
			  VIRTIO_CONFIG_S_NEEDS_RESET);
	/* The device never became active, so reset does not call it. */
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(f.d.resets, 0);
	fx_fini(&f);
}
END_TEST

static uint64_t shm_read(struct fx *f, uint64_t lo)
{
	return rd(f, lo) | (uint64_t)rd(f, lo + 4) << 32;
}

START_TEST(shared_memory_regions_read_all_ones_when_absent)
{
	struct fx f;

	fx_init(&f);
	ck_assert_uint_eq(shm_read(&f, VIRTIO_MMIO_SHM_LEN_LOW), ~0ULL);
	ck_assert_uint_eq(shm_read(&f, VIRTIO_MMIO_SHM_BASE_LOW), ~0ULL);
	f.d.has_shm = true;
	wr(&f, VIRTIO_MMIO_SHM_SEL, 0);
	ck_assert_uint_eq(shm_read(&f, VIRTIO_MMIO_SHM_LEN_LOW), 0x40000000ULL);
	ck_assert_uint_eq(shm_read(&f, VIRTIO_MMIO_SHM_BASE_LOW), 0x123456789000ULL);
	wr(&f, VIRTIO_MMIO_SHM_SEL, 1);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffU);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffffU);
	ck_assert_uint_eq(shm_read(&f, VIRTIO_MMIO_SHM_BASE_LOW), ~0ULL);
	fx_fini(&f);
}
END_TEST

START_TEST(a_device_without_shm_op_has_no_regions)
{
	struct vmmio_dev_ops ops = t_ops;
	struct fake_mem m;
	struct tdev d;
	struct vmmio t;

	memset(&d, 0, sizeof(d));
	ops.shm_region = NULL;
	ck_assert_int_eq(fake_mem_init(&m, 1 << 20), 0);
	ck_assert_int_eq(vmmio_init(&t, &ops, &d, &m.mem, BASE, 16), 0);
	ck_assert_uint_eq(fake_mmio_read(&t, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffU);
	ck_assert_uint_eq(fake_mmio_read(&t, VIRTIO_MMIO_SHM_BASE_HIGH), 0xffffffffU);
	vmmio_destroy(&t);
	fake_mem_destroy(&m);
}
END_TEST

START_TEST(config_space_reads_take_any_width_within_bounds)
{
	struct fx f;
	uint8_t b[8];

	fx_init(&f);
	vmmio_bus_read(&f.t, VIRTIO_MMIO_CONFIG + 3, b, 1);
	ck_assert_uint_eq(b[0], 0xa3);
	vmmio_bus_read(&f.t, VIRTIO_MMIO_CONFIG + 1, b, 2);
	ck_assert_mem_eq(b, "\xa1\xa2", 2);
	vmmio_bus_read(&f.t, VIRTIO_MMIO_CONFIG + 8, b, 4);
	ck_assert_mem_eq(b, "\xa8\xa9\xaa\xab", 4);
	vmmio_bus_read(&f.t, VIRTIO_MMIO_CONFIG + 4, b, 8);
	ck_assert_mem_eq(b, "\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab", 8);
	/* Straddling the end, or wholly past it: zeros, and the device is not asked. */
	memset(b, 0x55, sizeof(b));
	vmmio_bus_read(&f.t, VIRTIO_MMIO_CONFIG + 10, b, 4);
	ck_assert_mem_eq(b, "\0\0\0\0", 4);
	vmmio_bus_read(&f.t, VIRTIO_MMIO_CONFIG + 12, b, 1);
	ck_assert_uint_eq(b[0], 0);
	vmmio_bus_read(&f.t, LAYOUT_VIRTIO_MMIO_SIZE - 4, b, 4);
	ck_assert_mem_eq(b, "\0\0\0\0", 4);
	fx_fini(&f);
}
END_TEST

START_TEST(config_space_writes_stay_within_bounds)
{
	struct fx f;

	fx_init(&f);
	vmmio_bus_write(&f.t, VIRTIO_MMIO_CONFIG + 2, (const uint8_t *)"\x11\x22", 2);
	ck_assert_uint_eq(f.d.config_writes, 1);
	ck_assert_mem_eq(f.d.written + 2, "\x11\x22", 2);
	vmmio_bus_write(&f.t, VIRTIO_MMIO_CONFIG + 11, (const uint8_t *)"\x33\x44", 2);
	vmmio_bus_write(&f.t, VIRTIO_MMIO_CONFIG + 0x200, (const uint8_t *)"\x33", 1);
	ck_assert_uint_eq(f.d.config_writes, 1);
	fx_fini(&f);
}
END_TEST

START_TEST(registers_take_aligned_32_bit_accesses_only)
{
	struct fx f;
	uint8_t b[8];

	fx_init(&f);
	memset(b, 0x55, sizeof(b));
	vmmio_bus_read(&f.t, VIRTIO_MMIO_MAGIC_VALUE, b, 2);
	ck_assert_mem_eq(b, "\0\0", 2);
	vmmio_bus_read(&f.t, VIRTIO_MMIO_MAGIC_VALUE, b, 8);
	ck_assert_mem_eq(b, "\0\0\0\0\0\0\0\0", 8);
	vmmio_bus_read(&f.t, VIRTIO_MMIO_MAGIC_VALUE + 1, b, 4);
	ck_assert_mem_eq(b, "\0\0\0\0", 4);
	vmmio_bus_write(&f.t, VIRTIO_MMIO_STATUS, (const uint8_t *)"\x01\0", 2);
	vmmio_bus_write(&f.t, VIRTIO_MMIO_STATUS + 2, (const uint8_t *)"\x01\0\0\0", 4);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), 0);
	fx_fini(&f);
}
END_TEST

START_TEST(interrupt_status_is_set_signalled_and_acknowledged)
{
	struct fx f;

	fx_init(&f);
	ck_assert_uint_eq(irq_count(&f), 0);
	vmmio_signal_used(&f.t);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	ck_assert_uint_eq(irq_count(&f), 1);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	vmmio_signal_config(&f.t);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_CONFIG_GENERATION), 1);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS),
			  VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	wr(&f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr(&f, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffffU);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* The status register is read-only. */
	wr(&f, VIRTIO_MMIO_INTERRUPT_STATUS, 3);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	fx_fini(&f);
}
END_TEST

START_TEST(needs_reset_from_a_worker_raises_a_config_interrupt)
{
	struct fx f;

	fx_init(&f);
	ck_assert_uint_eq(fake_mmio_bring_up(&f.t, F_V1, f.r, NQ),
			  ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	vmmio_set_needs_reset(&f.t);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
			  VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	ck_assert_uint_eq(irq_count(&f), 1);
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(f.d.resets, 1);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), 0);
	fx_fini(&f);
}
END_TEST

START_TEST(the_transport_registers_its_window_on_the_bus)
{
	struct fx f;
	struct bus bus = { .n = 0 };
	uint8_t b[4];
	uint32_t magic;

	fx_init(&f);
	ck_assert_int_eq(vmmio_register(&f.t, &bus), 0);
	ck_assert(bus_read(&bus, BASE + VIRTIO_MMIO_MAGIC_VALUE, b, 4));
	memcpy(&magic, b, 4);
	ck_assert_uint_eq(magic, VMMIO_MAGIC);
	ck_assert_ptr_nonnull(bus_find(&bus, BASE + LAYOUT_VIRTIO_MMIO_SIZE - 1, 1));
	ck_assert_ptr_null(bus_find(&bus, BASE + LAYOUT_VIRTIO_MMIO_SIZE, 1));
	ck_assert_int_eq(vmmio_register(&f.t, &bus), -EEXIST);
	fx_fini(&f);
}
END_TEST

START_TEST(init_refuses_impossible_devices)
{
	struct vmmio_dev_ops ops;
	struct fake_mem m;
	struct vmmio t;

	ck_assert_int_eq(fake_mem_init(&m, 1 << 20), 0);
	ops = t_ops;
	ops.num_queues = 0;
	ck_assert_int_eq(vmmio_init(&t, &ops, NULL, &m.mem, BASE, 16), -EINVAL);
	ops = t_ops;
	ops.queue_max_size = 12;
	ck_assert_int_eq(vmmio_init(&t, &ops, NULL, &m.mem, BASE, 16), -EINVAL);
	ops = t_ops;
	ops.config_len = VMMIO_CONFIG_MAX + 1;
	ck_assert_int_eq(vmmio_init(&t, &ops, NULL, &m.mem, BASE, 16), -EINVAL);
	ops = t_ops;
	ops.activate = NULL;
	ck_assert_int_eq(vmmio_init(&t, &ops, NULL, &m.mem, BASE, 16), -EINVAL);
	vmmio_destroy(&t); /* safe after a failed init */
	fake_mem_destroy(&m);
}
END_TEST

/* The real ioctls, when this machine has /dev/kvm; otherwise this case has nothing to do. */
START_TEST(kvm_ioeventfd_and_irqfd_register_and_unregister)
{
	struct fx f;
	int kvm, vm;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "test_vmmio: no /dev/kvm, KVM registration not exercised\n");
		return;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ck_assert_int_ge(vm, 0);
	ck_assert_int_eq(ioctl(vm, KVM_CREATE_IRQCHIP, 0), 0);
	fx_init(&f);
	ck_assert_int_eq(vmmio_kvm_attach(&f.t, vm, NULL), 0);
	ck_assert_int_eq(vmmio_kvm_attach(&f.t, vm, NULL), -EBUSY);
	vmmio_kvm_detach(&f.t);
	/* Detach really removed them: KVM refuses duplicates, so a second attach proves it. */
	ck_assert_int_eq(vmmio_kvm_attach(&f.t, vm, NULL), 0);
	fx_fini(&f); /* detaches */
	close(vm);
	close(kvm);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vmmio");
	TCase *registers = tcase_create("registers");
	TCase *status = tcase_create("status");
	SRunner *sr;
	int failed;

	tcase_add_test(registers, identity_registers_read_as_linux_expects);
	tcase_add_test(registers, device_features_are_paged_by_the_selector);
	tcase_add_test(registers, shared_memory_regions_read_all_ones_when_absent);
	tcase_add_test(registers, a_device_without_shm_op_has_no_regions);
	tcase_add_test(registers, config_space_reads_take_any_width_within_bounds);
	tcase_add_test(registers, config_space_writes_stay_within_bounds);
	tcase_add_test(registers, registers_take_aligned_32_bit_accesses_only);
	tcase_add_test(registers, interrupt_status_is_set_signalled_and_acknowledged);
	tcase_add_test(registers, the_transport_registers_its_window_on_the_bus);
	tcase_add_test(registers, init_refuses_impossible_devices);
	tcase_add_test(registers, kvm_ioeventfd_and_irqfd_register_and_unregister);
	tcase_add_test(status, features_ok_is_kept_for_a_valid_subset);
	tcase_add_test(status, features_ok_is_refused_without_version_1);
	tcase_add_test(status, features_ok_is_refused_with_bits_we_never_offered);
	tcase_add_test(status, driver_features_are_frozen_outside_the_negotiation_window);
	tcase_add_test(status, status_bits_must_come_in_order_and_never_clear);
	tcase_add_test(status, reset_works_from_every_state);
	tcase_add_test(status, activation_failure_sets_needs_reset);
	tcase_add_test(status, needs_reset_from_a_worker_raises_a_config_interrupt);
	suite_add_tcase(s, registers);
	suite_add_tcase(s, status);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
