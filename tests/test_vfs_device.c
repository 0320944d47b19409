/* test_vfs_device.c: the real virtio-fs device and workers, driven as Linux's virtio_fs driver does. */
/*
 * No KVM: guest RAM is a plain buffer, QUEUE_NOTIFY writes go through the transport's bus
 * callback (which signals the queue's notify eventfd, as KVM's ioeventfd would), and
 * interrupts are read from the irq eventfd and INTERRUPT_STATUS. Requests are laid out as
 * fs/fuse/virtio_fs.c lays them out (tests/vfs_fixture.h); every wait is bounded.
 *
 * Constraint found here (see reset_waits_for_a_request_blocked_in_the_backend): a reset
 * (STATUS = 0, or vfs_device_destroy) joins the workers while holding the transport
 * lock, so it waits for every request already inside the backend. A backend op that
 * blocks must either return on its own or be woken by fuse_server_cancel_waits (the
 * backend's interrupt op with unique 0), or the vCPU writing STATUS stalls with it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include "vfs_fixture.h"
#include "../devices/virtio_fs/worker.h"

/* ---- configuration space and registers ---- */

static uint8_t cfg_byte(struct vfx *f, uint32_t off)
{
	uint8_t b = 0xee;

	vmmio_bus_read(&f->dev.transport, VIRTIO_MMIO_CONFIG + off, &b, 1);
	return b;
}

START_TEST(config_space_holds_the_tag_and_the_queue_count)
{
	static const char tag36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	struct vfx_opts o = { .tag = tag36, .request_queues = 3, .workers = 1 };
	uint32_t n;
	uint8_t b = 0x5a;
	unsigned i;
	struct vfx f;

	ck_assert_uint_eq(strlen(tag36), VFS_TAG_BYTES);
	vfx_init(&f, &o);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_MAGIC_VALUE), VMMIO_MAGIC);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_VERSION), 2);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_DEVICE_ID), 26);
	/* virtio_cread_bytes reads the tag a byte at a time: all 36, no terminating NUL. */
	for (i = 0; i < VFS_TAG_BYTES; i++)
		ck_assert_uint_eq(cfg_byte(&f, i), (uint8_t)tag36[i]);
	/* virtio_cread_le: num_request_queues, one 32-bit little-endian read. */
	vmmio_bus_read(&f.dev.transport, VIRTIO_MMIO_CONFIG + VFS_TAG_BYTES, (uint8_t *)&n, 4);
	ck_assert_uint_eq(le32toh(n), 3);
	ck_assert_uint_eq(cfg_byte(&f, 36), 3);
	ck_assert_uint_eq(cfg_byte(&f, 39), 0);
	ck_assert_uint_eq(cfg_byte(&f, 40), 0); /* past the end reads as zero */
	/* The config space is read-only. */
	vmmio_bus_write(&f.dev.transport, VIRTIO_MMIO_CONFIG, &b, 1);
	ck_assert_uint_eq(cfg_byte(&f, 0), '0');
	/* Hiprio plus three request queues exist, a fifth does not. */
	for (i = 0; i < 5; i++) {
		wr(&f, VIRTIO_MMIO_QUEUE_SEL, i);
		ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), i < 4 ? VFS_QUEUE_SIZE : 0);
	}
	vfx_fini(&f);
}
END_TEST

START_TEST(a_short_tag_is_nul_padded)
{
	struct vfx_opts o = { .tag = "myfs", .request_queues = 1, .workers = 1 };
	struct vfx f;
	unsigned i;

	vfx_init(&f, &o);
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(cfg_byte(&f, i), (uint8_t)"myfs"[i]);
	for (i = 4; i < VFS_TAG_BYTES; i++)
		ck_assert_uint_eq(cfg_byte(&f, i), 0);
	ck_assert_uint_eq(cfg_byte(&f, 36), 1);
	vfx_fini(&f);
}
END_TEST

static uint64_t shm_reg(struct vfx *f, uint32_t id, uint64_t lo)
{
	wr(f, VIRTIO_MMIO_SHM_SEL, id);
	return rd(f, lo) | (uint64_t)rd(f, lo + 4) << 32;
}

START_TEST(shm_region_zero_is_the_dax_window_only_when_configured)
{
	struct vfx_opts o = { .workers = 1 };
	struct vfx f;

	vfx_init(&f, &o);
	ck_assert_uint_eq(shm_reg(&f, 0, VIRTIO_MMIO_SHM_LEN_LOW), ~0ULL);
	ck_assert_uint_eq(shm_reg(&f, 0, VIRTIO_MMIO_SHM_BASE_LOW), ~0ULL);
	vfx_fini(&f);

	o.dax = (struct vmmio_shm_region){ .base = 0x200000000ULL, .len = 0x140000000ULL };
	vfx_init(&f, &o);
	ck_assert_uint_eq(shm_reg(&f, 0, VIRTIO_MMIO_SHM_LEN_LOW), 0x140000000ULL);
	ck_assert_uint_eq(shm_reg(&f, 0, VIRTIO_MMIO_SHM_BASE_LOW), 0x200000000ULL);
	ck_assert_uint_eq(shm_reg(&f, 1, VIRTIO_MMIO_SHM_LEN_LOW), ~0ULL); /* no region 1 */
	vfx_fini(&f);
}
END_TEST

/* ---- a FUSE session against the passthrough backend ---- */

static void expect_file_bytes(const uint8_t *p, uint32_t off, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		ck_assert_uint_eq(p[i], ((off + i) * 7 + 3) & 0xff);
}

