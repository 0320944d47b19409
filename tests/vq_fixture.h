/* vq_fixture.h: one guest RAM buffer, one ring and a vq over it, for the virtqueue tests. */
#ifndef MICROVM_TESTS_VQ_FIXTURE_H
#define MICROVM_TESTS_VQ_FIXTURE_H

#include <check.h>
#include <errno.h>
#include "fake_driver.h"

#define QSIZE 8
#define RAM (1U << 20)

struct fx {
	struct fake_mem m;
	struct fake_ring r;
	struct vq vq;
	struct vq_chain c;
};

static inline void fx_init(struct fx *f, uint16_t size, bool event_idx, bool indirect)
{
	ck_assert_int_eq(fake_mem_init(&f->m, RAM), 0);
	ck_assert_int_eq(fake_ring_init(&f->r, &f->m, size), 0);
	ck_assert_int_eq(fake_vq_setup(&f->vq, &f->r, event_idx, indirect), 0);
	ck_assert_int_eq(vq_chain_init(&f->c, size), 0);
}

static inline void fx_fini(struct fx *f)
{
	vq_chain_free(&f->c);
	vq_destroy(&f->vq);
	fake_mem_destroy(&f->m);
}

/* A fresh zeroed guest buffer. */
static inline uint64_t buf(struct fx *f, uint32_t len)
{
	uint64_t gpa = fake_alloc(&f->m, len, 16);

	ck_assert_uint_ne(gpa, 0);
	return gpa;
}

/* Publish the chain at head and expect pop to refuse it as the test's first bad chain. */
static inline void expect_bad(struct fx *f, uint16_t head)
{
	fake_publish(&f->r, head);
	ck_assert_int_eq(vq_pop(&f->vq, &f->c), -EBADMSG);
	ck_assert_uint_eq(f->c.head, head);
	ck_assert_uint_eq(vq_get_stats(&f->vq).bad_chains, 1);
	ck_assert_uint_eq(vq_get_stats(&f->vq).ring_errors, 0);
}

#endif
