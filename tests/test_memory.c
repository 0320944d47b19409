/* test_memory.c: guest RAM layout around the MMIO hole and checked translation. */
#include <check.h>
#include "check_run.h"
#include <errno.h>
#include <stdlib.h>
#include "../vmm/layout.h"
#include "../vmm/memory.h"

START_TEST(small_ram_is_one_region)
{
	struct guest_memory mem;

	ck_assert_int_eq(gm_create(&mem, 64 << 20), 0);
	ck_assert_uint_eq(mem.nregions, 1);
	ck_assert_uint_eq(mem.region[0].gpa, 0);
	ck_assert_uint_eq(mem.region[0].size, 64 << 20);
	ck_assert_uint_eq(gm_low_ram_end(&mem), 64 << 20);
	gm_destroy(&mem);
}
END_TEST

START_TEST(large_ram_skips_the_mmio_hole)
{
	struct guest_memory mem;
	uint64_t ram = 5ULL << 30;

	ck_assert_int_eq(gm_create(&mem, ram), 0);
	ck_assert_uint_eq(mem.nregions, 2);
	ck_assert_uint_eq(mem.region[0].size, LAYOUT_MMIO_HOLE_START);
	ck_assert_uint_eq(mem.region[1].gpa, LAYOUT_MMIO_HOLE_END);
	ck_assert_uint_eq(mem.region[1].size, ram - LAYOUT_MMIO_HOLE_START);
	ck_assert_uint_eq(gm_low_ram_end(&mem), LAYOUT_MMIO_HOLE_START);
	/* Nothing is RAM inside the hole; both sides are. */
	ck_assert_ptr_null(gm_translate(&mem, LAYOUT_MMIO_HOLE_START, 1));
	ck_assert_ptr_null(gm_translate(&mem, LAYOUT_MMIO_HOLE_START - 1, 2));
	ck_assert_ptr_nonnull(gm_translate(&mem, LAYOUT_MMIO_HOLE_START - 1, 1));
	ck_assert_ptr_nonnull(gm_translate(&mem, LAYOUT_MMIO_HOLE_END, 4096));
	ck_assert_ptr_null(gm_translate(&mem, LAYOUT_MMIO_HOLE_END + ram - LAYOUT_MMIO_HOLE_START, 1));
	gm_destroy(&mem);
}
END_TEST

START_TEST(ram_exactly_three_gib_has_no_high_region)
{
	struct guest_memory mem;

	ck_assert_int_eq(gm_create(&mem, LAYOUT_MMIO_HOLE_START), 0);
	ck_assert_uint_eq(mem.nregions, 1);
	gm_destroy(&mem);
}
END_TEST

START_TEST(unaligned_or_zero_ram_is_refused)
{
	struct guest_memory mem;

	ck_assert_int_eq(gm_create(&mem, 0), -EINVAL);
	ck_assert_int_eq(gm_create(&mem, (1 << 20) + 1), -EINVAL);
}
END_TEST

START_TEST(translate_rejects_overflowing_ranges)
{
	struct guest_memory mem;
	static uint8_t buf[8192];
	uint8_t byte = 0x5a, back = 0;

	gm_init_from_buffer(&mem, buf, sizeof(buf));
	ck_assert_ptr_eq(gm_translate(&mem, 0, sizeof(buf)), buf);
	ck_assert_ptr_eq(gm_translate(&mem, sizeof(buf) - 1, 1), buf + sizeof(buf) - 1);
	ck_assert_ptr_null(gm_translate(&mem, sizeof(buf) - 1, 2));
	ck_assert_ptr_null(gm_translate(&mem, 1, UINT64_MAX));
	ck_assert_ptr_null(gm_translate(&mem, UINT64_MAX, 2));
	ck_assert_ptr_null(gm_translate(&mem, sizeof(buf), 0));
	ck_assert_int_eq(gm_write(&mem, 100, &byte, 1), 0);
	ck_assert_int_eq(gm_read(&mem, 100, &back, 1), 0);
	ck_assert_uint_eq(back, 0x5a);
	ck_assert_int_eq(gm_write(&mem, sizeof(buf), &byte, 1), -EFAULT);
	ck_assert_int_eq(gm_read(&mem, UINT64_MAX - 1, &back, 4), -EFAULT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("memory");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, small_ram_is_one_region);
	tcase_add_test(tc, large_ram_skips_the_mmio_hole);
	tcase_add_test(tc, ram_exactly_three_gib_has_no_high_region);
	tcase_add_test(tc, unaligned_or_zero_ram_is_refused);
	tcase_add_test(tc, translate_rejects_overflowing_ranges);
	suite_add_tcase(s, tc);
	return check_run(s);
}
