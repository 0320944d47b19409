/* test_vconsole.c: the virtio-console device and thread, driven as Linux's driver does. */
/*
 * No KVM: guest RAM is a buffer, QUEUE_NOTIFY writes go through the transport's bus
 * callback (which signals the queue's eventfd, as KVM's ioeventfd would). Ports are
 * "stdin" (TO_GUEST, read from a pipe), "stdout" and "stderr" (FROM_GUEST, written to
 * pipes). The control traffic follows drivers/char/virtio_console.c: page-sized control
 * and receive buffers, one 8-byte message per control transmit buffer. Waits are bounded.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "check_run.h"
#include "fake_driver.h"
#include "../devices/virtio_console/console.h"

#define RAM_BYTES (16U << 20)
#define WAIT_MS 5000
#define QUIET_MS 150 /* how long "nothing happens" is watched */
#define GSI 5
#define NPORTS 3
#define NQ (2 * (NPORTS + 2))
#define PAGE 4096U
#define CTRL_RX 2U
#define CTRL_TX 3U
#define F_LINUX                                                                    \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |        \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_CONSOLE_F_MULTIPORT))
#define ST_RUNNING                                                                 \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |                    \
	 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)

enum { P_STDIN = 1, P_STDOUT = 2, P_STDERR = 3 };
static const char *const port_names[NPORTS + 1] = { "", "stdin", "stdout", "stderr" };

static unsigned rxq(uint32_t id)
{
	return 2 + 2 * id;
}