static void read_file(struct vfx *f, uint64_t nodeid, uint64_t fh, uint32_t off,
		      const uint32_t body[2], uint32_t expect)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = body[0] + body[1] };
	struct fuse_call c = { .opcode = FUSE_READ, .nodeid = nodeid, .arg = &in,
			       .arglen = sizeof(in), .body = { body[0], body[1] } };
	uint32_t len;
	uint8_t *data = call(f, 1, &c, 0, &len);

	ck_assert_uint_eq(len, expect);
	expect_file_bytes(data, off, expect);
}

static uint64_t open_file(struct vfx *f, uint64_t nodeid)
{
	struct fuse_open_in in = { .flags = O_RDONLY };
	struct fuse_call c = { .opcode = FUSE_OPEN, .nodeid = nodeid, .arg = &in,
			       .arglen = sizeof(in), .body = { sizeof(struct fuse_open_out) } };
	struct fuse_open_out *o = call(f, 1, &c, 0, NULL);

	return o->fh;
}

static void release_file(struct vfx *f, uint64_t nodeid, uint64_t fh)
{
	struct fuse_release_in in = { .fh = fh };
	struct fuse_call c = { .opcode = FUSE_RELEASE, .nodeid = nodeid, .arg = &in,
			       .arglen = sizeof(in) };
	uint32_t len;

	call(f, 1, &c, 0, &len);
	ck_assert_uint_eq(len, 0);
}

/* FORGET: no reply at all, but the buffer comes back on the used ring, with length 0. */
static void forget_on_hiprio(struct vfx *f, uint64_t nodeid)
{
	struct fuse_forget_in in = { .nlookup = 1 };
	struct fuse_call c = { .opcode = FUSE_FORGET, .nodeid = nodeid, .arg = &in,
			       .arglen = sizeof(in), .forget = true };
	struct req r = submit(f, VFS_HIPRIO_QUEUE, &c);
	uint32_t id, len;

	ck_assert(poll_used(f, VFS_HIPRIO_QUEUE, &id, &len, WAIT_MS));
	ck_assert_uint_eq(id, r.head);
	ck_assert_uint_eq(len, 0);
	ck_assert(take_irq(f) & VIRTIO_MMIO_INT_VRING);
}

START_TEST(a_fuse_session_runs_over_the_request_and_hiprio_queues)
{
	struct vfx_opts o = { .workers = 2 };
	struct fuse_entry_out *e;
	uint64_t nodeid, fh;
	struct stat st;
	struct vfx f;

	vfx_init(&f, &o);
	vfx_up(&f);
	ck_assert_int_eq(stat(f.path, &st), 0);
	fuse_init(&f, 1);
	e = lookup(&f, 1, FILE_NAME);
	ck_assert_uint_ne(e->nodeid, 0);
	ck_assert_uint_eq(e->attr.size, FILE_LEN);
	ck_assert_uint_eq(e->attr.ino, st.st_ino);
	ck_assert_uint_eq(e->attr.mode & S_IFMT, S_IFREG);
	nodeid = e->nodeid;
	fh = open_file(&f, nodeid);
	/* The whole file into one page; then a tail split across two buffers, cut by EOF. */
	read_file(&f, nodeid, fh, 0, (uint32_t[]){ 4096, 0 }, FILE_LEN);
	read_file(&f, nodeid, fh, 2500, (uint32_t[]){ 100, 900 }, FILE_LEN - 2500);
	release_file(&f, nodeid, fh);
	forget_on_hiprio(&f, nodeid);
	/* It reached the backend: the node ID is gone. */
	getattr(&f, 1, nodeid, -ESTALE);
	ck_assert_uint_eq(fake_used_idx(&f.r[1]), 7);
	ck_assert_uint_eq(fake_used_idx(&f.r[VFS_HIPRIO_QUEUE]), 1);
	vfx_fini(&f);
}
END_TEST

/* ---- hostile rings ---- */

static void expect_empty_used(struct vfx *f, unsigned q, uint16_t head)
{
	uint32_t id, len;

	fake_publish(&f->r[q], head);
	kick(f, q);
	ck_assert(poll_used(f, q, &id, &len, WAIT_MS));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, 0);
}

START_TEST(malformed_chains_get_an_empty_used_entry_and_the_queue_carries_on)
{
	struct vfx_opts o = { .workers = 2 };
	struct fake_ring *r;
	uint64_t good, reply;
	struct vfx f;

	vfx_init(&f, &o);
	vfx_up(&f);
	fuse_init(&f, 1);
	r = &f.r[1];
	good = guest_buf(&f, 64);
	reply = guest_buf(&f, 256);
	/* A buffer wholly outside guest RAM, inside an indirect table. */
	expect_empty_used(&f, 1, fake_indirect_chain(r, (struct fake_seg[]){
		{ good, 40, false }, { RAM_BYTES + 0x1000ULL, 128, true } }, 2));
	/* A buffer straddling the end of RAM, in a direct chain. */
	expect_empty_used(&f, 1, fake_chain(r, (struct fake_seg[]){
		{ good, 40, false }, { RAM_BYTES - 16, 128, true } }, 2));
	/* A readable buffer after a writable one. */
	expect_empty_used(&f, 1, fake_chain(r, (struct fake_seg[]){
		{ reply, 16, true }, { good, 40, false } }, 2));
	/* A well-formed chain too short for a FUSE header: nothing to answer. */
	expect_empty_used(&f, 1, fake_chain(r, (struct fake_seg[]){
		{ good, 8, false }, { reply, 256, true } }, 2));
	ck_assert_uint_eq(vq_get_stats(vmmio_queue(&f.dev.transport, 1)).bad_chains, 3);
	/* Still serving, and no reset asked for. */
	getattr(&f, 1, FUSE_ROOT_ID, 0);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), ST_RUNNING);
	vfx_fini(&f);
}
END_TEST

