/* test_virtqueue.c: split-ring popping and pushing, set-up checks, event suppression, sharing. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "vq_fixture.h"

START_TEST(pop_push_round_trip_fills_the_used_ring)
{
	struct fx f;
	uint64_t out = 0, in = 0;
	uint32_t id, len;
	char got[8] = { 0 };
	uint16_t head;

	fx_init(&f, QSIZE, false, false);
	out = buf(&f, 16);
	in = buf(&f, 32);
	memcpy(fake_host(&f.m, out), "hello", 6);
	head = fake_chain(&f.r, (struct fake_seg[]){ { out, 16, false }, { in, 32, true } }, 2);
	fake_publish(&f.r, head);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_uint_eq(f.c.head, head);
	ck_assert_uint_eq(f.c.nout, 1);
	ck_assert_uint_eq(f.c.nin, 1);
	ck_assert_uint_eq(f.c.out_bytes, 16);
	ck_assert_uint_eq(f.c.in_bytes, 32);
	ck_assert_ptr_eq(f.c.out[0].iov_base, fake_host(&f.m, out));
	ck_assert_ptr_eq(f.c.in[0].iov_base, fake_host(&f.m, in));
	ck_assert_uint_eq(vq_chain_read(&f.c, 0, got, 6), 6);
	ck_assert_str_eq(got, "hello");
	ck_assert_uint_eq(vq_chain_write(&f.c, 0, "world", 6), 6);
	ck_assert_str_eq((char *)fake_host(&f.m, in), "world");
	ck_assert_int_eq(vq_push(&f.vq, head, 6), 0);
	ck_assert_uint_eq(fake_used_idx(&f.r), 1);
	ck_assert(fake_ring_get_used(&f.r, &id, &len));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, 6);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EAGAIN);
	fx_fini(&f);
}
END_TEST

START_TEST(segments_are_split_into_readable_then_writable)
{
	struct fx f;
	struct fake_seg s[5];
	uint8_t tmp[24];
	unsigned i;

	fx_init(&f, QSIZE, false, false);
	for (i = 0; i < 5; i++) {
		s[i].gpa = buf(&f, 16);
		s[i].len = 10 + i;
		s[i].write = i >= 2;
		memset(fake_host(&f.m, s[i].gpa), 'a' + i, 16);
	}
	fake_publish(&f.r, fake_chain(&f.r, s, 5));
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_uint_eq(f.c.nout, 2);
	ck_assert_uint_eq(f.c.nin, 3);
	ck_assert_uint_eq(f.c.out_bytes, 10 + 11);
	ck_assert_uint_eq(f.c.in_bytes, 12 + 13 + 14);
	ck_assert_ptr_eq(f.c.in, f.c.iov + 2);
	ck_assert_uint_eq(f.c.in[2].iov_len, 14);
	/* A read across the segment boundary, and one cut short by the end. */
	ck_assert_uint_eq(vq_chain_read(&f.c, 8, tmp, 4), 4);
	ck_assert_mem_eq(tmp, "aabb", 4);
	ck_assert_uint_eq(vq_chain_read(&f.c, 18, tmp, 24), 3);
	ck_assert_uint_eq(vq_chain_write(&f.c, 11, "XYZ", 3), 3);
	ck_assert_mem_eq(fake_host(&f.m, s[2].gpa + 11), "X", 1);
	ck_assert_mem_eq(fake_host(&f.m, s[3].gpa), "YZ", 2);
	fx_fini(&f);
}
END_TEST

START_TEST(empty_or_unready_queue_pops_nothing)
{
	struct fx f;

	fx_init(&f, QSIZE, false, false);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EAGAIN);
	fake_publish(&f.r, fake_chain(&f.r, (struct fake_seg[]){ { buf(&f, 8), 8, false } }, 1));
	vq_reset(&f.vq);
	ck_assert(!vq_is_ready(&f.vq));
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EAGAIN);
	ck_assert_int_eq(vq_push(&f.vq, 0, 0), -EINVAL);
	fx_fini(&f);
}
END_TEST

