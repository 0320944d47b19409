/* vfs_fixture.h: a virtio-fs share behind the real device, and a fake Linux virtio_fs driver for it. */
#ifndef MICROVM_TESTS_VFS_FIXTURE_H
#define MICROVM_TESTS_VFS_FIXTURE_H

#include <check.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "fake_driver.h"
#include "../devices/virtio_fs/device.h"

#define RAM_BYTES (16U << 20)
#define WAIT_MS 5000
#define MAX_Q 4
#define GSI 5
#define F_LINUX                                                                    \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |        \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC))
#define ST_RUNNING                                                                 \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |                    \
	 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)
#define LINUX_MINOR 37 /* what Debian 12's 6.1 kernel sends */
#define MAX_WRITE (64U << 10)
#define FILE_NAME "hello.txt"
#define FILE_LEN 3000U
#define SLOW_NODE 42 /* GETATTR of this node blocks in the slow backend */
#define OH sizeof(struct fuse_out_header)

/* ---- time ---- */

static inline int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static inline bool wait_flag(_Atomic bool *flag, int ms)
{
	int64_t end = now_ms() + ms;

	while (!atomic_load(flag) && now_ms() < end)
		nap_ms(1);
	return atomic_load(flag);
}

/* ---- a backend whose GETATTR of SLOW_NODE blocks until released ---- */

struct slow_be {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned entered;     /* GETATTRs of SLOW_NODE that reached the backend so far */
	unsigned released;    /* the first `released` of them may return */
	bool release_all;
	bool cancel_releases; /* fuse_server_cancel_waits (interrupt, unique 0) releases all */
	unsigned cancels;
};

static int slow_getattr(void *be, const struct fuse_ctx *c, uint64_t nodeid, struct stat *st)
{
	struct slow_be *b = be;
	struct timespec until;
	unsigned ticket;
	int err = 0;

	if (nodeid == SLOW_NODE) {
		/* Bounded even if a test forgets to release: the request then fails. */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 10;
		pthread_mutex_lock(&b->lock);
		ticket = ++b->entered;
		while (b->released < ticket && !b->release_all && err == 0)
			err = pthread_cond_timedwait(&b->cond, &b->lock, &until);
		pthread_mutex_unlock(&b->lock);
	}
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0644;
	st->st_ino = nodeid;
	return err ? -ETIMEDOUT : 0;
}