static bool wait_status(struct vfx *f, uint32_t bits, int ms)
{
	int64_t end = now_ms() + ms;

	while ((rd(f, VIRTIO_MMIO_STATUS) & bits) != bits) {
		if (now_ms() >= end)
			return false;
		nap_ms(1);
	}
	return true;
}

START_TEST(a_corrupt_avail_index_needs_reset_and_a_reset_recovers)
{
	struct vfx_opts o = { .workers = 2 };
	struct fake_ring *r;
	struct vfx f;

	vfx_init(&f, &o);
	vfx_up(&f);
	fuse_init(&f, 1);
	r = &f.r[1];
	/* More buffers than the queue holds: the index is a lie, the ring is broken. */
	fake_set_avail_idx(r, (uint16_t)(r->avail_idx + r->size + 1));
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	ck_assert(wait_status(&f, VIRTIO_CONFIG_S_NEEDS_RESET, WAIT_MS));
	ck_assert(take_irq(&f) & VIRTIO_MMIO_INT_CONFIG);
	ck_assert_uint_eq(vq_get_stats(vmmio_queue(&f.dev.transport, 1)).ring_errors, 1);
	ck_assert_uint_eq(fake_used_idx(r), 1); /* nothing was completed from the bad ring */
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), 0);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* A new start-up on fresh rings, a new session. */
	vfx_up(&f);
	fuse_init(&f, 1);
	ck_assert_uint_eq(getattr(&f, 1, FUSE_ROOT_ID, 0)->attr.mode & S_IFMT, S_IFDIR);
	vfx_fini(&f);
}
END_TEST

/* ---- workers in parallel, and resets around a blocked request ---- */

static struct req submit_getattr(struct vfx *f, unsigned q, uint64_t nodeid)
{
	struct fuse_call c = getattr_call(nodeid);

	return submit(f, q, &c);
}

static bool wait_entered(struct vfx *f, unsigned n)
{
	int64_t end = now_ms() + WAIT_MS;

	while (slow_entered(&f->slow) < n && now_ms() < end)
		nap_ms(1);
	return slow_entered(&f->slow) >= n;
}

/* Up, INIT, and one GETATTR of SLOW_NODE parked in the backend. */
static struct req park_slow_request(struct vfx *f)
{
	struct req slow;

	vfx_up(f);
	fuse_init(f, 1);
	slow = submit_getattr(f, 1, SLOW_NODE);
	ck_assert_msg(wait_entered(f, 1), "the slow GETATTR never reached the backend");
	return slow;
}

static void expect_attr_reply(struct vfx *f, const struct req *r, uint64_t ino)
{
	struct fuse_attr_out *a;
	uint32_t len = wait_reply(f, r);

	ck_assert_uint_eq(len, OH + sizeof(*a));
	a = check_reply(f, r, len, 0);
	ck_assert_uint_eq(a->attr.ino, ino);
}

/* How often queue 1's watcher handed its role on, or had it taken over (worker.h). */
static uint64_t role_moves(struct vfx *f, bool take_overs)
{
	struct vfs_wgroup *g = f->dev.workers[1].group;
	uint64_t n;

	pthread_mutex_lock(&g->lock);
	n = take_overs ? g->take_overs : g->hand_offs;
	pthread_mutex_unlock(&g->lock);
	return n;
}

/*
 * Which worker pops the slow request, and whether its sibling was still awake to see the
 * kick, is a race: several rounds, so that a queue left unwatched cannot slip through.
 */
START_TEST(a_blocked_request_does_not_stall_its_queue)
{
	struct vfx_opts o = { .workers = 2, .slow = true };
	struct req slow, quick;
	uint32_t id, len;
	unsigned round;
	struct vfx f;

	vfx_init(&f, &o);
	vfx_up(&f);
	fuse_init(&f, 1);
	for (round = 1; round <= 8; round++) {
		slow = submit_getattr(&f, 1, SLOW_NODE);
		ck_assert_msg(wait_entered(&f, round), "round %u: slow GETATTR never arrived", round);
		/* Same queue: the other worker takes it while the first is still blocked. */
		quick = submit_getattr(&f, 1, FUSE_ROOT_ID);
		expect_attr_reply(&f, &quick, FUSE_ROOT_ID);
		ck_assert(take_irq(&f) & VIRTIO_MMIO_INT_VRING);
		ck_assert(!poll_used(&f, 1, &id, &len, 10)); /* the slow one is still out */
		slow_release(&f.slow, false);
		expect_attr_reply(&f, &slow, SLOW_NODE);
		ck_assert(take_irq(&f) & VIRTIO_MMIO_INT_VRING);
	}
	/* GETATTR is not marked as blocking: the standby took the queue over each time. */
	ck_assert_uint_ge(role_moves(&f, true), 8);
	vfx_fini(&f);
}
END_TEST

/*
 * After a quiet spell the standby sleeps without a timeout; the watcher's next request
 * must wake it, or a request that then blocks would stall the queue for good.
 */
START_TEST(a_request_blocked_after_a_quiet_spell_is_taken_over)
{
	struct vfx_opts o = { .workers = 4, .slow = true };
	struct req slow, quick;
	unsigned round;
	struct vfx f;

	vfx_init(&f, &o);
	vfx_up(&f);
	fuse_init(&f, 1);
	for (round = 1; round <= 3; round++) {
		nap_ms(30); /* several standby periods without a request */
		slow = submit_getattr(&f, 1, SLOW_NODE);
		ck_assert_msg(wait_entered(&f, round), "round %u: slow GETATTR never arrived", round);
		quick = submit_getattr(&f, 1, FUSE_ROOT_ID);
		expect_attr_reply(&f, &quick, FUSE_ROOT_ID);
		ck_assert(take_irq(&f) & VIRTIO_MMIO_INT_VRING);
		slow_release(&f.slow, false);
		expect_attr_reply(&f, &slow, SLOW_NODE);
		ck_assert(take_irq(&f) & VIRTIO_MMIO_INT_VRING);
	}
	ck_assert_uint_ge(role_moves(&f, true), 3);
	vfx_fini(&f);
}
END_TEST

