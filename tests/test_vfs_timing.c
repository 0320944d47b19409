/* test_vfs_timing.c: virtio-fs round trips via the real device, always checked, timed on demand. */
/*
 * No VM: the real device, workers and passthrough backend behind tests/vfs_fixture.h.
 * The "guest" kicks by writing the queue's notify eventfd (what KVM's ioeventfd does for a
 * QUEUE_NOTIFY store, without an exit to the VMM), and takes interrupts as Linux's
 * vm_interrupt does: the irq eventfd fires, then INTERRUPT_STATUS is read and acknowledged.
 *
 * Always: replies are right, in order, one interrupt each; bursts are answered exactly
 * once; idle workers sleep. With VFS_DEVICE_TIMING=1 it also prints "vfs timing:" lines
 * (round trip percentiles, burst cost, CPU per request) for 1, 2 and 4 workers per queue;
 * times are printed, never asserted, since they depend on the machine and its load.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include "vfs_fixture.h"

/*
 * Requests live on fixed slots (an indirect table each), resubmitted without allocating:
 * tens of thousands of requests would otherwise exhaust the fixture's guest RAM and ring.
 * Every slot carries a GETATTR of the root.
 */
#define SLOTS 64U
#define REPLY_LEN (OH + sizeof(struct fuse_attr_out))
#define TABLE_LEN (3U * 16U) /* three struct vring_desc */
#define SEQUENTIAL_N 2000U
#define IDLE_MS 200
#define IDLE_CPU_NS 5000000LL
/* ck_assert reports every pass through a pipe: a system call too many for hot loops. */
#define FAST_CHECK(cond, ...)                                                      \
	do {                                                                       \
		if (!(cond))                                                       \
			ck_abort_msg(__VA_ARGS__);                                 \
	} while (0)

struct slot {
	uint16_t head;
	bool in_flight;
	uint64_t table, in, reply; /* gpas */
	uint64_t unique;
};

/* The guest side of queue 1: its slots, and what came back. */
struct loop {
	struct vfx *f;
	struct fake_ring *ring;
	int notify_fd, irq_fd;
	uint64_t root_ino;               /* the shared directory's st_ino, as GETATTR reports it */
	unsigned nfree;
	struct slot slot[SLOTS];
	uint16_t free[SLOTS];            /* slots not in flight */
	int16_t by_head[VFS_QUEUE_SIZE]; /* descriptor head -> slot, -1: not ours */
	uint64_t done;                   /* replies checked */
	uint64_t last_unique;            /* unique of the latest reply */
	uint64_t irqs;                   /* interrupts taken (eventfd counts summed) */
};

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A device with `workers` workers per queue, up, after FUSE_INIT on queue 1. */
static void dev_up(struct vfx *f, unsigned workers)
{
	struct vfx_opts o = { .workers = workers };

	vfx_init(f, &o);
	vfx_up(f);
	fuse_init(f, 1);
}

static void loop_init(struct loop *l, struct vfx *f)
{
	struct stat st;
	unsigned i;

	memset(l, 0, sizeof(*l));
	l->f = f;
	l->ring = &f->r[1];
	l->notify_fd = vmmio_notify_fd(&f->dev.transport, 1);
	l->irq_fd = vmmio_irq_fd(&f->dev.transport);
	ck_assert_int_ge(l->notify_fd, 0);
	ck_assert_int_ge(l->irq_fd, 0);
	ck_assert_int_eq(stat(f->dir, &st), 0);
	l->root_ino = st.st_ino;
	memset(l->by_head, 0xff, sizeof(l->by_head));
	for (i = 0; i < SLOTS; i++) {
		struct slot *s = &l->slot[i];

		s->table = guest_buf(f, TABLE_LEN);
		s->in = guest_buf(f, sizeof(struct fuse_in_header) + sizeof(struct fuse_getattr_in));
		s->reply = guest_buf(f, REPLY_LEN);
		s->head = l->ring->next_desc++ % l->ring->size;
		fake_desc(l->ring, s->head, s->table, TABLE_LEN, VRING_DESC_F_INDIRECT, 0);
		l->by_head[s->head] = (int16_t)i;
		l->free[i] = (uint16_t)(SLOTS - 1 - i);
	}
	l->nfree = SLOTS;
}

/* Lay a GETATTR of the root out in s as virtio_fs.c would, and publish it; no kick. */
static struct slot *loop_submit(struct loop *l)
{
	struct slot *s = &l->slot[l->free[--l->nfree]];
	struct fake_mem *m = &l->f->m;
	struct fuse_getattr_in gin = { 0 };
	struct fuse_in_header h = {
		.len = (uint32_t)(sizeof(h) + sizeof(gin)), .opcode = FUSE_GETATTR,
		.unique = ++l->f->unique, .nodeid = FUSE_ROOT_ID,
		.uid = getuid(), .gid = getgid(), .pid = 1,
	};

