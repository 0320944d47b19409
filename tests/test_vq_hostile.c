/* test_vq_hostile.c: descriptor chains a hostile guest could build, each refused without harm. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vq_fixture.h"

START_TEST(indirect_is_refused_unless_negotiated)
{
	struct fx f;

	fx_init(&f, QSIZE, false, false);
	expect_bad(&f, fake_indirect_chain(&f.r, (struct fake_seg[]){ { buf(&f, 8), 8, false } }, 1));
	fx_fini(&f);
}
END_TEST

START_TEST(loop_via_next_is_refused)
{
	struct fx f;

	fx_init(&f, QSIZE, false, false);
	fake_desc(&f.r, 0, buf(&f, 8), 8, VRING_DESC_F_NEXT, 1);
	fake_desc(&f.r, 1, buf(&f, 8), 8, VRING_DESC_F_NEXT, 0);
	expect_bad(&f, 0);
	/* A descriptor pointing at itself. */
	fake_desc(&f.r, 2, buf(&f, 8), 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	fake_publish(&f.r, 2);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EBADMSG);
	/* Zero-length descriptors add no segment, but still count as hops. */
	fake_desc(&f.r, 3, buf(&f, 8), 0, VRING_DESC_F_NEXT, 4);
	fake_desc(&f.r, 4, buf(&f, 8), 0, VRING_DESC_F_NEXT, 3);
	fake_publish(&f.r, 3);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EBADMSG);
	fx_fini(&f);
}
END_TEST

START_TEST(loop_via_indirect_table_is_refused)
{
	struct fx f;
	uint64_t table;

	fx_init(&f, QSIZE, false, true);
	table = buf(&f, 32);
	fake_table_desc(&f.m, table, 0, buf(&f, 8), 8, VRING_DESC_F_NEXT, 1);
	fake_table_desc(&f.m, table, 1, buf(&f, 8), 8, VRING_DESC_F_NEXT, 0);
	fake_desc(&f.r, 0, table, 32, VRING_DESC_F_INDIRECT, 0);
	expect_bad(&f, 0);
	fx_fini(&f);
}
END_TEST

START_TEST(next_index_out_of_range_is_refused)
{
	struct fx f;
	uint64_t table;

	fx_init(&f, QSIZE, false, true);
	fake_desc(&f.r, 0, buf(&f, 8), 8, VRING_DESC_F_NEXT, QSIZE);
	expect_bad(&f, 0);
	/* Inside an indirect table the bound is the table's length, not the queue's. */
	table = buf(&f, 32);
	fake_table_desc(&f.m, table, 0, buf(&f, 8), 8, VRING_DESC_F_NEXT, 2);
	fake_table_desc(&f.m, table, 1, buf(&f, 8), 8, 0, 0);
	fake_desc(&f.r, 1, table, 32, VRING_DESC_F_INDIRECT, 0);
	fake_publish(&f.r, 1);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EBADMSG);
	fx_fini(&f);
}
END_TEST

START_TEST(head_out_of_range_breaks_the_queue_until_reset)
{
	struct fx f;
	uint16_t good;

	fx_init(&f, QSIZE, false, false);
	fake_publish(&f.r, QSIZE);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EIO);
	good = fake_chain(&f.r, (struct fake_seg[]){ { buf(&f, 8), 8, false } }, 1);
	fake_publish(&f.r, good);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EIO);
	ck_assert_uint_eq(vq_get_stats(&f.vq).ring_errors, 1);
	/* What the transport does on a device reset and a fresh set-up. */
	vq_destroy(&f.vq);
	fake_set_avail_idx(&f.r, 0);
	ck_assert_int_eq(fake_vq_setup(&f.vq, &f.r, false, false), 0);
	fake_publish(&f.r, good);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_uint_eq(f.c.head, good);
	fx_fini(&f);
}
END_TEST

START_TEST(descriptor_outside_ram_is_refused)
{
	struct fx f;

	fx_init(&f, QSIZE, false, false);
	/* Straddles the end of RAM by 8 bytes. */
	fake_desc(&f.r, 0, RAM - 8, 16, 0, 0);
	expect_bad(&f, 0);
	/* Wholly outside (e.g. the MMIO hole). */
	fake_desc(&f.r, 1, 0xd0000000ULL, 4, 0, 0);
	fake_publish(&f.r, 1);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EBADMSG);
	fx_fini(&f);
}
END_TEST