/* Lets the oldest blocked GETATTR (or, with all, every present and future one) return. */
static inline void slow_release(struct slow_be *b, bool all)
{
	pthread_mutex_lock(&b->lock);
	b->released++;
	b->release_all |= all;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void slow_interrupt(void *be, uint64_t unique)
{
	struct slow_be *b = be;

	if (unique != 0)
		return;
	pthread_mutex_lock(&b->lock);
	b->cancels++;
	pthread_mutex_unlock(&b->lock);
	if (b->cancel_releases)
		slow_release(b, true);
}

static inline unsigned slow_entered(struct slow_be *b)
{
	unsigned n;

	pthread_mutex_lock(&b->lock);
	n = b->entered;
	pthread_mutex_unlock(&b->lock);
	return n;
}

static const struct fuse_backend_ops slow_ops = {
	.getattr = slow_getattr,
	.interrupt = slow_interrupt,
};

/* ---- the fixture: guest RAM, a share, the device, and the driver's rings ---- */

struct vfx_opts {
	const char *tag;
	unsigned request_queues;
	unsigned workers;
	bool slow; /* the slow backend instead of passthrough */
	bool on_vcpu; /* serve_on_vcpu: quick requests answered inside the notify write */
	struct vmmio_shm_region dax;
};

struct vfx {
	struct fake_mem m;
	struct fake_ring r[MAX_Q];
	uint16_t kicked[MAX_Q]; /* avail index at the last kick decision */
	unsigned nq;
	char dir[32];
	char path[64];
	struct slow_be slow;
	struct fuse_server *srv;
	struct vfs_device dev;
	uint64_t unique;
};

static inline uint32_t rd(struct vfx *f, uint64_t off)
{
	return fake_mmio_read(&f->dev.transport, off);
}

static inline void wr(struct vfx *f, uint64_t off, uint32_t v)
{
	fake_mmio_write(&f->dev.transport, off, v);
}

/* The shared directory holds FILE_NAME, whose byte i is (i * 7 + 3) & 0xff. */
static inline void make_share(struct vfx *f)
{
	char data[FILE_LEN];
	FILE *fp;
	unsigned i;

	snprintf(f->dir, sizeof(f->dir), "/tmp/vfsdev-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, FILE_NAME);
	for (i = 0; i < FILE_LEN; i++)
		data[i] = (char)((i * 7 + 3) & 0xff);
	fp = fopen(f->path, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(data, 1, FILE_LEN, fp), FILE_LEN);
	ck_assert_int_eq(fclose(fp), 0);
}

static inline void vfx_init(struct vfx *f, const struct vfx_opts *o)
{
	struct fuse_server_config sc = { .cache = CACHE_AUTO, .max_write = MAX_WRITE };
	struct vfs_device_config dc = {
		.tag = o->tag ? o->tag : "share",
		.request_queues = o->request_queues ? o->request_queues : 1,
		.workers_per_queue = o->workers,
		.dax = o->dax,
		.serve_on_vcpu = o->on_vcpu,
	};

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->slow.lock, NULL);
	pthread_cond_init(&f->slow.cond, NULL);
	make_share(f);
	sc.shared_dir = f->dir;
	if (o->slow) {
		sc.backend_ops = &slow_ops;
		sc.backend = &f->slow;
	}
	ck_assert_int_eq(fuse_server_create(&sc, &f->srv), 0);
	ck_assert_int_eq(fake_mem_init(&f->m, RAM_BYTES), 0);
	dc.server = f->srv;
	f->nq = 1 + dc.request_queues;
	ck_assert_uint_le(f->nq, MAX_Q);
	ck_assert_int_eq(vfs_device_init(&f->dev, &dc, &f->m.mem, LAYOUT_VIRTIO_MMIO_BASE, GSI), 0);
}

static inline void vfx_fini(struct vfx *f)
{
	/* Whatever a test left blocked must not keep destroy from joining. */
	slow_release(&f->slow, true);
	vfs_device_destroy(&f->dev);
	fuse_server_destroy(f->srv);
	fake_mem_destroy(&f->m);
	ck_assert_int_eq(unlink(f->path), 0);
	ck_assert_int_eq(rmdir(f->dir), 0);
	pthread_cond_destroy(&f->slow.cond);
	pthread_mutex_destroy(&f->slow.lock);
}

/* virtio_mmio.c's probe: fresh zeroed rings of QUEUE_NUM_MAX entries, then DRIVER_OK. */
static inline void vfx_up(struct vfx *f)
{
	unsigned q;

	for (q = 0; q < f->nq; q++) {
		wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
		ck_assert_uint_eq(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), VFS_QUEUE_SIZE);
		ck_assert_int_eq(fake_ring_init(&f->r[q], &f->m, VFS_QUEUE_SIZE), 0);
		f->kicked[q] = 0;
	}
	ck_assert_uint_eq(fake_mmio_bring_up(&f->dev.transport, F_LINUX, f->r, f->nq), ST_RUNNING);
}

/* ---- requests, as fs/fuse/virtio_fs.c queues them ---- */

struct fuse_call {
	uint32_t opcode;
	uint64_t nodeid;
	const void *arg;
	uint32_t arglen;
	uint32_t body[2]; /* writable reply-body descriptors after the out header; 0: none */
	bool forget;      /* hiprio: one readable descriptor, nothing writable */
};

struct req {
	unsigned q;
	uint16_t head;
	uint64_t unique;
	uint64_t reply; /* gpa of the fuse_out_header */
};