START_TEST(indirect_chain_is_followed)
{
	struct fx f;
	struct fake_seg s[3];

	fx_init(&f, QSIZE, false, true);
	s[0] = (struct fake_seg){ buf(&f, 16), 16, false };
	s[1] = (struct fake_seg){ buf(&f, 16), 7, true };
	s[2] = (struct fake_seg){ buf(&f, 16), 9, true };
	fake_publish(&f.r, fake_indirect_chain(&f.r, s, 3));
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_uint_eq(f.c.nout, 1);
	ck_assert_uint_eq(f.c.nin, 2);
	ck_assert_uint_eq(f.c.in_bytes, 16);
	ck_assert_ptr_eq(f.c.in[1].iov_base, fake_host(&f.m, s[2].gpa));
	fx_fini(&f);
}
END_TEST

START_TEST(indirect_after_direct_descriptors_is_followed)
{
	struct fx f;
	uint64_t table;

	fx_init(&f, QSIZE, false, true);
	table = buf(&f, 16);
	fake_table_desc(&f.m, table, 0, buf(&f, 8), 8, VRING_DESC_F_WRITE, 0);
	fake_desc(&f.r, 0, buf(&f, 4), 4, VRING_DESC_F_NEXT, 1);
	fake_desc(&f.r, 1, table, 16, VRING_DESC_F_INDIRECT, 0);
	fake_publish(&f.r, 0);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_uint_eq(f.c.nout, 1);
	ck_assert_uint_eq(f.c.nin, 1);
	fx_fini(&f);
}
END_TEST

START_TEST(ring_setup_is_validated)
{
	struct fake_mem m;
	struct fake_ring r;
	struct vq vq;

	ck_assert_int_eq(fake_mem_init(&m, RAM), 0);
	ck_assert_int_eq(fake_ring_init(&r, &m, QSIZE), 0);
	ck_assert_int_eq(vq_init(&vq, 0, 3, &m.mem), -EINVAL);
	ck_assert_int_eq(vq_init(&vq, 0, 0, &m.mem), -EINVAL);
	ck_assert_int_eq(vq_init(&vq, 0, QSIZE, &m.mem), 0);
	ck_assert_int_eq(vq_set_size(&vq, 0), -EINVAL);
	ck_assert_int_eq(vq_set_size(&vq, 6), -EINVAL);
	ck_assert_int_eq(vq_set_size(&vq, 2 * QSIZE), -EINVAL);
	ck_assert_int_eq(vq_enable(&vq, false, false), -EINVAL); /* no size yet */
	ck_assert_int_eq(vq_set_size(&vq, QSIZE), 0);
	ck_assert_int_eq(vq_set_ring_addr(&vq, VQ_RING_DESC, r.desc_gpa + 8), 0);
	ck_assert_int_eq(vq_set_ring_addr(&vq, VQ_RING_AVAIL, r.avail_gpa), 0);
	ck_assert_int_eq(vq_set_ring_addr(&vq, VQ_RING_USED, r.used_gpa), 0);
	ck_assert_int_eq(vq_enable(&vq, false, false), -EINVAL); /* desc not 16-aligned */
	ck_assert_int_eq(vq_set_ring_addr(&vq, VQ_RING_DESC, r.desc_gpa), 0);
	ck_assert_int_eq(vq_set_ring_addr(&vq, VQ_RING_USED, RAM - 16), 0);
	ck_assert_int_eq(vq_enable(&vq, false, false), -EFAULT); /* used ring runs off RAM */
	ck_assert_int_eq(vq_set_ring_addr(&vq, VQ_RING_USED, r.used_gpa), 0);
	ck_assert_int_eq(vq_enable(&vq, false, false), 0);
	ck_assert_int_eq(vq_set_size(&vq, QSIZE / 2), -EBUSY);
	ck_assert_int_eq(vq_set_ring_addr(&vq, VQ_RING_DESC, 0), -EBUSY);
	ck_assert_int_eq(vq_enable(&vq, false, false), -EBUSY);
	ck_assert_int_eq(vq_push(&vq, QSIZE, 0), -EINVAL);
	vq_destroy(&vq);
	fake_mem_destroy(&m);
}
END_TEST