struct async_reset {
	struct vfx *f;
	bool destroy; /* vfs_device_destroy instead of STATUS = 0 */
	_Atomic bool done;
	pthread_t thread;
};

static void *async_reset_main(void *arg)
{
	struct async_reset *a = arg;

	if (a->destroy)
		vfs_device_destroy(&a->f->dev);
	else
		wr(a->f, VIRTIO_MMIO_STATUS, 0);
	atomic_store(&a->done, true);
	return NULL;
}

/* On a thread of its own (a vCPU), so the test can watch it wait without hanging. */
static void async_reset_start(struct async_reset *a, struct vfx *f, bool destroy)
{
	a->f = f;
	a->destroy = destroy;
	atomic_store(&a->done, false);
	ck_assert_int_eq(pthread_create(&a->thread, NULL, async_reset_main, a), 0);
}

/* Joins only a thread that has finished: a hung reset fails the test instead. */
static void async_reset_finish(struct async_reset *a, struct vfx *f)
{
	if (!wait_flag(&a->done, WAIT_MS)) {
		slow_release(&f->slow, true);
		ck_abort_msg("reset did not finish within %d ms", WAIT_MS);
	}
	ck_assert_int_eq(pthread_join(a->thread, NULL), 0);
}

START_TEST(reset_waits_for_a_request_blocked_in_the_backend)
{
	struct vfx_opts o = { .workers = 2, .slow = true };
	struct async_reset a;
	struct req slow;
	struct vfx f;

	vfx_init(&f, &o);
	slow = park_slow_request(&f);
	async_reset_start(&a, &f, false);
	/*
	 * The reset joins the workers under the transport lock: it cannot finish while the
	 * backend holds one (and, until it does, every register access of this device waits;
	 * so the test touches no register here).
	 */
	ck_assert(!wait_flag(&a.done, 200));
	slow_release(&f.slow, false);
	async_reset_finish(&a, &f);
	/* The request finished before the rings were forgotten: its reply is on the ring. */
	expect_attr_reply(&f, &slow, SLOW_NODE);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), 0);
	ck_assert_uint_eq(f.slow.cancels, 1); /* the reset asked the backend to give up waits */
	/* And the device starts again. */
	vfx_up(&f);
	fuse_init(&f, 1);
	getattr(&f, 1, FUSE_ROOT_ID, 0);
	vfx_fini(&f);
}
END_TEST

START_TEST(reset_wakes_a_backend_that_honours_cancel_waits)
{
	struct vfx_opts o = { .workers = 1, .slow = true };
	struct async_reset a;
	struct req slow;
	struct vfx f;

	vfx_init(&f, &o);
	f.slow.cancel_releases = true;
	slow = park_slow_request(&f);
	async_reset_start(&a, &f, false);
	async_reset_finish(&a, &f);
	ck_assert_uint_eq(f.slow.cancels, 1);
	expect_attr_reply(&f, &slow, SLOW_NODE);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), 0);
	vfx_fini(&f);
}
END_TEST

START_TEST(destroy_waits_for_a_request_blocked_in_the_backend)
{
	struct vfx_opts o = { .workers = 2, .slow = true };
	struct async_reset a;
	struct vfx f;

	vfx_init(&f, &o);
	park_slow_request(&f);
	async_reset_start(&a, &f, true);
	ck_assert(!wait_flag(&a.done, 200));
	slow_release(&f.slow, false);
	async_reset_finish(&a, &f);
	ck_assert_uint_eq(f.dev.nworkers, 0);
	vfx_fini(&f); /* a second destroy is harmless */
}
END_TEST

/* ---- more than one request queue ---- */

START_TEST(the_second_request_queue_is_served)
{
	struct vfx_opts o = { .request_queues = 2, .workers = 1 };
	struct fuse_entry_out *e;
	struct vfx f;

	vfx_init(&f, &o);
	vfx_up(&f);
	fuse_init(&f, 2);
	e = lookup(&f, 2, FILE_NAME);
	ck_assert_uint_eq(e->attr.size, FILE_LEN);
	ck_assert_uint_eq(getattr(&f, 2, e->nodeid, 0)->attr.size, FILE_LEN);
	ck_assert_uint_eq(fake_used_idx(&f.r[2]), 3);
	ck_assert_uint_eq(fake_used_idx(&f.r[1]), 0);
	/* Both request queues share the one session. */
	getattr(&f, 1, e->nodeid, 0);
	vfx_fini(&f);
}
END_TEST

START_TEST(destroy_after_a_refused_init_is_harmless)
{
	struct vfs_device_config dc = { .tag = "x", .request_queues = 0 };
	struct fake_mem m;
	struct vfs_device dev;

	ck_assert_int_eq(fake_mem_init(&m, 1 << 20), 0);
	ck_assert_int_eq(vfs_device_init(&dev, &dc, &m.mem, LAYOUT_VIRTIO_MMIO_BASE, GSI), -EINVAL);
	/* vmm/shares.c destroys a share whose device init failed. */
	vfs_device_destroy(&dev);
	fake_mem_destroy(&m);
}
END_TEST

/* ---- many requests: bursts, a stress loop, round-trip timings ---- */