	s->unique = h.unique;
	s->in_flight = true;
	memcpy(fake_host(m, s->in), &h, sizeof(h));
	memcpy(fake_host(m, s->in + sizeof(h)), &gin, sizeof(gin));
	memset(fake_host(m, s->reply), 0, REPLY_LEN);
	fake_table_desc(m, s->table, 0, s->in, sizeof(h), VRING_DESC_F_NEXT, 1);
	fake_table_desc(m, s->table, 1, s->in + sizeof(h), sizeof(gin), VRING_DESC_F_NEXT, 2);
	fake_table_desc(m, s->table, 2, s->reply, REPLY_LEN, VRING_DESC_F_WRITE, 0);
	fake_publish(l->ring, s->head);
	return s;
}

/* virtqueue_kick_prepare with EVENT_IDX, then the store KVM turns into an eventfd signal. */
static void loop_kick(struct loop *l)
{
	uint16_t old = l->f->kicked[1];
	uint64_t one = 1;

	l->f->kicked[1] = l->ring->avail_idx;
	atomic_thread_fence(memory_order_seq_cst);
	if (vq_need_event(fake_avail_event(l->ring), l->ring->avail_idx, old))
		FAST_CHECK(write(l->notify_fd, &one, sizeof(one)) == sizeof(one), "kick failed");
}

static void slot_check(struct loop *l, struct slot *s, uint32_t len)
{
	struct fuse_out_header *oh = fake_host(&l->f->m, s->reply);
	struct fuse_attr_out *a = (struct fuse_attr_out *)(oh + 1);

	FAST_CHECK(s->in_flight, "a second used entry for unique %llu",
		   (unsigned long long)s->unique);
	FAST_CHECK(len == REPLY_LEN && oh->len == REPLY_LEN && oh->unique == s->unique &&
			   oh->error == 0,
		   "bad reply: used len %u, len %u, unique %llu (sent %llu), error %d", len,
		   oh->len, (unsigned long long)oh->unique, (unsigned long long)s->unique,
		   oh->error);
	FAST_CHECK((a->attr.mode & S_IFMT) == S_IFDIR && a->attr.ino == l->root_ino,
		   "mode %o, ino %llu (the share is %llu)", a->attr.mode,
		   (unsigned long long)a->attr.ino, (unsigned long long)l->root_ino);
	s->in_flight = false;
}

/* Take every used entry there is, checking each reply; returns how many. */
static unsigned loop_reap(struct loop *l)
{
	uint32_t id, len;
	unsigned n = 0;

	while (fake_ring_get_used(l->ring, &id, &len)) {
		struct slot *s;

		FAST_CHECK(id < VFS_QUEUE_SIZE && l->by_head[id] >= 0, "used id %u is not ours", id);
		s = &l->slot[l->by_head[id]];
		slot_check(l, s, len);
		l->free[l->nfree++] = (uint16_t)l->by_head[id];
		l->last_unique = s->unique;
		l->done++;
		n++;
	}
	return n;
}

/* A guest that polls: spin on the used ring until something completes, bounded. */
static void loop_wait_spin(struct loop *l)
{
	int64_t end = clock_ns(CLOCK_MONOTONIC) + (int64_t)WAIT_MS * 1000000;

	while (loop_reap(l) == 0)
		FAST_CHECK(clock_ns(CLOCK_MONOTONIC) < end, "no answer within %d ms", WAIT_MS);
}

/*
 * vm_interrupt: the irq eventfd fired; read INTERRUPT_STATUS and acknowledge it. Returns
 * the status. It may be 0 when completions race: a worker sets the bit, the guest acks it
 * for an earlier signal, then the worker's signal arrives (Linux: IRQ_NONE, harmless).
 */
static uint32_t loop_take_irq(struct loop *l)
{
	struct pollfd p = { .fd = l->irq_fd, .events = POLLIN };
	uint64_t count;
	uint32_t st;

	FAST_CHECK(poll(&p, 1, WAIT_MS) == 1, "no interrupt within %d ms", WAIT_MS);
	FAST_CHECK(read(p.fd, &count, sizeof(count)) == sizeof(count), "irqfd read");
	st = rd(l->f, VIRTIO_MMIO_INTERRUPT_STATUS);
	wr(l->f, VIRTIO_MMIO_INTERRUPT_ACK, st);
	l->irqs += count;
	return st;
}