START_TEST(address_plus_length_overflow_is_refused)
{
	struct fx f;
	uint64_t table;

	fx_init(&f, QSIZE, false, true);
	fake_desc(&f.r, 0, UINT64_MAX - 7, 16, VRING_DESC_F_WRITE, 0);
	expect_bad(&f, 0);
	/* A wrapping address for an indirect table too. */
	table = UINT64_MAX - 15;
	fake_desc(&f.r, 1, table, 32, VRING_DESC_F_INDIRECT, 0);
	fake_publish(&f.r, 1);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EBADMSG);
	fx_fini(&f);
}
END_TEST

START_TEST(indirect_inside_indirect_is_refused)
{
	struct fx f;
	uint64_t outer, inner;

	fx_init(&f, QSIZE, false, true);
	inner = buf(&f, 16);
	fake_table_desc(&f.m, inner, 0, buf(&f, 8), 8, 0, 0);
	outer = buf(&f, 16);
	fake_table_desc(&f.m, outer, 0, inner, 16, VRING_DESC_F_INDIRECT, 0);
	fake_desc(&f.r, 0, outer, 16, VRING_DESC_F_INDIRECT, 0);
	expect_bad(&f, 0);
	fx_fini(&f);
}
END_TEST

START_TEST(indirect_table_of_bad_length_is_refused)
{
	static const uint32_t lens[] = { 0, 8, 24, 16 * (QSIZE + 1) };
	struct fx f;
	uint64_t table;
	unsigned i;

	fx_init(&f, QSIZE, false, true);
	/* Entry 0 alone is a valid chain: only the length of the table is wrong. */
	table = buf(&f, 16 * (QSIZE + 1));
	for (i = 0; i < QSIZE + 1; i++)
		fake_table_desc(&f.m, table, (uint16_t)i, buf(&f, 8), 8, 0, 0);
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		fake_desc(&f.r, (uint16_t)i, table, lens[i], VRING_DESC_F_INDIRECT, 0);
		fake_publish(&f.r, (uint16_t)i);
		ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EBADMSG);
	}
	/* A table that is the right size but runs off the end of RAM. */
	fake_desc(&f.r, 4, RAM - 16, 32, VRING_DESC_F_INDIRECT, 0);
	fake_publish(&f.r, 4);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EBADMSG);
	ck_assert_uint_eq(vq_get_stats(&f.vq).bad_chains, ARRAY_SIZE(lens) + 1);
	fx_fini(&f);
}
END_TEST

START_TEST(indirect_with_next_is_refused)
{
	struct fx f;
	uint64_t table;

	fx_init(&f, QSIZE, false, true);
	table = buf(&f, 16);
	fake_table_desc(&f.m, table, 0, buf(&f, 8), 8, 0, 0);
	fake_desc(&f.r, 1, buf(&f, 8), 8, 0, 0);
	fake_desc(&f.r, 0, table, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	expect_bad(&f, 0);
	fx_fini(&f);
}
END_TEST

START_TEST(avail_index_jumping_past_the_queue_size_breaks_the_queue)
{
	struct fx f;
	unsigned i;

	fx_init(&f, QSIZE, false, false);
	/* Exactly QSIZE outstanding is legal... */
	for (i = 0; i < QSIZE; i++)
		fake_publish(&f.r, fake_chain(&f.r, (struct fake_seg[]){ { buf(&f, 8), 8, false } }, 1));
	for (i = 0; i < QSIZE; i++)
		ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	/* ...one more than that is not. */
	fake_set_avail_idx(&f.r, (uint16_t)(f.r.avail_idx + QSIZE + 1));
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EIO);
	fake_set_avail_idx(&f.r, (uint16_t)(QSIZE + 1));
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EIO);
	ck_assert_uint_eq(vq_get_stats(&f.vq).ring_errors, 1);
	fx_fini(&f);
}
END_TEST

START_TEST(readable_after_writable_is_refused)
{
	struct fx f;
	uint64_t table;

	fx_init(&f, QSIZE, false, true);
	expect_bad(&f, fake_chain(&f.r, (struct fake_seg[]){ { buf(&f, 8), 8, true },
							     { buf(&f, 8), 8, false } }, 2));
	/* The order holds across the jump into an indirect table. */
	table = buf(&f, 16);
	fake_table_desc(&f.m, table, 0, buf(&f, 8), 8, 0, 0);
	fake_desc(&f.r, 4, buf(&f, 8), 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 5);
	fake_desc(&f.r, 5, table, 16, VRING_DESC_F_INDIRECT, 0);
	fake_publish(&f.r, 4);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EBADMSG);
	fx_fini(&f);
}
END_TEST