/*
 * Requests on fixed slots (an indirect table each), resubmitted without allocating:
 * loops of 100k requests would otherwise run out of the fixture's guest RAM and ring.
 * A slot carries a GETATTR of the root (quick) or a SETATTR truncating FILE_NAME to its
 * own size, a request the watcher hands on before serving (devices/virtio_fs/worker.c).
 */
#define LOOP_SLOTS 512U
#define ARG_MAX sizeof(struct fuse_setattr_in)
#define REPLY_LEN (OH + sizeof(struct fuse_attr_out))
/* ck_assert reports every pass through a pipe: a system call too many for timed loops. */
#define FAST_CHECK(cond, ...)                                                      \
	do {                                                                       \
		if (!(cond))                                                       \
			ck_abort_msg(__VA_ARGS__);                                 \
	} while (0)

struct slot {
	uint16_t head;
	bool setattr;
	uint64_t table, in, reply; /* gpas */
	uint64_t unique;
};

struct loop {
	struct vfx *f;
	unsigned q;
	bool event_idx;
	int notify_fd;
	mode_t mode;              /* S_IFMT the backend answers for the root */
	uint64_t file;            /* FILE_NAME's node ID, for SETATTRs */
	unsigned nslots, nfree;
	struct slot slot[LOOP_SLOTS];
	uint16_t free[LOOP_SLOTS];       /* slots not in flight */
	int16_t by_head[VFS_QUEUE_SIZE]; /* descriptor head -> slot, -1: not ours */
	uint64_t done;
	uint64_t foreign; /* used entries of requests sent otherwise (the slow ones) */
};

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* vfx_up with or without VIRTIO_RING_F_EVENT_IDX. */
static void loop_up(struct vfx *f, bool event_idx)
{
	uint64_t features = F_LINUX & ~(event_idx ? 0 : 1ULL << VIRTIO_RING_F_EVENT_IDX);
	unsigned q;

	for (q = 0; q < f->nq; q++) {
		ck_assert_int_eq(fake_ring_init(&f->r[q], &f->m, VFS_QUEUE_SIZE), 0);
		f->kicked[q] = 0;
	}
	ck_assert_uint_eq(fake_mmio_bring_up(&f->dev.transport, features, f->r, f->nq), ST_RUNNING);
}

/* After up and INIT: nslots slots on queue 1; SETATTRs need the passthrough backend. */
static void loop_init(struct loop *l, struct vfx *f, unsigned nslots, bool event_idx, bool file)
{
	struct fake_ring *r = &f->r[1];
	unsigned i;

	memset(l, 0, sizeof(*l));
	l->f = f;
	l->q = 1;
	l->event_idx = event_idx;
	l->notify_fd = vmmio_notify_fd(&f->dev.transport, 1);
	l->mode = S_IFDIR;
	if (file) {
		/* The fixture's kick follows EVENT_IDX; with old = 0 it always notifies. */
		f->kicked[1] = 0;
		l->file = lookup(f, 1, FILE_NAME)->nodeid;
	}
	l->nslots = l->nfree = nslots;
	memset(l->by_head, 0xff, sizeof(l->by_head));
	for (i = 0; i < nslots; i++) {
		struct slot *s = &l->slot[i];

		s->table = guest_buf(f, 3 * 16);
		s->in = guest_buf(f, sizeof(struct fuse_in_header) + ARG_MAX);
		s->reply = guest_buf(f, REPLY_LEN);
		s->head = r->next_desc++ % r->size;
		fake_desc(r, s->head, s->table, 3 * 16, VRING_DESC_F_INDIRECT, 0);
		l->by_head[s->head] = (int16_t)i;
		l->free[i] = (uint16_t)(nslots - 1 - i);
	}
}

/* Lay out s as virtio_fs.c would: header, argument, reply header + body. */
static void slot_fill(struct loop *l, struct slot *s, const struct fuse_in_header *h,
		      const void *arg, uint32_t arglen)
{
	struct fake_mem *m = &l->f->m;

	memcpy(fake_host(m, s->in), h, sizeof(*h));
	memcpy(fake_host(m, s->in + sizeof(*h)), arg, arglen);
	memset(fake_host(m, s->reply), 0, REPLY_LEN);
	fake_table_desc(m, s->table, 0, s->in, sizeof(*h), VRING_DESC_F_NEXT, 1);
	fake_table_desc(m, s->table, 1, s->in + sizeof(*h), arglen, VRING_DESC_F_NEXT, 2);
	fake_table_desc(m, s->table, 2, s->reply, REPLY_LEN, VRING_DESC_F_WRITE, 0);
}

/* Publish a GETATTR of the root, or a truncation of FILE_NAME; the caller kicks. */
static void loop_submit(struct loop *l, bool setattr)
{
	struct slot *s = &l->slot[l->free[--l->nfree]];
	struct fuse_setattr_in sin = { .valid = FATTR_SIZE, .size = FILE_LEN };
	struct fuse_getattr_in gin = { 0 };
	uint32_t arglen = setattr ? sizeof(sin) : sizeof(gin);
	struct fuse_in_header h = {
		.len = (uint32_t)sizeof(h) + arglen,
		.opcode = setattr ? FUSE_SETATTR : FUSE_GETATTR, .unique = ++l->f->unique,
		.nodeid = setattr ? l->file : FUSE_ROOT_ID,
		.uid = getuid(), .gid = getgid(), .pid = 1,
	};

	s->unique = h.unique;
	s->setattr = setattr;
	slot_fill(l, s, &h, setattr ? (const void *)&sin : &gin, arglen);
	fake_publish(&l->f->r[l->q], s->head);
}

