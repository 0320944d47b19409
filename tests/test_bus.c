/* test_bus.c: range registration, overlap refusal, lookup and dispatch. */
#include <check.h>
#include "check_run.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "../vmm/bus.h"

struct recorder {
	uint64_t offset;
	uint8_t last;
	unsigned writes;
};

static void rec_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct recorder *r = opaque;

	r->offset = offset;
	memset(data, 0x42, len);
}

static void rec_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct recorder *r = opaque;

	r->offset = offset;
	r->last = data[len - 1];
	r->writes++;
}

static struct bus_range range_at(uint64_t base, uint64_t len, struct recorder *rec)
{
	struct bus_range r = { .base = base, .len = len, .name = "t", .opaque = rec,
			       .read = rec_read, .write = rec_write };
	return r;
}

START_TEST(overlaps_and_empty_ranges_are_refused)
{
	struct bus bus = { .n = 0 };
	struct recorder rec = { 0 };
	struct bus_range r;

	r = range_at(0x100, 0x10, &rec);
	ck_assert_int_eq(bus_register(&bus, &r), 0);
	r = range_at(0x10f, 1, &rec);
	ck_assert_int_eq(bus_register(&bus, &r), -EEXIST);
	r = range_at(0xf0, 0x11, &rec);
	ck_assert_int_eq(bus_register(&bus, &r), -EEXIST);
	r = range_at(0x110, 0, &rec);
	ck_assert_int_eq(bus_register(&bus, &r), -EINVAL);
	r = range_at(UINT64_MAX, 2, &rec);
	ck_assert_int_eq(bus_register(&bus, &r), -EINVAL);
	r = range_at(0x110, 1, &rec);
	ck_assert_int_eq(bus_register(&bus, &r), 0);
	ck_assert_uint_eq(bus.n, 2);
}
END_TEST

START_TEST(lookup_finds_the_right_device_in_any_order)
{
	struct bus bus = { .n = 0 };
	struct recorder rec[3] = { { 0 } };
	uint64_t bases[3] = { 0x3f8, 0x60, 0x600 };
	struct bus_range r;
	unsigned i;

	for (i = 0; i < 3; i++) {
		r = range_at(bases[i], 8, &rec[i]);
		ck_assert_int_eq(bus_register(&bus, &r), 0);
	}
	ck_assert_ptr_eq(bus_find(&bus, 0x3f8, 1)->opaque, &rec[0]);
	ck_assert_ptr_eq(bus_find(&bus, 0x67, 1)->opaque, &rec[1]);
	ck_assert_ptr_eq(bus_find(&bus, 0x604, 4)->opaque, &rec[2]);
	ck_assert_ptr_null(bus_find(&bus, 0x606, 4)); /* straddles the end */
	ck_assert_ptr_null(bus_find(&bus, 0x5f, 1));
	ck_assert_ptr_null(bus_find(&bus, 0x400, 1));
}
END_TEST

START_TEST(dispatch_passes_offsets_and_fills_unclaimed_reads)
{
	struct bus bus = { .n = 0 };
	struct recorder rec = { 0 };
	struct bus_range r = range_at(0x1000, 0x100, &rec);
	uint8_t data[4] = { 1, 2, 3, 4 };

	ck_assert_int_eq(bus_register(&bus, &r), 0);
	ck_assert(bus_write(&bus, 0x1010, data, 4));
	ck_assert_uint_eq(rec.offset, 0x10);
	ck_assert_uint_eq(rec.last, 4);
	ck_assert(bus_read(&bus, 0x1020, data, 2));
	ck_assert_uint_eq(rec.offset, 0x20);
	ck_assert_uint_eq(data[0], 0x42);
	ck_assert(!bus_read(&bus, 0x2000, data, 4));
	ck_assert_uint_eq(data[0], 0xff);
	ck_assert_uint_eq(data[3], 0xff);
	ck_assert(!bus_write(&bus, 0x2000, data, 4));
	ck_assert_uint_eq(rec.writes, 1);
}
END_TEST

START_TEST(a_full_bus_reports_enospc)
{
	struct bus bus = { .n = 0 };
	struct recorder rec = { 0 };
	struct bus_range r;
	unsigned i;

	for (i = 0; i < BUS_MAX_RANGES; i++) {
		r = range_at(i * 0x10, 0x10, &rec);
		ck_assert_int_eq(bus_register(&bus, &r), 0);
	}
	r = range_at(0x10000, 1, &rec);
	ck_assert_int_eq(bus_register(&bus, &r), -ENOSPC);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bus");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, overlaps_and_empty_ranges_are_refused);
	tcase_add_test(tc, lookup_finds_the_right_device_in_any_order);
	tcase_add_test(tc, dispatch_passes_offsets_and_fills_unclaimed_reads);
	tcase_add_test(tc, a_full_bus_reports_enospc);
	suite_add_tcase(s, tc);
	return check_run(s);
}