START_TEST(need_event_math_wraps_at_65535)
{
	/* Notify exactly when moving from old to new passes event, i.e. event in [old, new). */
	ck_assert(vq_need_event(4, 5, 4));
	ck_assert(!vq_need_event(5, 5, 4));
	ck_assert(!vq_need_event(3, 5, 4));
	ck_assert(vq_need_event(3, 5, 3));
	ck_assert(!vq_need_event(7, 7, 7));
	ck_assert(vq_need_event(65535, 0, 65535));
	ck_assert(!vq_need_event(65534, 0, 65535));
	ck_assert(vq_need_event(0, 1, 65535));
	ck_assert(vq_need_event(65533, 2, 65530));
	ck_assert(!vq_need_event(3, 2, 65530));
}
END_TEST

/* Pop one single-buffer chain and push it back; returns the notify decision. */
static bool cycle(struct fx *f)
{
	bool notify = false;

	fake_publish(&f->r, 0);
	ck_assert_int_eq(vq_pop(&f->vq, &f->c), 0);
	ck_assert_int_eq(vq_push_notify(&f->vq, f->c.head, 1, &notify), 0);
	return notify;
}

START_TEST(event_idx_suppresses_interrupts_the_guest_did_not_ask_for)
{
	struct fx f;

	fx_init(&f, QSIZE, true, false);
	fake_desc(&f.r, 0, buf(&f, 8), 8, VRING_DESC_F_WRITE, 0);
	fake_set_used_event(&f.r, 0);
	ck_assert(cycle(&f));  /* the first completion always interrupts */
	ck_assert(!cycle(&f)); /* used 1 -> 2, guest asked for entry 0 */
	fake_set_used_event(&f.r, 2);
	ck_assert(cycle(&f)); /* used 2 -> 3 passes 2 */
	/* Two pushes, one decision covering both. */
	fake_publish(&f.r, 0);
	fake_publish(&f.r, 0);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_int_eq(vq_push(&f.vq, 0, 1), 0);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_int_eq(vq_push(&f.vq, 0, 1), 0);
	fake_set_used_event(&f.r, 3);
	ck_assert(vq_should_notify(&f.vq));
	ck_assert(!vq_should_notify(&f.vq)); /* nothing new since */
	fx_fini(&f);
}
END_TEST

START_TEST(event_idx_suppression_survives_index_wrap_around)
{
	struct fx f;
	unsigned i;

	fx_init(&f, QSIZE, true, false);
	fake_desc(&f.r, 0, buf(&f, 8), 8, VRING_DESC_F_WRITE, 0);
	/* The guest keeps asking for "the next one": every completion interrupts. */
	for (i = 0; i < 65534; i++) {
		fake_set_used_event(&f.r, (uint16_t)i);
		ck_assert(cycle(&f));
	}
	ck_assert_uint_eq(fake_used_idx(&f.r), 65534);
	fake_set_used_event(&f.r, 65535);
	ck_assert(!cycle(&f)); /* used 65534 -> 65535 does not pass 65535 */
	ck_assert(cycle(&f));  /* used 65535 -> 0 does */
	ck_assert_uint_eq(fake_used_idx(&f.r), 0);
	fake_set_used_event(&f.r, 65535);
	ck_assert(!cycle(&f)); /* 0 -> 1: event is behind */
	fake_set_used_event(&f.r, 1);
	ck_assert(cycle(&f));
	fx_fini(&f);
}
END_TEST

START_TEST(no_interrupt_flag_is_honoured_without_event_idx)
{
	struct fx f;

	fx_init(&f, QSIZE, false, false);
	fake_desc(&f.r, 0, buf(&f, 8), 8, VRING_DESC_F_WRITE, 0);
	fake_set_avail_flags(&f.r, VRING_AVAIL_F_NO_INTERRUPT);
	ck_assert(!cycle(&f));
	fake_set_avail_flags(&f.r, 0);
	ck_assert(cycle(&f));
	ck_assert(cycle(&f));
	fx_fini(&f);
}
END_TEST

