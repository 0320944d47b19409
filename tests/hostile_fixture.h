/* hostile_fixture.h: raw virtio-fs chains: any bytes, any header length, any reply room. */
#ifndef MICROVM_TESTS_HOSTILE_FIXTURE_H
#define MICROVM_TESTS_HOSTILE_FIXTURE_H

#include "vfs_fixture.h"

#define RQ 1 /* the request queue */
#define POOL (64U << 10)

/* ---- raw chains: any bytes, any header, any reply room ---- */

struct raw {
	const void *bytes;
	uint32_t len;      /* readable bytes */
	uint32_t cut;      /* split the readable part here (0: one descriptor) */
	uint32_t wlen[2];  /* writable buffers; 0 ends the list */
	bool no_reply_room; /* no writable buffer at all */
};

/* Guest buffers reused by every raw chain (one request in flight at a time). */
struct pool {
	uint64_t in, out;
};

static inline struct pool pool_get(struct vfx *f)
{
	struct pool p = { guest_buf(f, POOL), guest_buf(f, 2 * POOL) };

	return p;
}

/* Submits one chain and waits for its used entry; returns the used length. */
static inline uint32_t raw_submit(struct vfx *f, const struct pool *p, const struct raw *r)
{
	struct fake_seg s[4];
	unsigned n = 0;
	uint32_t id = 0, len = 0;
	uint16_t head;

	ck_assert_uint_le(r->len, POOL);
	memcpy(fake_host(&f->m, p->in), r->bytes, r->len);
	memset(fake_host(&f->m, p->out), 0xee, 2 * POOL);
	if (r->cut && r->cut < r->len) {
		s[n++] = (struct fake_seg){ p->in, r->cut, false };
		s[n++] = (struct fake_seg){ p->in + r->cut, r->len - r->cut, false };
	} else {
		s[n++] = (struct fake_seg){ p->in, r->len, false };
	}
	if (!r->no_reply_room) {
		s[n++] = (struct fake_seg){ p->out, r->wlen[0], true };
		if (r->wlen[1])
			s[n++] = (struct fake_seg){ p->out + POOL, r->wlen[1], true };
	}
	head = fake_chain(&f->r[RQ], s, n);
	fake_publish(&f->r[RQ], head);
	kick(f, RQ);
	ck_assert_msg(poll_used(f, RQ, &id, &len, WAIT_MS), "no used entry for a lying request");
	ck_assert_uint_eq(id, head);
	return len;
}

static inline struct fuse_out_header *reply_hdr(struct vfx *f, const struct pool *p)
{
	return fake_host(&f->m, p->out);
}

/* A request: header, fixed argument, name(s); the header's len is the true length. */
struct rq {
	uint8_t b[8192];
	uint32_t len;
};

static inline void rq_start(struct rq *q, uint32_t opcode, uint64_t nodeid, uint64_t unique)
{
	struct fuse_in_header h = { .opcode = opcode, .unique = unique, .nodeid = nodeid,
				    .uid = getuid(), .gid = getgid(), .pid = 1 };

	memcpy(q->b, &h, sizeof(h));
	q->len = sizeof(h);
}

static inline void rq_put(struct rq *q, const void *p, uint32_t n)
{
	ck_assert_uint_le(q->len + n, sizeof(q->b));
	memcpy(q->b + q->len, p, n);
	q->len += n;
}

static inline void rq_set_len(struct rq *q, uint32_t len)
{
	memcpy(q->b + offsetof(struct fuse_in_header, len), &len, sizeof(len));
}

static inline void rq_seal(struct rq *q)
{
	rq_set_len(q, q->len);
}

/* Sends q with a roomy reply buffer; returns the reply's error, checking its framing. */
static inline int32_t send_rq(struct vfx *f, const struct pool *p, const struct rq *q)
{
	struct raw r = { .bytes = q->b, .len = q->len, .wlen = { 4096 } };
	uint32_t len = raw_submit(f, p, &r);
	struct fuse_out_header *oh = reply_hdr(f, p);

	ck_assert_uint_ge(len, OH);
	ck_assert_uint_eq(oh->len, len);
	ck_assert_uint_eq(oh->unique, ((const struct fuse_in_header *)q->b)->unique);
	return oh->error;
}

/* on_vcpu: quick requests are served inside the notify write (serve_on_vcpu). */
static inline void up(struct vfx *f, struct pool *p, bool on_vcpu)
{
	struct vfx_opts o = { .workers = 2, .on_vcpu = on_vcpu };

	vfx_init(f, &o);
	vfx_up(f);
	fuse_init(f, RQ);
	*p = pool_get(f);
}

#endif
