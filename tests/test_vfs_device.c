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
#include "vfs_fixture.h"

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
	struct vfx_opts o = { .workers = 2, .on_vcpu = _i }; /* 1: served on the vCPU */
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
	struct vfx_opts o = { .workers = 2, .on_vcpu = _i }; /* 1: served on the vCPU */
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

/* ---- quick requests served on the notifying vCPU (serve_on_vcpu) ---- */

/* A reply already on the used ring when the notify write returned, or not. */
static bool replied_at_once(struct vfx *f, const struct req *r)
{
	uint32_t id, len;

	if (!fake_ring_get_used(&f->r[r->q], &id, &len))
		return false;
	ck_assert_uint_eq(id, r->head);
	check_reply(f, r, len, 0);
	fake_set_used_event(&f->r[r->q], f->r[r->q].last_used);
	ck_assert(take_irq(f) & VIRTIO_MMIO_INT_VRING);
	return true;
}

static struct req submit_mkdir(struct vfx *f, const char *name)
{
	struct {
		struct fuse_mkdir_in in;
		char name[16];
	} arg = { .in = { .mode = 0755, .umask = 022 } };
	struct fuse_call c = { .opcode = FUSE_MKDIR, .nodeid = FUSE_ROOT_ID, .arg = &arg,
			       .arglen = (uint32_t)(sizeof(arg.in) + strlen(name) + 1),
			       .body = { sizeof(struct fuse_entry_out) } };

	snprintf(arg.name, sizeof(arg.name), "%s", name);
	return submit(f, 1, &c);
}

START_TEST(quick_requests_are_answered_inside_the_notify_write)
{
	struct vfx_opts o = { .workers = 1, .on_vcpu = true };
	char dir[80];
	struct stat st;
	struct req r;
	struct vfx f;

	vfx_init(&f, &o);
	vfx_up(&f);
	fuse_init(&f, 1); /* INIT is not quick: a worker answers it */
	ck_assert_uint_eq(atomic_load(&f.dev.vcpu_served), 0);
	r = submit_getattr(&f, 1, FUSE_ROOT_ID);
	ck_assert_msg(replied_at_once(&f, &r), "GETATTR was not served by the notifying thread");
	lookup(&f, 1, FILE_NAME);
	ck_assert_uint_eq(atomic_load(&f.dev.vcpu_served), 2);
	/* MKDIR may wait on the host file system: left to a worker, which answers it. */
	r = submit_mkdir(&f, "made");
	ck_assert_uint_eq(wait_reply(&f, &r), OH + sizeof(struct fuse_entry_out));
	ck_assert(take_irq(&f) & VIRTIO_MMIO_INT_VRING);
	ck_assert_uint_eq(atomic_load(&f.dev.vcpu_served), 2);
	snprintf(dir, sizeof(dir), "%s/made", f.dir);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(rmdir(dir), 0);
	vfx_fini(&f);
}
END_TEST

struct vcpu_kick {
	struct vfx *f;
	_Atomic bool done;
	pthread_t thread;
};

static void *vcpu_kick_main(void *arg)
{
	struct vcpu_kick *k = arg;

	kick(k->f, 1);
	atomic_store(&k->done, true);
	return NULL;
}

/*
 * One "vCPU" is inside a GETATTR that blocks in the backend. A second vCPU's request
 * must not wait for it: the busy device hands it to a worker. A reset waits for the
 * blocked vCPU like it waits for a blocked worker.
 */
START_TEST(a_vcpu_stuck_in_a_request_stalls_neither_the_queue_nor_a_reset)
{
	struct vfx_opts o = { .workers = 1, .slow = true, .on_vcpu = true };
	struct fuse_call c = getattr_call(SLOW_NODE);
	struct vcpu_kick k = { 0 };
	struct async_reset a;
	struct req slow, quick;
	struct vfx f;

	vfx_init(&f, &o);
	vfx_up(&f);
	fuse_init(&f, 1);
	/* Published here, kicked by the other thread, which then serves it and blocks. */
	slow = submit_unkicked(&f, 1, &c);
	k.f = &f;
	ck_assert_int_eq(pthread_create(&k.thread, NULL, vcpu_kick_main, &k), 0);
	ck_assert_msg(wait_entered(&f, 1), "the slow GETATTR never reached the backend");
	quick = submit_getattr(&f, 1, FUSE_ROOT_ID);
	expect_attr_reply(&f, &quick, FUSE_ROOT_ID);
	ck_assert(take_irq(&f) & VIRTIO_MMIO_INT_VRING);
	ck_assert(!atomic_load(&k.done));
	async_reset_start(&a, &f, false);
	ck_assert(!wait_flag(&a.done, 200)); /* the reset waits for the stuck vCPU */
	slow_release(&f.slow, false);
	async_reset_finish(&a, &f);
	ck_assert(wait_flag(&k.done, WAIT_MS));
	ck_assert_int_eq(pthread_join(k.thread, NULL), 0);
	expect_attr_reply(&f, &slow, SLOW_NODE);
	ck_assert_uint_eq(atomic_load(&f.dev.vcpu_served), 1);
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

int main(void)
{
	Suite *s = suite_create("vfs_device");
	TCase *tc = tcase_create("device");
	SRunner *sr;
	int failed;

	/* Each wait is bounded by WAIT_MS; the case limit only has to cover a few of them. */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, config_space_holds_the_tag_and_the_queue_count);
	tcase_add_test(tc, a_short_tag_is_nul_padded);
	tcase_add_test(tc, shm_region_zero_is_the_dax_window_only_when_configured);
	tcase_add_test(tc, a_fuse_session_runs_over_the_request_and_hiprio_queues);
	tcase_add_loop_test(tc, malformed_chains_get_an_empty_used_entry_and_the_queue_carries_on, 0, 2);
	tcase_add_loop_test(tc, a_corrupt_avail_index_needs_reset_and_a_reset_recovers, 0, 2);
	tcase_add_test(tc, a_blocked_request_does_not_stall_its_queue);
	tcase_add_test(tc, reset_waits_for_a_request_blocked_in_the_backend);
	tcase_add_test(tc, reset_wakes_a_backend_that_honours_cancel_waits);
	tcase_add_test(tc, destroy_waits_for_a_request_blocked_in_the_backend);
	tcase_add_test(tc, the_second_request_queue_is_served);
	tcase_add_test(tc, quick_requests_are_answered_inside_the_notify_write);
	tcase_add_test(tc, a_vcpu_stuck_in_a_request_stalls_neither_the_queue_nor_a_reset);
	tcase_add_test(tc, destroy_after_a_refused_init_is_harmless);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