START_TEST(avail_event_silences_the_guest_while_the_worker_is_busy)
{
	struct fx f;
	unsigned i;

	fx_init(&f, QSIZE, true, false);
	fake_desc(&f.r, 0, buf(&f, 8), 8, 0, 0);
	for (i = 0; i < 3; i++)
		fake_publish(&f.r, 0);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	/* Busy: avail_event stays at 0, so adding slot 3 would not kick (need_event false). */
	ck_assert_uint_eq(fake_avail_event(&f.r), 0);
	ck_assert(!vq_need_event(fake_avail_event(&f.r), 4, 3));
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EAGAIN);
	/* Drained: armed for slot 3, the guest's next buffer kicks. */
	ck_assert_uint_eq(fake_avail_event(&f.r), 3);
	ck_assert(vq_need_event(fake_avail_event(&f.r), 4, 3));
	/* And that next buffer is popped as usual. */
	fake_publish(&f.r, 0);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	fx_fini(&f);
}
END_TEST

START_TEST(used_no_notify_flag_tracks_busy_without_event_idx)
{
	struct fx f;

	fx_init(&f, QSIZE, false, false);
	fake_desc(&f.r, 0, buf(&f, 8), 8, 0, 0);
	ck_assert_uint_eq(fake_used_flags(&f.r), 0);
	fake_publish(&f.r, 0);
	fake_publish(&f.r, 0);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_uint_eq(fake_used_flags(&f.r), VRING_USED_F_NO_NOTIFY);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), 0);
	ck_assert_int_eq(vq_pop(&f.vq, &f.c), -EAGAIN);
	ck_assert_uint_eq(fake_used_flags(&f.r), 0);
	fx_fini(&f);
}
END_TEST

/*
 * vq_pop_watched: the chain that empties the ring leaves the guest armed to kick (its
 * next buffer wakes a sleeping sibling while this one is served); a chain with others
 * behind it says so instead, and leaves the guest quiet.
 */
START_TEST(pop_watched_arms_the_guest_once_the_ring_is_empty)
{
	struct fx f;
	bool more;

	fx_init(&f, QSIZE, true, false);
	fake_desc(&f.r, 0, buf(&f, 8), 8, 0, 0);
	fake_publish(&f.r, 0);
	fake_publish(&f.r, 0);
	ck_assert_int_eq(vq_pop_watched(&f.vq, &f.c, &more), 0);
	ck_assert(more);
	ck_assert(!vq_need_event(fake_avail_event(&f.r), 3, 2)); /* quiet: a sibling pops */
	ck_assert_int_eq(vq_pop_watched(&f.vq, &f.c, &more), 0);
	ck_assert(!more);
	ck_assert_uint_eq(fake_avail_event(&f.r), 2); /* armed while the chain is served */
	ck_assert(vq_need_event(fake_avail_event(&f.r), 3, 2));
	ck_assert_int_eq(vq_pop_watched(&f.vq, &f.c, &more), -EAGAIN);
	ck_assert(!more);
	fx_fini(&f);
}
END_TEST

START_TEST(pop_watched_clears_no_notify_once_the_ring_is_empty)
{
	struct fx f;
	bool more;

	fx_init(&f, QSIZE, false, false);
	fake_desc(&f.r, 0, buf(&f, 8), 8, 0, 0);
	fake_publish(&f.r, 0);
	fake_publish(&f.r, 0);
	ck_assert_int_eq(vq_pop_watched(&f.vq, &f.c, &more), 0);
	ck_assert(more);
	ck_assert_uint_eq(fake_used_flags(&f.r), VRING_USED_F_NO_NOTIFY);
	ck_assert_int_eq(vq_pop_watched(&f.vq, &f.c, &more), 0);
	ck_assert(!more);
	ck_assert_uint_eq(fake_used_flags(&f.r), 0);
	fx_fini(&f);
}
END_TEST

/* ---- two workers sharing one queue ---- */

#define MT_SIZE 64
#define MT_TOTAL 20000