/* virtqueue_enable_cb, then sleep until the interrupt, as long as nothing has completed. */
static unsigned loop_wait_irq(struct loop *l)
{
	unsigned n;

	for (;;) {
		fake_set_used_event(l->ring, l->ring->last_used);
		atomic_thread_fence(memory_order_seq_cst);
		n = loop_reap(l);
		if (n)
			return n;
		(void)loop_take_irq(l);
	}
}

/* virtqueue_disable_cb, made certain: used_event half the index space ahead. */
static void loop_irqs_off(struct loop *l)
{
	fake_set_used_event(l->ring, (uint16_t)(l->ring->last_used + 0x8000));
	atomic_thread_fence(memory_order_seq_cst);
}

/* n requests behind a single kick; the guest sleeps on interrupts until all are back. */
static void loop_burst(struct loop *l, unsigned n)
{
	uint64_t done = l->done;
	unsigned i;

	for (i = 0; i < n; i++)
		loop_submit(l);
	loop_kick(l);
	while (l->nfree < SLOTS)
		loop_wait_irq(l);
	FAST_CHECK(l->done - done == n, "%llu replies to %u requests",
		   (unsigned long long)(l->done - done), n);
}

/* One GETATTR, its one reply and its one interrupt, in that order. */
static void one_getattr_one_irq(struct loop *l)
{
	struct slot *s;
	uint64_t irqs = l->irqs;
	uint32_t st;

	fake_set_used_event(l->ring, l->ring->last_used); /* interrupt me for this one */
	s = loop_submit(l);
	loop_kick(l);
	st = loop_take_irq(l);
	FAST_CHECK(st == VIRTIO_MMIO_INT_VRING, "interrupt status %#x", st);
	/* The device publishes the used entry before it signals. */
	FAST_CHECK(loop_reap(l) == 1, "interrupt without exactly one used entry");
	FAST_CHECK(l->last_unique == s->unique, "reply to %llu, expected %llu",
		   (unsigned long long)l->last_unique, (unsigned long long)s->unique);
	FAST_CHECK(l->irqs == irqs + 1, "%llu interrupts for one request",
		   (unsigned long long)(l->irqs - irqs));
}