static unsigned txq(uint32_t id)
{
	return 3 + 2 * id;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* ---- the fixture ---- */

struct vcx {
	struct fake_mem m;
	struct fake_ring r[NQ];
	uint16_t kicked[NQ];
	uint64_t buf[NQ][VCON_QUEUE_SIZE]; /* gpa behind each head of a receive-type queue */
	int in_pipe[2], out_pipe[2], err_pipe[2];
	struct vcon_device dev;
};

struct vcx_opts {
	bool no_stdin; /* the stdin port gets host_fd -1 */
	bool seccomp;
};

static void vcx_init(struct vcx *f, const struct vcx_opts *o)
{
	struct vcon_port_config pc[NPORTS];
	struct vcon_config cfg = { .ports = pc, .nports = NPORTS, .seccomp = o->seccomp };

	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(pipe2(f->in_pipe, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(f->out_pipe, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(f->err_pipe, O_CLOEXEC), 0);
	/* The test's ends never block it. */
	ck_assert_int_eq(fcntl(f->out_pipe[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(f->err_pipe[0], F_SETFL, O_NONBLOCK), 0);
	pc[0] = (struct vcon_port_config){ "stdin", o->no_stdin ? -1 : f->in_pipe[0],
					   VCON_TO_GUEST };
	pc[1] = (struct vcon_port_config){ "stdout", f->out_pipe[1], VCON_FROM_GUEST };
	pc[2] = (struct vcon_port_config){ "stderr", f->err_pipe[1], VCON_FROM_GUEST };
	ck_assert_int_eq(fake_mem_init(&f->m, RAM_BYTES), 0);
	ck_assert_int_eq(vcon_init(&f->dev, &cfg, &f->m.mem, LAYOUT_VIRTIO_MMIO_BASE, GSI), 0);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void vcx_fini(struct vcx *f)
{
	vcon_destroy(&f->dev);
	vcon_destroy(&f->dev); /* a second destroy is harmless */
	fake_mem_destroy(&f->m);
	for (unsigned i = 0; i < 2; i++) {
		close_fd(&f->in_pipe[i]);
		close_fd(&f->out_pipe[i]);
		close_fd(&f->err_pipe[i]);
	}
}

static uint32_t rd(struct vcx *f, uint64_t off)
{
	return fake_mmio_read(&f->dev.transport, off);
}

static void wr(struct vcx *f, uint64_t off, uint32_t v)
{
	fake_mmio_write(&f->dev.transport, off, v);
}

/* virtqueue_kick_prepare with EVENT_IDX: notify only if avail_event was passed. */
static void kick(struct vcx *f, unsigned q)
{
	struct fake_ring *r = &f->r[q];
	uint16_t old = f->kicked[q];

	f->kicked[q] = r->avail_idx;
	atomic_thread_fence(memory_order_seq_cst);
	if (vq_need_event(fake_avail_event(r), r->avail_idx, old))
		wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* One device-writable buffer of len bytes, as add_inbuf / fill_queue post it. */
static uint16_t post_in(struct vcx *f, unsigned q, uint32_t len, bool do_kick)
{
	uint64_t gpa = fake_alloc(&f->m, len, 16);
	uint16_t head;

	ck_assert_uint_ne(gpa, 0);
	head = fake_chain(&f->r[q], &(struct fake_seg){ gpa, len, true }, 1);
	f->buf[q][head] = gpa;
	fake_publish(&f->r[q], head);
	if (do_kick)
		kick(f, q);
	return head;
}

/* One driver-readable buffer holding data, as __send_to_port queues it. */
static uint16_t send_out(struct vcx *f, unsigned q, const void *data, uint32_t len, bool do_kick)
{
	uint64_t gpa = fake_alloc(&f->m, len, 16);
	uint16_t head;

	ck_assert_uint_ne(gpa, 0);
	memcpy(fake_host(&f->m, gpa), data, len);
	head = fake_chain(&f->r[q], &(struct fake_seg){ gpa, len, false }, 1);
	fake_publish(&f->r[q], head);
	if (do_kick)
		kick(f, q);
	return head;
}

static bool poll_used(struct vcx *f, unsigned q, uint32_t *id, uint32_t *len, int ms)
{
	struct fake_ring *ring = &f->r[q];
	int64_t end = now_ms() + ms;

	while (!fake_ring_get_used(ring, id, len)) {
		if (now_ms() >= end)
			return false;
		nap_ms(1);
	}
	fake_set_used_event(ring, ring->last_used); /* virtqueue_enable_cb */
	return true;
}

static void expect_used(struct vcx *f, unsigned q, uint16_t head, uint32_t want_len)
{
	uint32_t id = 0, len = 0;

	ck_assert_msg(poll_used(f, q, &id, &len, WAIT_MS), "no used entry on queue %u", q);
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, want_len);
}

static void expect_no_used(struct vcx *f, unsigned q)
{
	uint32_t id, len;

	ck_assert_msg(!poll_used(f, q, &id, &len, QUIET_MS), "queue %u: unexpected entry %u", q,
		      id);
}

/* virtio_mmio's probe with fresh rings, then DRIVER_OK. */
static void vcx_up(struct vcx *f)
{
	unsigned q;

	for (q = 0; q < NQ; q++) {
		wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
		ck_assert_uint_eq(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), VCON_QUEUE_SIZE);
		ck_assert_int_eq(fake_ring_init(&f->r[q], &f->m, VCON_QUEUE_SIZE), 0);
		f->kicked[q] = 0;
	}
	ck_assert_uint_eq(fake_mmio_bring_up(&f->dev.transport, F_LINUX, f->r, NQ), ST_RUNNING);
}

/* ---- control messages ---- */

struct msg {
	uint32_t id;
	uint16_t event, value;
	uint32_t len;
	char name[PAGE];
};

/* __send_control_msg: one 8-byte buffer, and the device has to use it. */
static void ctrl_send(struct vcx *f, uint32_t id, uint16_t event, uint16_t value)
{
	struct virtio_console_control c = { htole32(id), htole16(event), htole16(value) };

	expect_used(f, CTRL_TX, send_out(f, CTRL_TX, &c, sizeof(c), true), 0);
}

/* control_work_handler: take a message, put the page back. */
static void ctrl_recv(struct vcx *f, struct msg *m)
{
	struct virtio_console_control c;
	uint32_t id = 0, len = 0;
	const uint8_t *p;

	ck_assert_msg(poll_used(f, CTRL_RX, &id, &len, WAIT_MS), "no control message");
	ck_assert_uint_ge(len, sizeof(c));
	ck_assert_uint_le(len, PAGE);
	p = fake_host(&f->m, f->buf[CTRL_RX][id]);
	memcpy(&c, p, sizeof(c));
	m->id = le32toh(c.id);
	m->event = le16toh(c.event);
	m->value = le16toh(c.value);
	m->len = len;
	memcpy(m->name, p + sizeof(c), len - sizeof(c));
	m->name[len - sizeof(c)] = '\0';
	post_in(f, CTRL_RX, PAGE, true);
}

static void expect_ctrl(struct vcx *f, uint32_t id, uint16_t event, uint16_t value)
{
	struct msg m;

	ctrl_recv(f, &m);
	ck_assert_msg(m.id == id && m.event == event && m.value == value,
		      "got id %u event %u value %u, want %u %u %u", m.id, m.event, m.value, id,
		      event, value);
	ck_assert_uint_eq(m.len, sizeof(struct virtio_console_control));
}

static void post_ctrl_bufs(struct vcx *f, unsigned n)
{
	while (n--)
		post_in(f, CTRL_RX, PAGE, true);
}

/*
 * add_port for id: fill its receive queue, PORT_READY; the host opens and names it. The
 * open comes first, so a guest that finds the port by name finds it connected.
 */
static void add_port(struct vcx *f, uint32_t id, uint16_t open_value)
{
	struct msg m;
	unsigned i;

	for (i = 0; i < 4; i++)
		post_in(f, rxq(id), PAGE, true);
	ctrl_send(f, id, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(f, id, VIRTIO_CONSOLE_PORT_OPEN, open_value);
	ctrl_recv(f, &m);
	ck_assert_uint_eq(m.id, id);
	ck_assert_uint_eq(m.event, VIRTIO_CONSOLE_PORT_NAME);
	ck_assert_str_eq(m.name, port_names[id]);
	/* With its NUL: name_size = len - 8 + 1 in Linux, then strscpy. */
	ck_assert_uint_eq(m.len, sizeof(struct virtio_console_control) + strlen(port_names[id]) + 1);
}

/* After DEVICE_READY: a PORT_ADD for every port, and each port added, named, opened. */
static void add_ports(struct vcx *f)
{
	uint32_t id;

	for (id = 1; id <= NPORTS; id++)
		expect_ctrl(f, id, VIRTIO_CONSOLE_PORT_ADD, 1);
	for (id = 1; id <= NPORTS; id++)
		add_port(f, id, 1);
}

/* virtcons_probe and the control work that follows, up to every port named and open. */
static void handshake(struct vcx *f)
{
	post_ctrl_bufs(f, 8);
	ctrl_send(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	add_ports(f);
}

/* ---- host pipes ---- */

static void read_exact(int fd, void *buf, size_t len)
{
	int64_t end = now_ms() + WAIT_MS;
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		ck_assert_msg(now_ms() < end, "only %zu of %zu bytes arrived", got, len);
		if (poll(&p, 1, 10) <= 0)
			continue;
		n = read(fd, (char *)buf + got, len - got);
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
}

static void expect_pipe_empty(int fd)
{
	char c;

	ck_assert_int_eq(read(fd, &c, 1), -1);
	ck_assert_int_eq(errno, EAGAIN);
}

static void write_str(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* The next receive entry of the stdin port holds exactly s. */
static void expect_input(struct vcx *f, const char *s)
{
	uint32_t id = 0, len = 0;

	ck_assert_msg(poll_used(f, rxq(P_STDIN), &id, &len, WAIT_MS), "no input arrived");
	ck_assert_uint_eq(len, strlen(s));
	ck_assert_mem_eq(fake_host(&f->m, f->buf[rxq(P_STDIN)][id]), s, len);
}

/* ---- tests ---- */

START_TEST(identity_features_config_and_queues)
{
	struct vcx_opts o = { 0 };
	uint8_t cfg[VCON_CONFIG_BYTES];
	uint32_t max_nr_ports;
	unsigned q, i;
	struct vcx f;

	vcx_init(&f, &o);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_DEVICE_ID), 3);
	wr(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	/* MULTIPORT only: no F_SIZE, no F_EMERG_WRITE. */
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_DEVICE_FEATURES) & 7, 1U << VIRTIO_CONSOLE_F_MULTIPORT);
	for (i = 0; i < sizeof(cfg); i++)
		vmmio_bus_read(&f.dev.transport, VIRTIO_MMIO_CONFIG + i, &cfg[i], 1);
	memcpy(&max_nr_ports, cfg + 4, 4);
	ck_assert_uint_eq(le32toh(max_nr_ports), NPORTS + 1); /* ids 0..3 */
	ck_assert_uint_eq(cfg[0] | cfg[1] | cfg[2] | cfg[3], 0); /* cols, rows */
	ck_assert_uint_eq(cfg[8] | cfg[9] | cfg[10] | cfg[11], 0); /* emerg_wr */
	/* (max_nr_ports + 1) * 2 queues, as init_vqs asks for, and no more. */
	for (q = 0; q <= NQ; q++) {
		wr(&f, VIRTIO_MMIO_QUEUE_SEL, q);
		ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), q < NQ ? VCON_QUEUE_SIZE : 0);
	}
	vcx_fini(&f);
}
END_TEST

START_TEST(handshake_adds_names_and_opens_every_port)
{
	struct vcx_opts o = { 0 };
	struct pollfd p;
	struct msg m;
	uint64_t n;
	struct vcx f;

	vcx_init(&f, &o);
	vcx_up(&f);
	post_ctrl_bufs(&f, 8);
	expect_no_used(&f, CTRL_RX); /* nothing before DEVICE_READY */
	ctrl_send(&f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	ctrl_recv(&f, &m);
	ck_assert_uint_eq(m.event, VIRTIO_CONSOLE_PORT_ADD);
	ck_assert_uint_eq(m.id, 1); /* port 0 is left free */
	/* The message came with an interrupt. */
	p = (struct pollfd){ .fd = vmmio_irq_fd(&f.dev.transport), .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	ck_assert_int_eq(read(p.fd, &n, sizeof(n)), sizeof(n));
	ck_assert(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	expect_ctrl(&f, 2, VIRTIO_CONSOLE_PORT_ADD, 1);
	expect_ctrl(&f, 3, VIRTIO_CONSOLE_PORT_ADD, 1);
	expect_no_used(&f, CTRL_RX); /* no name before PORT_READY */
	add_port(&f, P_STDIN, 1);
	add_port(&f, P_STDOUT, 1);
	add_port(&f, P_STDERR, 1);
	/* A driver that failed to add a port says PORT_READY(0): nothing follows. */
	ctrl_send(&f, P_STDERR, VIRTIO_CONSOLE_PORT_READY, 0);
	expect_no_used(&f, CTRL_RX);
	vcx_fini(&f);
}
END_TEST

START_TEST(guest_output_reaches_the_host_pipes)
{
	struct vcx_opts o = { 0 };
	char buf[3 * PAGE], got[3 * PAGE];
	struct fake_seg segs[3];
	uint16_t head;
	unsigned i;
	struct vcx f;

	vcx_init(&f, &o);
	vcx_up(&f);
	handshake(&f);
	ctrl_send(&f, P_STDOUT, VIRTIO_CONSOLE_PORT_OPEN, 1);
	expect_used(&f, txq(P_STDOUT), send_out(&f, txq(P_STDOUT), "hello ", 6, true), 0);
	expect_used(&f, txq(P_STDOUT), send_out(&f, txq(P_STDOUT), "world\n", 6, true), 0);
	read_exact(f.out_pipe[0], got, 12);
	ck_assert_mem_eq(got, "hello world\n", 12);
	expect_used(&f, txq(P_STDERR), send_out(&f, txq(P_STDERR), "oops", 4, true), 0);
	read_exact(f.err_pipe[0], got, 4);
	ck_assert_mem_eq(got, "oops", 4);
	expect_pipe_empty(f.out_pipe[0]);
	/* A spliced write: several pages behind one indirect descriptor, in order. */
	for (i = 0; i < 3; i++) {
		segs[i] = (struct fake_seg){ fake_alloc(&f.m, PAGE, PAGE), PAGE, false };
		memset(fake_host(&f.m, segs[i].gpa), 'a' + (int)i, PAGE);
		memset(buf + i * PAGE, 'a' + (int)i, PAGE);
	}
	head = fake_indirect_chain(&f.r[txq(P_STDOUT)], segs, 3);
	fake_publish(&f.r[txq(P_STDOUT)], head);
	kick(&f, txq(P_STDOUT));
	expect_used(&f, txq(P_STDOUT), head, 0);
	read_exact(f.out_pipe[0], got, sizeof(got));
	ck_assert_mem_eq(got, buf, sizeof(buf));
	vcx_fini(&f);
}
END_TEST

START_TEST(host_input_reaches_the_guest_only_while_it_has_the_port_open)
{
	struct vcx_opts o = { 0 };
	struct vcx f;

	vcx_init(&f, &o);
	vcx_up(&f);
	handshake(&f);
	/* Linux drops input for a closed port: the device keeps it in the pipe. */
	write_str(f.in_pipe[1], "early");
	expect_no_used(&f, rxq(P_STDIN));
	ctrl_send(&f, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1);
	expect_input(&f, "early");
	write_str(f.in_pipe[1], "line 2\n");
	expect_input(&f, "line 2\n");
	/* The program closed the port: input waits again until it is reopened. */
	ctrl_send(&f, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 0);
	write_str(f.in_pipe[1], "later");
	expect_no_used(&f, rxq(P_STDIN));
	ctrl_send(&f, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1);
	expect_input(&f, "later");
	vcx_fini(&f);
}
END_TEST

START_TEST(host_eof_after_the_data_sends_port_open_0)
{
	struct vcx_opts o = { 0 };
	struct vcx f;

	vcx_init(&f, &o);
	vcx_up(&f);
	handshake(&f);
	ctrl_send(&f, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1);
	write_str(f.in_pipe[1], "tail");
	close_fd(&f.in_pipe[1]);
	/* The data first, then the host side closes: Linux's read() returns 0 after it. */
	expect_input(&f, "tail");
	expect_ctrl(&f, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 0);
	expect_no_used(&f, rxq(P_STDIN));
	expect_no_used(&f, CTRL_RX);
	vcx_fini(&f);
}
END_TEST

START_TEST(an_input_port_without_a_descriptor_is_closed_from_the_start)
{
	struct vcx_opts o = { .no_stdin = true };
	struct vcx f;

	vcx_init(&f, &o);
	vcx_up(&f);
	post_ctrl_bufs(&f, 8);
	ctrl_send(&f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_ctrl(&f, 1, VIRTIO_CONSOLE_PORT_ADD, 1);
	expect_ctrl(&f, 2, VIRTIO_CONSOLE_PORT_ADD, 1);
	expect_ctrl(&f, 3, VIRTIO_CONSOLE_PORT_ADD, 1);
	add_port(&f, P_STDIN, 0);
	add_port(&f, P_STDOUT, 1);
	vcx_fini(&f);
}
END_TEST

START_TEST(output_left_in_the_queues_is_written_out_by_destroy)
{
	struct vcx_opts o = { 0 };
	char got[32];
	struct vcx f;

	vcx_init(&f, &o);
	vcx_up(&f);
	handshake(&f);
	expect_used(&f, txq(P_STDOUT), send_out(&f, txq(P_STDOUT), "first ", 6, true), 0);
	nap_ms(200); /* the thread is back asleep on the eventfds */
	/* Queued but not yet seen (no kick): the guest reported its exit status right after. */
	send_out(&f, txq(P_STDOUT), "last ", 5, false);
	send_out(&f, txq(P_STDOUT), "words\n", 6, false);
	send_out(&f, txq(P_STDERR), "err\n", 4, false);
	expect_no_used(&f, txq(P_STDOUT));
	read_exact(f.out_pipe[0], got, 6);
	expect_pipe_empty(f.out_pipe[0]);
	vcon_destroy(&f.dev);
	read_exact(f.out_pipe[0], got, 11);
	ck_assert_mem_eq(got, "last words\n", 11);
	read_exact(f.err_pipe[0], got, 4);
	ck_assert_mem_eq(got, "err\n", 4);
	vcx_fini(&f);
}
END_TEST

/* A non-blocking host descriptor that fills up is waited for, not dropped. */
START_TEST(a_full_nonblocking_output_pipe_is_waited_for)
{
	static char data[16 * 1024], got[sizeof(data)];
	struct vcx_opts o = { 0 };
	uint16_t head;
	unsigned i;
	struct vcx f;

	vcx_init(&f, &o);
	ck_assert_int_eq(fcntl(f.out_pipe[1], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_ge(fcntl(f.out_pipe[1], F_SETPIPE_SZ, 4096), 4096);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 13 + i / 4096);
	vcx_up(&f);
	handshake(&f);
	head = send_out(&f, txq(P_STDOUT), data, sizeof(data), true);
	read_exact(f.out_pipe[0], got, sizeof(got));
	ck_assert_mem_eq(got, data, sizeof(data));
	expect_used(&f, txq(P_STDOUT), head, 0);
	vcx_fini(&f);
}
END_TEST

START_TEST(output_after_the_reader_left_is_consumed_and_dropped)
{
	struct vcx_opts o = { 0 };
	char got[8];
	struct vcx f;

	vcx_init(&f, &o);
	vcx_up(&f);
	handshake(&f);
	close_fd(&f.out_pipe[0]);
	/* EPIPE (SIGPIPE is ignored, as in the VMM): the guest is never left waiting. */
	expect_used(&f, txq(P_STDOUT), send_out(&f, txq(P_STDOUT), "lost", 4, true), 0);
	expect_used(&f, txq(P_STDOUT), send_out(&f, txq(P_STDOUT), "lost", 4, true), 0);
	/* The other ports carry on. */
	expect_used(&f, txq(P_STDERR), send_out(&f, txq(P_STDERR), "kept", 4, true), 0);
	read_exact(f.err_pipe[0], got, 4);
	ck_assert_mem_eq(got, "kept", 4);
	vcx_fini(&f);
}
END_TEST

START_TEST(hostile_control_messages_and_chains_are_survived)
{
	struct vcx_opts o = { 0 };
	uint32_t short_msg = 0;
	char got[4];
	uint16_t head;
	struct vcx f;

	vcx_init(&f, &o);
	vcx_up(&f);
	/* A control buffer too small for PORT_ADD is given back empty; the next one is used. */
	head = post_in(&f, CTRL_RX, 4, true);
	ctrl_send(&f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_used(&f, CTRL_RX, head, 0);
	post_ctrl_bufs(&f, 8);
	add_ports(&f);
	/* Wrong lengths, unknown ports and events: each used empty and otherwise ignored. */
	expect_used(&f, CTRL_TX, send_out(&f, CTRL_TX, &short_msg, 4, true), 0);
	ctrl_send(&f, 9, VIRTIO_CONSOLE_PORT_READY, 1);
	ctrl_send(&f, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	ctrl_send(&f, 1, 42, 1);
	ctrl_send(&f, 1, VIRTIO_CONSOLE_PORT_NAME, 1);
	expect_no_used(&f, CTRL_RX);
	/* A transmit buffer outside guest RAM: used empty, nothing written. */
	head = fake_chain(&f.r[txq(P_STDOUT)],
			  &(struct fake_seg){ RAM_BYTES + 0x1000ULL, 64, false }, 1);
	fake_publish(&f.r[txq(P_STDOUT)], head);
	kick(&f, txq(P_STDOUT));
	expect_used(&f, txq(P_STDOUT), head, 0);
	expect_pipe_empty(f.out_pipe[0]);
	/* Still running: data flows. */
	expect_used(&f, txq(P_STDOUT), send_out(&f, txq(P_STDOUT), "ok!\n", 4, true), 0);
	read_exact(f.out_pipe[0], got, 4);
	ck_assert_mem_eq(got, "ok!\n", 4);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), ST_RUNNING);
	vcx_fini(&f);
}
END_TEST

static bool wait_status(struct vcx *f, uint32_t bits)
{
	int64_t end = now_ms() + WAIT_MS;

	while ((rd(f, VIRTIO_MMIO_STATUS) & bits) != bits) {
		if (now_ms() >= end)
			return false;
		nap_ms(1);
	}
	return true;
}

START_TEST(a_corrupt_ring_needs_reset_and_reset_reactivates)
{
	struct vcx_opts o = { 0 };
	struct fake_ring *r;
	char got[8];
	struct vcx f;

	vcx_init(&f, &o);
	vcx_up(&f);
	handshake(&f);
	r = &f.r[txq(P_STDOUT)];
	/* More buffers than the queue holds: the index is a lie. */
	fake_set_avail_idx(r, (uint16_t)(r->avail_idx + r->size + 1));
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, txq(P_STDOUT));
	ck_assert(wait_status(&f, VIRTIO_CONFIG_S_NEEDS_RESET));
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), 0);
	/* A new driver on fresh rings: the whole handshake again, then data both ways. */
	vcx_up(&f);
	handshake(&f);
	expect_used(&f, txq(P_STDOUT), send_out(&f, txq(P_STDOUT), "again\n", 6, true), 0);
	read_exact(f.out_pipe[0], got, 6);
	ck_assert_mem_eq(got, "again\n", 6);
	ctrl_send(&f, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1);
	write_str(f.in_pipe[1], "in");
	expect_input(&f, "in");
	/* And a plain reset in the middle of a session. */
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	vcx_up(&f);
	handshake(&f);
	ctrl_send(&f, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1);
	write_str(f.in_pipe[1], "third");
	expect_input(&f, "third");
	vcx_fini(&f);
}
END_TEST

/* The device thread under its own filter: any call outside the list ends the process. */
START_TEST(the_console_thread_runs_under_its_seccomp_filter)
{
	struct vcx_opts o = { .seccomp = true };
	char got[8];
	struct vcx f;

	vcx_init(&f, &o);
	vcx_up(&f);
	handshake(&f);
	expect_used(&f, txq(P_STDOUT), send_out(&f, txq(P_STDOUT), "filter", 6, true), 0);
	read_exact(f.out_pipe[0], got, 6);
	ck_assert_mem_eq(got, "filter", 6);
	ctrl_send(&f, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1);
	write_str(f.in_pipe[1], "in");
	expect_input(&f, "in");
	close_fd(&f.in_pipe[1]);
	expect_ctrl(&f, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 0);
	close_fd(&f.out_pipe[0]);
	expect_used(&f, txq(P_STDOUT), send_out(&f, txq(P_STDOUT), "x", 1, true), 0);
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	vcx_fini(&f);
}
END_TEST

START_TEST(init_refuses_bad_port_lists)
{
	char long_name[VCON_NAME_MAX + 2];
	struct vcon_port_config pc[VCON_MAX_PORTS + 1];
	struct vcon_config cfg = { .ports = pc };
	struct vcon_device dev;
	struct fake_mem m;
	unsigned i;

	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	for (i = 0; i < ARRAY_SIZE(pc); i++)
		pc[i] = (struct vcon_port_config){ "p", -1, VCON_FROM_GUEST };
	ck_assert_int_eq(fake_mem_init(&m, 1 << 20), 0);
	cfg.nports = 0;
	ck_assert_int_eq(vcon_init(&dev, &cfg, &m.mem, LAYOUT_VIRTIO_MMIO_BASE, GSI), -EINVAL);
	vcon_destroy(&dev);
	cfg.nports = VCON_MAX_PORTS + 1;
	ck_assert_int_eq(vcon_init(&dev, &cfg, &m.mem, LAYOUT_VIRTIO_MMIO_BASE, GSI), -EINVAL);
	cfg.nports = 2;
	pc[1].name = long_name;
	ck_assert_int_eq(vcon_init(&dev, &cfg, &m.mem, LAYOUT_VIRTIO_MMIO_BASE, GSI), -EINVAL);
	pc[1].name = "";
	ck_assert_int_eq(vcon_init(&dev, &cfg, &m.mem, LAYOUT_VIRTIO_MMIO_BASE, GSI), -EINVAL);
	pc[1].name = NULL;
	ck_assert_int_eq(vcon_init(&dev, &cfg, &m.mem, LAYOUT_VIRTIO_MMIO_BASE, GSI), -EINVAL);
	vcon_destroy(&dev);
	/* The most ports there are queues for. */
	pc[1].name = "p";
	cfg.nports = VCON_MAX_PORTS;
	ck_assert_int_eq(vcon_init(&dev, &cfg, &m.mem, LAYOUT_VIRTIO_MMIO_BASE, GSI), 0);
	vcon_destroy(&dev);
	fake_mem_destroy(&m);
}
END_TEST

static Suite *vconsole_suite(void)
{
	Suite *s = suite_create("vconsole");
	TCase *tc = tcase_create("device");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, identity_features_config_and_queues);
	tcase_add_test(tc, handshake_adds_names_and_opens_every_port);
	tcase_add_test(tc, guest_output_reaches_the_host_pipes);
	tcase_add_test(tc, host_input_reaches_the_guest_only_while_it_has_the_port_open);
	tcase_add_test(tc, host_eof_after_the_data_sends_port_open_0);
	tcase_add_test(tc, an_input_port_without_a_descriptor_is_closed_from_the_start);
	tcase_add_test(tc, output_left_in_the_queues_is_written_out_by_destroy);
	tcase_add_test(tc, a_full_nonblocking_output_pipe_is_waited_for);
	tcase_add_test(tc, output_after_the_reader_left_is_consumed_and_dropped);
	tcase_add_test(tc, hostile_control_messages_and_chains_are_survived);
	tcase_add_test(tc, a_corrupt_ring_needs_reset_and_reset_reactivates);
	tcase_add_test(tc, the_console_thread_runs_under_its_seccomp_filter);
	tcase_add_test(tc, init_refuses_bad_port_lists);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* As the VMM does: a write to a pipe without a reader fails with EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	return check_run(vconsole_suite());
}