/* virtqueue_kick_prepare, with or without EVENT_IDX; the ioeventfd write KVM would do. */
static void loop_kick(struct loop *l)
{
	struct fake_ring *r = &l->f->r[l->q];
	uint16_t old = l->f->kicked[l->q];
	uint64_t one = 1;
	bool need;

	l->f->kicked[l->q] = r->avail_idx;
	atomic_thread_fence(memory_order_seq_cst);
	if (l->event_idx)
		need = vq_need_event(fake_avail_event(r), r->avail_idx, old);
	else
		need = !(fake_used_flags(r) & VRING_USED_F_NO_NOTIFY);
	if (need)
		FAST_CHECK(write(l->notify_fd, &one, sizeof(one)) == sizeof(one), "kick failed");
}

static void slot_check(struct loop *l, struct slot *s, uint32_t len)
{
	struct fuse_out_header *oh = fake_host(&l->f->m, s->reply);
	struct fuse_attr_out *a = (struct fuse_attr_out *)(oh + 1);
	uint32_t mode = s->setattr ? S_IFREG : l->mode;

	FAST_CHECK(len == REPLY_LEN && oh->len == REPLY_LEN && oh->unique == s->unique &&
			   oh->error == 0,
		   "bad reply: used len %u, len %u, unique %llu (sent %llu), error %d", len,
		   oh->len, (unsigned long long)oh->unique, (unsigned long long)s->unique,
		   oh->error);
	FAST_CHECK((a->attr.mode & S_IFMT) == mode && (!s->setattr || a->attr.size == FILE_LEN),
		   "mode %o, size %llu", a->attr.mode, (unsigned long long)a->attr.size);
}

/* Take every used entry there is, checking replies to our slots; returns how many. */
static unsigned loop_reap(struct loop *l)
{
	uint32_t id, len;
	unsigned n = 0;

	while (fake_ring_get_used(&l->f->r[l->q], &id, &len)) {
		FAST_CHECK(id < VFS_QUEUE_SIZE, "used id %u out of range", id);
		n++;
		if (l->by_head[id] < 0) {
			l->foreign++;
			continue;
		}
		slot_check(l, &l->slot[l->by_head[id]], len);
		l->free[l->nfree++] = (uint16_t)l->by_head[id];
		l->done++;
	}
	return n;
}

/* Spin until at least one request completes; false after WAIT_MS without progress. */
static bool loop_wait_one(struct loop *l, bool yield)
{
	int64_t end = clock_ns(CLOCK_MONOTONIC) + (int64_t)WAIT_MS * 1000000;

	while (loop_reap(l) == 0) {
		if (clock_ns(CLOCK_MONOTONIC) > end)
			return false;
		if (yield)
			sched_yield();
	}
	return true;
}

/* Linux's virtqueue_enable_cb, then sleep until the interrupt; take what came. */
static void loop_wait_irq(struct loop *l)
{
	struct fake_ring *r = &l->f->r[l->q];
	struct pollfd p = { .fd = vmmio_irq_fd(&l->f->dev.transport), .events = POLLIN };
	uint64_t count;

	for (;;) {
		fake_set_used_event(r, r->last_used);
		atomic_thread_fence(memory_order_seq_cst);
		if (loop_reap(l))
			return;
		FAST_CHECK(poll(&p, 1, WAIT_MS) == 1, "no interrupt within %d ms", WAIT_MS);
		FAST_CHECK(read(p.fd, &count, sizeof(count)) == sizeof(count), "irqfd read");
		wr(l->f, VIRTIO_MMIO_INTERRUPT_ACK, rd(l->f, VIRTIO_MMIO_INTERRUPT_STATUS));
	}
}

/* n requests published at once behind a single kick, all answered. */
static void loop_burst(struct loop *l, unsigned n, bool setattrs)
{
	unsigned i;

	for (i = 0; i < n; i++)
		loop_submit(l, setattrs && (i & 1));
	loop_kick(l);
	while (l->nfree < l->nslots)
		FAST_CHECK(loop_wait_one(l, true), "%u of %u requests never answered",
			   l->nslots - l->nfree, n);
}

/* Eight bursts of LOOP_SLOTS requests (half of them SETATTRs) behind one kick each. */
static void bursts_complete(unsigned workers)
{
	struct vfx_opts o = { .workers = workers };
	struct loop l;
	unsigned i;
	struct vfx f;

	vfx_init(&f, &o);
	vfx_up(&f);
	fuse_init(&f, 1);
	loop_init(&l, &f, LOOP_SLOTS, true, true);
	for (i = 0; i < 8; i++)
		loop_burst(&l, LOOP_SLOTS, true);
	ck_assert_uint_eq(l.done, 8 * LOOP_SLOTS);
	ck_assert_uint_eq(l.foreign, 0);
	vfx_fini(&f);
}

START_TEST(bursts_complete_with_one_worker)
{
	bursts_complete(1);
}
END_TEST

START_TEST(bursts_complete_with_four_workers)
{
	bursts_complete(4);
}
END_TEST

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Nothing, a short spin, a yield, or a real sleep: catches workers in every state. */
static void random_pause(uint32_t *rng)
{
	uint32_t r = xorshift(rng) % 16;
	int64_t until;

	if (r < 8)
		return;
	if (r < 12) {
		until = clock_ns(CLOCK_MONOTONIC) + (int64_t)(xorshift(rng) % 30000);
		while (clock_ns(CLOCK_MONOTONIC) < until)
			;
	} else if (r < 15) {
		sched_yield();
	} else {
		usleep(20 + xorshift(rng) % 60);
	}
}

/*
 * n requests (a quarter SETATTRs, which move the watcher role) in random batches of 1-16
 * behind one kick, up to 64 in flight, with random pauses; the guest waits for a
 * completion whenever it cannot or will not send more. A lost wake-up leaves requests
 * in flight that nobody serves: the wait fails.
 */