/* n direct descriptors, the last pointing at an indirect table of m entries. */
static uint16_t long_chain(struct fx *f, unsigned n, unsigned m)
{
	uint64_t table = buf(f, 16 * m);
	unsigned i;

	for (i = 0; i < m; i++)
		fake_table_desc(&f->m, table, (uint16_t)i, buf(f, 8), 8,
				i + 1 < m ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	for (i = 0; i < n; i++)
		fake_desc(&f->r, (uint16_t)i, buf(f, 8), 8, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	fake_desc(&f->r, (uint16_t)n, table, 16 * m, VRING_DESC_F_INDIRECT, 0);
	return 0;
}

START_TEST(chain_longer_than_the_queue_size_is_refused)
{
	struct fx f;

	fx_init(&f, QSIZE, false, true);
	/* Room for more segments than the queue size, so only the length bound can refuse. */
	vq_chain_free(&f.c);
	ck_assert_int_eq(vq_chain_init(&f.c, 4 * QSIZE), 0);
	/* 4 direct + 4 indirect = QSIZE data descriptors: allowed. */
	fake_publish(&f.r, long_chain(&f, 4, 4));
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_uint_eq(f.c.nout, QSIZE);
	ck_assert_int_eq(vq_push(&f.vq, f.c.head, 0), 0);
	/* 4 direct + 5 indirect: one too many, though neither part loops. */
	fake_publish(&f.r, long_chain(&f, 4, 5));
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EBADMSG);
	fx_fini(&f);
}
END_TEST

START_TEST(zero_length_chains_are_refused_but_empty_segments_skipped)
{
	struct fx f;

	fx_init(&f, QSIZE, false, false);
	expect_bad(&f, fake_chain(&f.r, (struct fake_seg[]){ { buf(&f, 8), 0, false },
							     { buf(&f, 8), 0, true } }, 2));
	fake_publish(&f.r, fake_chain(&f.r, (struct fake_seg[]){ { buf(&f, 8), 0, false },
								  { buf(&f, 8), 8, false } }, 2));
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_uint_eq(f.c.nout, 1);
	ck_assert_uint_eq(f.c.out_bytes, 8);
	fx_fini(&f);
}
END_TEST

START_TEST(a_bad_chain_is_answered_and_the_queue_keeps_going)
{
	struct fx f;
	uint16_t bad, good;
	uint32_t id, len;

	fx_init(&f, QSIZE, false, false);
	fake_desc(&f.r, 0, RAM, 8, 0, 0);
	bad = 0;
	f.r.next_desc = 1;
	good = fake_chain(&f.r, (struct fake_seg[]){ { buf(&f, 8), 8, true } }, 1);
	fake_publish(&f.r, bad);
	fake_publish(&f.r, good);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EBADMSG);
	ck_assert_uint_eq(f.c.nout + f.c.nin, 0);
	ck_assert_int_eq(vq_push(&f.vq, f.c.head, 0), 0);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_uint_eq(f.c.head, good);
	ck_assert_int_eq(vq_push(&f.vq, f.c.head, 8), 0);
	ck_assert(fake_ring_get_used(&f.r, &id, &len));
	ck_assert_uint_eq(id, bad);
	ck_assert_uint_eq(len, 0);
	ck_assert(fake_ring_get_used(&f.r, &id, &len));
	ck_assert_uint_eq(id, good);
	ck_assert_uint_eq(len, 8);
	fx_fini(&f);
}
END_TEST

START_TEST(more_segments_than_the_chain_holds_is_refused)
{
	struct fx f;
	struct vq_chain small;

	fx_init(&f, QSIZE, false, false);
	ck_assert_int_eq(vq_chain_init(&small, 2), 0);
	fake_publish(&f.r, fake_chain(&f.r, (struct fake_seg[]){ { buf(&f, 8), 8, false },
								  { buf(&f, 8), 8, false },
								  { buf(&f, 8), 8, true } }, 3));
	ck_assert_int_eq(vq_pop(&f.vq, &small), -EBADMSG);
	vq_chain_free(&small);
	ck_assert_int_eq(vq_chain_init(&small, 0), -EINVAL);
	fx_fini(&f);
}
END_TEST