static bool irq_pending(struct loop *l, int ms)
{
	struct pollfd p = { .fd = l->irq_fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* ---- checks, always run ---- */

START_TEST(getattrs_one_at_a_time_are_answered_in_order_one_irq_each)
{
	uint16_t used0;
	struct loop l;
	unsigned i;
	struct vfx f;

	dev_up(&f, 4);
	loop_init(&l, &f);
	used0 = fake_used_idx(l.ring);
	for (i = 0; i < SEQUENTIAL_N; i++)
		one_getattr_one_irq(&l);
	ck_assert_uint_eq(l.done, SEQUENTIAL_N);
	ck_assert_uint_eq(l.irqs, SEQUENTIAL_N);
	ck_assert_uint_eq((uint16_t)(fake_used_idx(l.ring) - used0), SEQUENTIAL_N);
	ck_assert(!irq_pending(&l, 20)); /* no late or spurious interrupt */
	vfx_fini(&f);
}
END_TEST

/* Ten bursts of 64 behind one kick each: every request answered, none twice. */
static void bursts_answered_once(unsigned workers)
{
	uint32_t id, len;
	struct loop l;
	unsigned i;
	struct vfx f;

	dev_up(&f, workers);
	loop_init(&l, &f);
	for (i = 0; i < 10; i++)
		loop_burst(&l, SLOTS);
	ck_assert_uint_eq(l.done, 10 * SLOTS);
	nap_ms(20);
	ck_assert(!fake_ring_get_used(l.ring, &id, &len)); /* nothing more comes */
	vfx_fini(&f);
}

START_TEST(bursts_of_64_are_answered_exactly_once)
{
	bursts_answered_once(1);
	bursts_answered_once(2);
	bursts_answered_once(4);
}
END_TEST

/* After traffic the workers sleep until kicked: no busy polling. */
START_TEST(idle_workers_use_no_cpu_after_traffic)
{
	int64_t cpu;
	struct loop l;
	unsigned i;
	struct vfx f;

	dev_up(&f, 4);
	loop_init(&l, &f);
	for (i = 0; i < SEQUENTIAL_N; i++)
		one_getattr_one_irq(&l);
	loop_burst(&l, SLOTS);
	cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	nap_ms(IDLE_MS);
	cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu;
	ck_assert_msg(cpu < IDLE_CPU_NS, "%lld ns of CPU in %d ms of idleness", (long long)cpu,
		      IDLE_MS);
	vfx_fini(&f);
}
END_TEST

/* ---- timings, printed only: VFS_DEVICE_TIMING=1 tests/test_vfs_timing ---- */

#define TIMING_N 20000U
#define WARMUP_N 1000U
#define BURSTS_N 300U

/* Process CPU, and the part of it the guest (this thread) used. */
struct cpu_mark {
	int64_t process, guest;
};

static struct cpu_mark cpu_now(void)
{
	return (struct cpu_mark){ clock_ns(CLOCK_PROCESS_CPUTIME_ID),
				  clock_ns(CLOCK_THREAD_CPUTIME_ID) };
}

/* "CPU a us per request, b us of it in the device's threads" since m, over n requests. */
static void print_cpu(struct cpu_mark m, unsigned n)
{
	struct cpu_mark e = cpu_now();
	double process = (double)(e.process - m.process) / n / 1e3;
	double guest = (double)(e.guest - m.guest) / n / 1e3;

	printf("; CPU %6.2f us per request, %6.2f us of it in device threads\n", process,
	       process - guest);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* One GETATTR at a time, from publish to reaped reply; the guest spins or sleeps on the irq. */
static void time_one_at_a_time(struct loop *l, bool irq, unsigned workers)
{
	static int64_t t[TIMING_N];
	struct cpu_mark m = { 0 };
	int64_t sum = 0;
	unsigned i;

	if (!irq)
		loop_irqs_off(l);
	for (i = 0; i < TIMING_N + WARMUP_N; i++) {
		int64_t t0 = clock_ns(CLOCK_MONOTONIC);

		if (i == WARMUP_N)
			m = cpu_now();
		loop_submit(l);
		loop_kick(l);
		if (irq)
			loop_wait_irq(l);
		else
			loop_wait_spin(l);
		if (i >= WARMUP_N) {
			t[i - WARMUP_N] = clock_ns(CLOCK_MONOTONIC) - t0;
			sum += t[i - WARMUP_N];
		}
	}
	qsort(t, TIMING_N, sizeof(t[0]), cmp_i64);
	printf("vfs timing: %u worker(s), GETATTR, guest %-5s: median %6.2f us, p10 %6.2f, "
	       "p90 %6.2f, mean %6.2f", workers, irq ? "irq" : "spins", t[TIMING_N / 2] / 1e3,
	       t[TIMING_N / 10] / 1e3, t[TIMING_N * 9 / 10] / 1e3, (double)sum / TIMING_N / 1e3);
	print_cpu(m, TIMING_N);
}

/* BURSTS_N bursts of SLOTS GETATTRs behind one kick each; the guest sleeps on interrupts. */
static void time_bursts(struct loop *l, unsigned workers)
{
	struct cpu_mark m = cpu_now();
	int64_t t0 = clock_ns(CLOCK_MONOTONIC);
	unsigned i;

	for (i = 0; i < BURSTS_N; i++)
		loop_burst(l, SLOTS);
	printf("vfs timing: %u worker(s), bursts of %u GETATTRs: %6.2f us per request",
	       workers, SLOTS, (clock_ns(CLOCK_MONOTONIC) - t0) / 1e3 / (BURSTS_N * SLOTS));
	print_cpu(m, BURSTS_N * SLOTS);
}

START_TEST(timing_of_round_trips)
{
	static const unsigned workers[] = { 1, 2, 4 };
	const char *on = getenv("VFS_DEVICE_TIMING");
	struct loop l;
	unsigned i;

	if (!on || strcmp(on, "1") != 0)
		return;
	for (i = 0; i < ARRAY_SIZE(workers); i++) {
		struct vfx f;

		dev_up(&f, workers[i]);
		loop_init(&l, &f);
		time_one_at_a_time(&l, true, workers[i]);
		time_one_at_a_time(&l, false, workers[i]);
		time_bursts(&l, workers[i]);
		fflush(stdout);
		ck_assert_uint_eq(l.done, 2 * (TIMING_N + WARMUP_N) + BURSTS_N * SLOTS);
		vfx_fini(&f);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vfs_timing");
	TCase *tc = tcase_create("round_trips"), *timing = tcase_create("timing");
	SRunner *sr;
	int failed;

	/* Each wait is bounded by WAIT_MS; sanitizer builds are several times slower. */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, getattrs_one_at_a_time_are_answered_in_order_one_irq_each);
	tcase_add_test(tc, bursts_of_64_are_answered_exactly_once);
	tcase_add_test(tc, idle_workers_use_no_cpu_after_traffic);
	suite_add_tcase(s, tc);
	/* About 180k requests at microseconds each, on a machine shared with others. */
	tcase_set_timeout(timing, 600);
	tcase_add_test(timing, timing_of_round_trips);
	suite_add_tcase(s, timing);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