static void stress(unsigned workers, bool event_idx, uint64_t n)
{
	struct vfx_opts o = { .workers = workers };
	uint32_t rng = 0x9e3779b9U ^ workers ^ (event_idx ? 0x100 : 0);
	uint64_t sent = 0;
	struct loop l;
	struct vfx f;

	vfx_init(&f, &o);
	loop_up(&f, event_idx);
	fuse_init(&f, 1);
	loop_init(&l, &f, 64, event_idx, true);
	while (l.done < n) {
		if (sent < n && l.nfree > 0) {
			unsigned k = 1 + xorshift(&rng) % (l.nfree < 16 ? l.nfree : 16), i;

			for (i = 0; i < k && sent < n; i++, sent++)
				loop_submit(&l, xorshift(&rng) % 4 == 0);
			loop_kick(&l);
		}
		random_pause(&rng);
		if (l.nfree == 0 || sent == n || (xorshift(&rng) & 1))
			FAST_CHECK(loop_wait_one(&l, true),
				   "lost wake-up: %u requests in flight, %llu done, avail_event %u",
				   l.nslots - l.nfree, (unsigned long long)l.done,
				   fake_avail_event(&f.r[1]));
		else
			loop_reap(&l);
	}
	ck_assert_uint_eq(l.done, n);
	vfx_fini(&f);
}

START_TEST(no_lost_wakeups_under_stress_one_worker)
{
	stress(1, true, 100000);
	stress(1, false, 20000);
}
END_TEST

START_TEST(no_lost_wakeups_under_stress_four_workers)
{
	stress(4, true, 100000);
	stress(4, false, 20000);
}
END_TEST

/*
 * Requests behind blocked ones (GETATTRs the opcode does not mark as blocking): with
 * three of four workers blocked the fourth serves a burst; with all four blocked the
 * burst waits, and flows once they return.
 */
START_TEST(bursts_flow_past_blocked_requests)
{
	struct vfx_opts o = { .workers = 4, .slow = true };
	struct loop l;
	unsigned i;
	struct vfx f;

	vfx_init(&f, &o);
	vfx_up(&f);
	fuse_init(&f, 1);
	loop_init(&l, &f, 256, true, false);
	l.mode = S_IFREG; /* what the slow backend answers */
	for (i = 0; i < 3; i++)
		submit_getattr(&f, 1, SLOW_NODE);
	ck_assert(wait_entered(&f, 3));
	loop_burst(&l, 256, false);
	ck_assert_uint_eq(l.foreign, 0);
	submit_getattr(&f, 1, SLOW_NODE);
	ck_assert(wait_entered(&f, 4));
	for (i = 0; i < 100; i++)
		loop_submit(&l, false);
	loop_kick(&l);
	nap_ms(50);
	ck_assert_uint_eq(loop_reap(&l), 0);
	slow_release(&f.slow, true);
	while (l.nfree < l.nslots || l.foreign < 4)
		FAST_CHECK(loop_wait_one(&l, true), "%u requests never answered",
			   l.nslots - l.nfree);
	ck_assert_uint_eq(l.done, 356);
	ck_assert_uint_eq(l.foreign, 4);
	vfx_fini(&f);
}
END_TEST

static struct req submit_lk(struct vfx *f, uint32_t opcode, uint64_t nodeid, uint64_t fh,
			    uint64_t owner, uint32_t type)
{
	struct fuse_lk_in in = { .fh = fh, .owner = owner,
				 .lk = { .start = 0, .end = 99, .type = type, .pid = 7 } };
	struct fuse_call c = { .opcode = opcode, .nodeid = nodeid, .arg = &in,
			       .arglen = sizeof(in) };

	return submit(f, 1, &c);
}

/*
 * The guest's deadlock case: a SETLKW waits for a lock whose UNLOCK is queued behind it
 * on the same queue. The worker serving the SETLKW gives the queue up first.
 */
START_TEST(a_waiting_setlkw_leaves_its_queue_to_others)
{
	struct vfx_opts o = { .workers = 2 };
	struct req r, wait;
	uint64_t node, fh;
	uint32_t id, len;
	struct vfx f;

	vfx_init(&f, &o);
	vfx_up(&f);
	fuse_init(&f, 1);
	node = lookup(&f, 1, FILE_NAME)->nodeid;
	fh = open_file(&f, node);
	r = submit_lk(&f, FUSE_SETLK, node, fh, 1, F_WRLCK);
	ck_assert_uint_eq(wait_reply(&f, &r), OH);
	check_reply(&f, &r, OH, 0);
	wait = submit_lk(&f, FUSE_SETLKW, node, fh, 2, F_WRLCK);
	ck_assert(!poll_used(&f, 1, &id, &len, 20)); /* owner 1 holds the range */
	/* Handed on at once, not left to the standby's timer. */
	ck_assert_uint_eq(role_moves(&f, false), 1);
	getattr(&f, 1, FUSE_ROOT_ID, 0);
	r = submit_lk(&f, FUSE_SETLK, node, fh, 1, F_UNLCK);
	ck_assert_uint_eq(wait_reply(&f, &r), OH);
	check_reply(&f, &r, OH, 0);
	ck_assert_uint_eq(wait_reply(&f, &wait), OH); /* owner 2 has it now */
	check_reply(&f, &wait, OH, 0);
	vfx_fini(&f);
}
END_TEST