/* A translator with a hole at [HOLE, HOLE + 64 KiB), like an unmapped DAX range. */
#define HOLE 0x80000ULL
struct hole_ctx {
	const struct guest_memory *mem;
	unsigned calls;
};

static void *hole_translate(void *opaque, uint64_t gpa, uint64_t len)
{
	struct hole_ctx *h = opaque;

	h->calls++;
	if (gpa < HOLE + 0x10000 && gpa + len > HOLE)
		return NULL;
	return gm_translate(h->mem, gpa, len);
}

START_TEST(buffers_go_through_the_pluggable_translator)
{
	struct fx f;
	struct hole_ctx h;

	fx_init(&f, QSIZE, false, false);
	h.mem = &f.m.mem;
	h.calls = 0;
	vq_set_translator(&f.vq, hole_translate, &h);
	fake_desc(&f.r, 0, HOLE + 0x100, 64, VRING_DESC_F_WRITE, 0);
	expect_bad(&f, 0);
	ck_assert_uint_eq(h.calls, 1);
	fake_desc(&f.r, 1, HOLE + 0x10000, 64, VRING_DESC_F_WRITE, 0);
	fake_publish(&f.r, 1);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_uint_eq(h.calls, 2);
	/* NULL puts gm_translate back: the former hole is plain RAM again. */
	vq_set_translator(&f.vq, NULL, NULL);
	fake_desc(&f.r, 2, HOLE + 0x100, 64, VRING_DESC_F_WRITE, 0);
	fake_publish(&f.r, 2);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_uint_eq(h.calls, 2);
	fx_fini(&f);
}
END_TEST

/* Pretends any range is mapped; pop never dereferences buffers, so this is safe here. */
static void *any_translate(void *opaque, uint64_t gpa, uint64_t len)
{
	return opaque;
}

START_TEST(chains_beyond_32_bit_byte_totals_are_refused)
{
	struct fx f;
	char dummy;

	fx_init(&f, QSIZE, false, false);
	vq_set_translator(&f.vq, any_translate, &dummy);
	fake_desc(&f.r, 0, 0x1000, UINT32_MAX, VRING_DESC_F_WRITE, 0);
	fake_publish(&f.r, 0);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_uint_eq(f.c.in_bytes, UINT32_MAX);
	fake_desc(&f.r, 1, 0x1000, 0x80000000U, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	fake_desc(&f.r, 2, 0x1000, 0x80000001U, VRING_DESC_F_WRITE, 0); /* would wrap to 1 */
	fake_publish(&f.r, 1);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EBADMSG);
	fx_fini(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vq_hostile");
	TCase *hostile = tcase_create("hostile");
	SRunner *sr;
	int failed;

	tcase_add_test(hostile, indirect_is_refused_unless_negotiated);
	tcase_add_test(hostile, loop_via_next_is_refused);
	tcase_add_test(hostile, loop_via_indirect_table_is_refused);
	tcase_add_test(hostile, next_index_out_of_range_is_refused);
	tcase_add_test(hostile, head_out_of_range_breaks_the_queue_until_reset);
	tcase_add_test(hostile, descriptor_outside_ram_is_refused);
	tcase_add_test(hostile, address_plus_length_overflow_is_refused);
	tcase_add_test(hostile, indirect_inside_indirect_is_refused);
	tcase_add_test(hostile, indirect_table_of_bad_length_is_refused);
	tcase_add_test(hostile, indirect_with_next_is_refused);
	tcase_add_test(hostile, avail_index_jumping_past_the_queue_size_breaks_the_queue);
	tcase_add_test(hostile, readable_after_writable_is_refused);
	tcase_add_test(hostile, chain_longer_than_the_queue_size_is_refused);
	tcase_add_test(hostile, zero_length_chains_are_refused_but_empty_segments_skipped);
	tcase_add_test(hostile, a_bad_chain_is_answered_and_the_queue_keeps_going);
	tcase_add_test(hostile, more_segments_than_the_chain_holds_is_refused);
	tcase_add_test(hostile, buffers_go_through_the_pluggable_translator);
	tcase_add_test(hostile, chains_beyond_32_bit_byte_totals_are_refused);
	tcase_set_timeout(hostile, 30);
	suite_add_tcase(s, hostile);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