/* virtqueue_kick_prepare with EVENT_IDX: notify only if avail_event was passed. */
static inline void kick(struct vfx *f, unsigned q)
{
	struct fake_ring *r = &f->r[q];
	uint16_t old = f->kicked[q];

	f->kicked[q] = r->avail_idx;
	atomic_thread_fence(memory_order_seq_cst);
	if (vq_need_event(fake_avail_event(r), r->avail_idx, old))
		wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static inline uint64_t guest_buf(struct vfx *f, uint32_t len)
{
	uint64_t gpa = fake_alloc(&f->m, len ? len : 1, 16);

	ck_assert_uint_ne(gpa, 0);
	return gpa;
}

/* In header and each argument readable, out header and each body part writable. */
static inline unsigned req_segs(struct vfx *f, const struct fuse_call *c, uint64_t in,
			 struct req *r, struct fake_seg *s)
{
	unsigned n = 0, i;
	uint64_t at;

	if (c->forget) {
		/* virtio_fs_enqueue_single_forget: header and argument in one buffer. */
		s[n++] = (struct fake_seg){ in, sizeof(struct fuse_in_header) + c->arglen, false };
		return n;
	}
	s[n++] = (struct fake_seg){ in, sizeof(struct fuse_in_header), false };
	if (c->arglen)
		s[n++] = (struct fake_seg){ in + sizeof(struct fuse_in_header), c->arglen, false };
	r->reply = guest_buf(f, OH + c->body[0] + c->body[1]);
	s[n++] = (struct fake_seg){ r->reply, OH, true };
	for (i = 0, at = r->reply + OH; i < 2 && c->body[i]; at += c->body[i], i++)
		s[n++] = (struct fake_seg){ at, c->body[i], true };
	return n;
}

/* Places the request on queue q's avail ring; the caller kicks (or not). */
static inline struct req submit_unkicked(struct vfx *f, unsigned q, const struct fuse_call *c)
{
	struct fuse_in_header h = {
		.len = (uint32_t)sizeof(h) + c->arglen,
		.opcode = c->opcode,
		.unique = ++f->unique,
		.nodeid = c->nodeid,
		.uid = getuid(),
		.gid = getgid(),
		.pid = (uint32_t)getpid(),
	};
	struct req r = { .q = q, .unique = h.unique };
	uint64_t in = guest_buf(f, h.len);
	struct fake_seg s[5];
	unsigned n;

	memcpy(fake_host(&f->m, in), &h, sizeof(h));
	if (c->arglen)
		memcpy(fake_host(&f->m, in + sizeof(h)), c->arg, c->arglen);
	n = req_segs(f, c, in, &r, s);
	/* Linux goes indirect whenever a request has more than one buffer. */
	r.head = n > 1 ? fake_indirect_chain(&f->r[q], s, n) : fake_chain(&f->r[q], s, n);
	fake_publish(&f->r[q], r.head);
	return r;
}

static inline struct req submit(struct vfx *f, unsigned q, const struct fuse_call *c)
{
	struct req r = submit_unkicked(f, q, c);

	kick(f, q);
	return r;
}

/* The next used entry of queue q, within WAIT_MS; false when none came. */
static inline bool poll_used(struct vfx *f, unsigned q, uint32_t *id, uint32_t *len, int ms)
{
	struct fake_ring *ring = &f->r[q];
	int64_t end = now_ms() + ms;

	while (!fake_ring_get_used(ring, id, len)) {
		if (now_ms() >= end)
			return false;
		nap_ms(1);
	}
	/* virtqueue_enable_cb: interrupt me for the next entry. */
	fake_set_used_event(ring, ring->last_used);
	return true;
}

/* Waits for r's used entry, which must be the queue's next one; returns its length. */
static inline uint32_t wait_reply(struct vfx *f, const struct req *r)
{
	uint32_t id = 0, len = 0;

	ck_assert_msg(poll_used(f, r->q, &id, &len, WAIT_MS), "no used entry on queue %u", r->q);
	ck_assert_uint_eq(id, r->head);
	return len;
}

/* vm_interrupt: the irq eventfd fired; read INTERRUPT_STATUS and acknowledge it. */
static inline uint32_t take_irq(struct vfx *f)
{
	struct pollfd p = { .fd = vmmio_irq_fd(&f->dev.transport), .events = POLLIN };
	uint64_t n;
	uint32_t st;

	ck_assert_msg(poll(&p, 1, WAIT_MS) == 1, "no interrupt within %d ms", WAIT_MS);
	ck_assert_int_eq(read(p.fd, &n, sizeof(n)), sizeof(n));
	st = rd(f, VIRTIO_MMIO_INTERRUPT_STATUS);
	wr(f, VIRTIO_MMIO_INTERRUPT_ACK, st);
	return st;
}

/* The reply header says what the used ring says; returns the reply body. */
static inline void *check_reply(struct vfx *f, const struct req *r, uint32_t used_len, int error)
{
	struct fuse_out_header *oh = fake_host(&f->m, r->reply);

	ck_assert_uint_eq(oh->unique, r->unique);
	ck_assert_int_eq(oh->error, error);
	ck_assert_uint_eq(oh->len, used_len);
	return (uint8_t *)oh + OH;
}

/* One request, its reply, its interrupt. *body_len: reply bytes after the header. */
static inline void *call(struct vfx *f, unsigned q, const struct fuse_call *c, int error,
		  uint32_t *body_len)
{
	struct req r = submit(f, q, c);
	uint32_t len = wait_reply(f, &r);
	void *body = check_reply(f, &r, len, error);

	ck_assert(take_irq(f) & VIRTIO_MMIO_INT_VRING);
	if (body_len)
		*body_len = len - (uint32_t)OH;
	return body;
}

static inline void fuse_init(struct vfx *f, unsigned q)
{
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION,
		.minor = LINUX_MINOR,
		.max_readahead = 128U << 10,
		.flags = FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_BIG_WRITES | FUSE_MAX_PAGES |
			 FUSE_INIT_EXT,
	};
	struct fuse_call c = { .opcode = FUSE_INIT, .arg = &in, .arglen = sizeof(in),
			       .body = { sizeof(struct fuse_init_out) } };
	struct fuse_init_out *o;
	uint32_t len;

	o = call(f, q, &c, 0, &len);
	ck_assert_uint_eq(len, sizeof(*o));
	ck_assert_uint_eq(o->major, FUSE_KERNEL_VERSION);
	ck_assert_uint_eq(o->minor, LINUX_MINOR);
	ck_assert_uint_eq(o->max_write, MAX_WRITE);
	ck_assert_uint_eq(o->max_pages, MAX_WRITE / 4096);
	ck_assert_uint_eq(o->max_readahead, in.max_readahead);
	ck_assert_uint_eq(o->flags & ~in.flags, 0); /* nothing we did not ask for */
	ck_assert(o->flags & FUSE_MAX_PAGES);
}

static inline struct fuse_call getattr_call(uint64_t nodeid)
{
	static const struct fuse_getattr_in in;

	return (struct fuse_call){ .opcode = FUSE_GETATTR, .nodeid = nodeid, .arg = &in,
				   .arglen = sizeof(in), .body = { sizeof(struct fuse_attr_out) } };
}

static inline struct fuse_attr_out *getattr(struct vfx *f, unsigned q, uint64_t nodeid, int error)
{
	struct fuse_call c = getattr_call(nodeid);

	return call(f, q, &c, error, NULL);
}

static inline struct fuse_entry_out *lookup(struct vfx *f, unsigned q, const char *name)
{
	struct fuse_call c = { .opcode = FUSE_LOOKUP, .nodeid = FUSE_ROOT_ID, .arg = name,
			       .arglen = (uint32_t)strlen(name) + 1,
			       .body = { sizeof(struct fuse_entry_out) } };
	uint32_t len;
	struct fuse_entry_out *e = call(f, q, &c, 0, &len);

	ck_assert_uint_eq(len, sizeof(*e));
	return e;
}

#endif