/* After traffic the workers sleep, the standby too once it has seen a few quiet periods. */
START_TEST(idle_workers_use_no_cpu)
{
	struct vfx_opts o = { .workers = 4 };
	int64_t cpu;
	struct loop l;
	unsigned i;
	struct vfx f;

	vfx_init(&f, &o);
	vfx_up(&f);
	fuse_init(&f, 1);
	loop_init(&l, &f, 64, true, true);
	for (i = 0; i < 2000; i++) {
		loop_submit(&l, i % 3 == 0);
		loop_kick(&l);
		FAST_CHECK(loop_wait_one(&l, false), "no answer");
	}
	loop_burst(&l, 64, true);
	nap_ms(50); /* the standby's quiet periods */
	cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	nap_ms(200);
	cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu;
	ck_assert_msg(cpu < 5000000, "%lld ns of CPU in 200 ms of idleness", (long long)cpu);
	vfx_fini(&f);
}
END_TEST

/* ---- timings, printed only: VFS_DEVICE_TIMING=1 tests/test_vfs_device ---- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

#define TIMING_N 20000U

/* One request at a time; the guest spins on the used ring or sleeps until the interrupt. */
static void time_one_at_a_time(struct loop *l, bool setattr, bool irq, unsigned workers)
{
	static int64_t t[TIMING_N];
	int64_t cpu = 0;
	unsigned i;

	for (i = 0; i < TIMING_N + 1000; i++) { /* the first 1000 warm up */
		int64_t t0 = clock_ns(CLOCK_MONOTONIC);

		if (i == 1000)
			cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
		loop_submit(l, setattr);
		loop_kick(l);
		if (irq)
			loop_wait_irq(l);
		else
			FAST_CHECK(loop_wait_one(l, false), "no answer");
		if (i >= 1000)
			t[i - 1000] = clock_ns(CLOCK_MONOTONIC) - t0;
	}
	cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu;
	qsort(t, TIMING_N, sizeof(t[0]), cmp_i64);
	printf("vfs timing: %u worker(s), %-7s guest %-5s: median %6.2f us, p10 %6.2f, "
	       "p90 %6.2f; CPU %6.2f us per request, guest included\n", workers,
	       setattr ? "SETATTR" : "GETATTR", irq ? "irq" : "spins", t[TIMING_N / 2] / 1e3,
	       t[TIMING_N / 10] / 1e3, t[TIMING_N * 9 / 10] / 1e3, (double)cpu / TIMING_N / 1e3);
}

static void time_bursts(struct loop *l, unsigned workers)
{
	int64_t t0 = clock_ns(CLOCK_MONOTONIC), cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	unsigned i;

	for (i = 0; i < 300; i++)
		loop_burst(l, 64, false);
	printf("vfs timing: %u worker(s), bursts of 64 GETATTRs: %6.2f us per request, "
	       "CPU %6.2f us\n", workers, (clock_ns(CLOCK_MONOTONIC) - t0) / 1e3 / (300 * 64),
	       (clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu) / 1e3 / (300 * 64));
}

START_TEST(timing_of_round_trips)
{
	static const unsigned workers[] = { 1, 2, 4 };
	struct loop l;
	unsigned i;

	if (!getenv("VFS_DEVICE_TIMING"))
		return;
	for (i = 0; i < ARRAY_SIZE(workers); i++) {
		struct vfx_opts o = { .workers = workers[i] };
		struct vfx f;

		vfx_init(&f, &o);
		vfx_up(&f);
		fuse_init(&f, 1);
		loop_init(&l, &f, 64, true, true);
		time_one_at_a_time(&l, false, false, workers[i]);
		time_one_at_a_time(&l, false, true, workers[i]);
		time_one_at_a_time(&l, true, true, workers[i]);
		time_bursts(&l, workers[i]);
		fflush(stdout);
		vfx_fini(&f);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vfs_device");
	TCase *tc = tcase_create("device"), *stress_tc;
	SRunner *sr;
	int failed;

	/* Each wait is bounded by WAIT_MS; the case limit only has to cover a few of them. */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, config_space_holds_the_tag_and_the_queue_count);
	tcase_add_test(tc, a_short_tag_is_nul_padded);
	tcase_add_test(tc, shm_region_zero_is_the_dax_window_only_when_configured);
	tcase_add_test(tc, a_fuse_session_runs_over_the_request_and_hiprio_queues);
	tcase_add_test(tc, malformed_chains_get_an_empty_used_entry_and_the_queue_carries_on);
	tcase_add_test(tc, a_corrupt_avail_index_needs_reset_and_a_reset_recovers);
	tcase_add_test(tc, a_blocked_request_does_not_stall_its_queue);
	tcase_add_test(tc, a_request_blocked_after_a_quiet_spell_is_taken_over);
	tcase_add_test(tc, reset_waits_for_a_request_blocked_in_the_backend);
	tcase_add_test(tc, reset_wakes_a_backend_that_honours_cancel_waits);
	tcase_add_test(tc, destroy_waits_for_a_request_blocked_in_the_backend);
	tcase_add_test(tc, the_second_request_queue_is_served);
	tcase_add_test(tc, destroy_after_a_refused_init_is_harmless);
	tcase_add_test(tc, bursts_complete_with_one_worker);
	tcase_add_test(tc, bursts_complete_with_four_workers);
	tcase_add_test(tc, bursts_flow_past_blocked_requests);
	tcase_add_test(tc, a_waiting_setlkw_leaves_its_queue_to_others);
	tcase_add_test(tc, idle_workers_use_no_cpu);
	suite_add_tcase(s, tc);
	/* 120k requests per test at microseconds each; sanitizer builds are several times slower. */
	stress_tc = tcase_create("stress");
	tcase_set_timeout(stress_tc, 300);
	tcase_add_test(stress_tc, no_lost_wakeups_under_stress_one_worker);
	tcase_add_test(stress_tc, no_lost_wakeups_under_stress_four_workers);
	tcase_add_test(stress_tc, timing_of_round_trips);
	suite_add_tcase(s, stress_tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