struct mt {
	struct fx f;
	_Atomic int done;
};

static void *mt_worker(void *arg)
{
	struct mt *mt = arg;
	struct vq_chain c;
	uint32_t v;

	ck_assert_int_eq(vq_chain_init(&c, MT_SIZE), 0);
	while (!atomic_load(&mt->done)) {
		int ret = vq_pop(&mt->f.vq, &c);

		if (ret == -EAGAIN) {
			sched_yield();
			continue;
		}
		ck_assert_int_eq(ret, 0);
		/* Echo the head number back: proves each chain reached exactly one worker. */
		ck_assert_uint_eq(vq_chain_read(&c, 0, &v, 4), 4);
		ck_assert_uint_eq(v, c.head);
		ck_assert_int_eq(vq_push(&mt->f.vq, c.head, v + 1), 0);
	}
	vq_chain_free(&c);
	return NULL;
}

START_TEST(two_workers_share_a_queue_without_losing_or_duplicating)
{
	static struct mt mt;
	static unsigned seen[MT_SIZE];
	pthread_t th[2];
	unsigned sent = 0, done = 0, inflight = 0, i;
	uint16_t next = 0;
	uint32_t id, len;

	fx_init(&mt.f, MT_SIZE, true, false);
	atomic_store(&mt.done, 0);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < MT_SIZE; i++) {
		uint64_t b = buf(&mt.f, 4);

		memcpy(fake_host(&mt.f.m, b), &i, 4);
		fake_desc(&mt.f.r, (uint16_t)i, b, 4, 0, 0);
	}
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, mt_worker, &mt), 0);
	while (done < MT_TOTAL) {
		/* Heads are recycled in order; a head is only reused after it came back. */
		while (sent < MT_TOTAL && inflight < MT_SIZE && !seen[next]) {
			seen[next] = 1;
			fake_publish(&mt.f.r, next);
			next = (next + 1) % MT_SIZE;
			sent++;
			inflight++;
		}
		while (fake_ring_get_used(&mt.f.r, &id, &len)) {
			ck_assert_uint_lt(id, MT_SIZE);
			ck_assert_uint_eq(seen[id], 1);
			ck_assert_uint_eq(len, id + 1);
			seen[id] = 0;
			done++;
			inflight--;
		}
		sched_yield();
	}
	atomic_store(&mt.done, 1);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ck_assert_uint_eq(fake_used_idx(&mt.f.r), MT_TOTAL % 65536);
	fx_fini(&mt.f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtqueue");
	TCase *ring = tcase_create("ring");
	TCase *events = tcase_create("events");
	SRunner *sr;
	int failed;

	tcase_add_test(ring, pop_push_round_trip_fills_the_used_ring);
	tcase_add_test(ring, segments_are_split_into_readable_then_writable);
	tcase_add_test(ring, empty_or_unready_queue_pops_nothing);
	tcase_add_test(ring, indirect_chain_is_followed);
	tcase_add_test(ring, indirect_after_direct_descriptors_is_followed);
	tcase_add_test(ring, ring_setup_is_validated);
	tcase_add_test(ring, two_workers_share_a_queue_without_losing_or_duplicating);
	tcase_add_test(events, need_event_math_wraps_at_65535);
	tcase_add_test(events, event_idx_suppresses_interrupts_the_guest_did_not_ask_for);
	tcase_add_test(events, event_idx_suppression_survives_index_wrap_around);
	tcase_add_test(events, no_interrupt_flag_is_honoured_without_event_idx);
	tcase_add_test(events, avail_event_silences_the_guest_while_the_worker_is_busy);
	tcase_add_test(events, used_no_notify_flag_tracks_busy_without_event_idx);
	tcase_add_test(events, pop_watched_arms_the_guest_once_the_ring_is_empty);
	tcase_add_test(events, pop_watched_clears_no_notify_once_the_ring_is_empty);
	tcase_set_timeout(ring, 30);
	tcase_set_timeout(events, 30);
	suite_add_tcase(s, ring);
	suite_add_tcase(s, events);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
