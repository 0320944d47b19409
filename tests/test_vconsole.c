/* test_vconsole.c: the virtio-console device and thread, driven as Linux's driver does. */
/*
 * The guest is tests/vcon_guest.c's Linux driver. Ports are "stdin" (TO_GUEST, read from
 * a pipe), "stdout" and "stderr" (FROM_GUEST, written to pipes).
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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_run.h"
#include "vcon_guest.h"
#include "../devices/virtio_console/console.h"

#define RAM_BYTES (16U << 20)
#define WAIT_MS VCG_WAIT_MS
#define GSI 5
#define NPORTS 3
#define NQ (2 * (NPORTS + 2))
#define NSPARE_MAX 2
#define PAGE VCG_PAGE
#define CTRL_RX VCG_CTRL_RX
#define CTRL_TX VCG_CTRL_TX
#define ST_RUNNING VCG_RUNNING

enum { P_STDIN = 1, P_STDOUT = 2, P_STDERR = 3 };
static const char *const port_names[NPORTS + 1] = { "", "stdin", "stdout", "stderr" };

/* ---- the fixture ---- */

struct vcx {
	struct fake_mem m;
	struct vcg g; /* the guest driver */
	int in_pipe[2], out_pipe[2], err_pipe[2];
	struct vcon_device dev;
};

struct vcx_opts {
	bool no_stdin; /* the stdin port gets host_fd -1 */
	bool seccomp;
	unsigned nspare; /* runtime port ids after the three (at most NSPARE_MAX) */
};

static void vcx_init(struct vcx *f, const struct vcx_opts *o)
{
	struct vcon_port_config pc[NPORTS];
	struct vcon_config cfg = { .ports = pc, .nports = NPORTS, .seccomp = o->seccomp,
				   .nspare = o->nspare };

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
	vcg_init(&f->g, &f->m, &f->dev, NPORTS + o->nspare);
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

static void add_port(struct vcx *f, uint32_t id, uint16_t open_value)
{
	vcg_add_named_port(&f->g, id, port_names[id], open_value);
}

/* After DEVICE_READY: a PORT_ADD for every port, and each port added, named, opened. */
static void add_ports(struct vcx *f)
{
	uint32_t id;

	for (id = 1; id <= NPORTS; id++)
		vcg_expect_ctrl(&f->g, id, VIRTIO_CONSOLE_PORT_ADD, 1);
	for (id = 1; id <= NPORTS; id++)
		add_port(f, id, 1);
}

/* virtcons_probe and the control work that follows, up to every port named and open. */
static void handshake(struct vcx *f)
{
	vcg_post_ctrl_bufs(&f->g, 8);
	vcg_ctrl_send(&f->g, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	add_ports(f);
}

/* ---- host pipes ---- */

static void read_exact(int fd, void *buf, size_t len)
{
	int64_t end = vcg_now_ms() + WAIT_MS;
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		ck_assert_msg(vcg_now_ms() < end, "only %zu of %zu bytes arrived", got, len);
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

/* Output the guest queues and kicks on port id, used (consumed) by the device. */
static void send_used(struct vcx *f, uint32_t id, const char *s, uint32_t len)
{
	vcg_expect_used(&f->g, vcg_txq(id), vcg_send_out(&f->g, vcg_txq(id), s, len, true), 0);
}

/* The next receive entry of the stdin port holds exactly s. */
static void expect_input(struct vcx *f, const char *s)
{
	vcg_expect_input(&f->g, P_STDIN, s, (uint32_t)strlen(s));
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
	ck_assert_uint_eq(vcg_rd(&f.g, VIRTIO_MMIO_DEVICE_ID), 3);
	vcg_wr(&f.g, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	/* MULTIPORT only: no F_SIZE, no F_EMERG_WRITE. */
	ck_assert_uint_eq(vcg_rd(&f.g, VIRTIO_MMIO_DEVICE_FEATURES) & 7,
			  1U << VIRTIO_CONSOLE_F_MULTIPORT);
	for (i = 0; i < sizeof(cfg); i++)
		vmmio_bus_read(&f.dev.transport, VIRTIO_MMIO_CONFIG + i, &cfg[i], 1);
	memcpy(&max_nr_ports, cfg + 4, 4);
	ck_assert_uint_eq(le32toh(max_nr_ports), NPORTS + 1); /* ids 0..3 */
	ck_assert_uint_eq(cfg[0] | cfg[1] | cfg[2] | cfg[3], 0); /* cols, rows */
	ck_assert_uint_eq(cfg[8] | cfg[9] | cfg[10] | cfg[11], 0); /* emerg_wr */
	/* (max_nr_ports + 1) * 2 queues, as init_vqs asks for, and no more. */
	for (q = 0; q <= NQ; q++) {
		vcg_wr(&f.g, VIRTIO_MMIO_QUEUE_SEL, q);
		ck_assert_uint_eq(vcg_rd(&f.g, VIRTIO_MMIO_QUEUE_NUM_MAX), q < NQ ? VCON_QUEUE_SIZE : 0);
	}
	vcx_fini(&f);
}
END_TEST

START_TEST(handshake_adds_names_and_opens_every_port)
{
	struct vcx_opts o = { 0 };
	struct pollfd p;
	struct vcg_msg m;
	uint64_t n;
	struct vcx f;

	vcx_init(&f, &o);
	vcg_up(&f.g);
	vcg_post_ctrl_bufs(&f.g, 8);
	vcg_expect_no_used(&f.g, CTRL_RX); /* nothing before DEVICE_READY */
	vcg_ctrl_send(&f.g, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	vcg_ctrl_recv(&f.g, &m);
	ck_assert_uint_eq(m.event, VIRTIO_CONSOLE_PORT_ADD);
	ck_assert_uint_eq(m.id, 1); /* port 0 is left free */
	/* The message came with an interrupt. */
	p = (struct pollfd){ .fd = vmmio_irq_fd(&f.dev.transport), .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	ck_assert_int_eq(read(p.fd, &n, sizeof(n)), sizeof(n));
	ck_assert(vcg_rd(&f.g, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	vcg_expect_ctrl(&f.g, 2, VIRTIO_CONSOLE_PORT_ADD, 1);
	vcg_expect_ctrl(&f.g, 3, VIRTIO_CONSOLE_PORT_ADD, 1);
	vcg_expect_no_used(&f.g, CTRL_RX); /* no name before PORT_READY */
	add_port(&f, P_STDIN, 1);
	add_port(&f, P_STDOUT, 1);
	add_port(&f, P_STDERR, 1);
	/* A driver that failed to add a port says PORT_READY(0): nothing follows. */
	vcg_ctrl_send(&f.g, P_STDERR, VIRTIO_CONSOLE_PORT_READY, 0);
	vcg_expect_no_used(&f.g, CTRL_RX);
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
	vcg_up(&f.g);
	handshake(&f);
	vcg_ctrl_send(&f.g, P_STDOUT, VIRTIO_CONSOLE_PORT_OPEN, 1);
	send_used(&f, P_STDOUT, "hello ", 6);
	send_used(&f, P_STDOUT, "world\n", 6);
	read_exact(f.out_pipe[0], got, 12);
	ck_assert_mem_eq(got, "hello world\n", 12);
	send_used(&f, P_STDERR, "oops", 4);
	read_exact(f.err_pipe[0], got, 4);
	ck_assert_mem_eq(got, "oops", 4);
	expect_pipe_empty(f.out_pipe[0]);
	/* A spliced write: several pages behind one indirect descriptor, in order. */
	for (i = 0; i < 3; i++) {
		segs[i] = (struct fake_seg){ fake_alloc(&f.m, PAGE, PAGE), PAGE, false };
		memset(fake_host(&f.m, segs[i].gpa), 'a' + (int)i, PAGE);
		memset(buf + i * PAGE, 'a' + (int)i, PAGE);
	}
	head = fake_indirect_chain(&f.g.r[vcg_txq(P_STDOUT)], segs, 3);
	fake_publish(&f.g.r[vcg_txq(P_STDOUT)], head);
	vcg_kick(&f.g, vcg_txq(P_STDOUT));
	vcg_expect_used(&f.g, vcg_txq(P_STDOUT), head, 0);
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
	vcg_up(&f.g);
	handshake(&f);
	/* Linux drops input for a closed port: the device keeps it in the pipe. */
	write_str(f.in_pipe[1], "early");
	vcg_expect_no_used(&f.g, vcg_rxq(P_STDIN));
	vcg_ctrl_send(&f.g, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1);
	expect_input(&f, "early");
	write_str(f.in_pipe[1], "line 2\n");
	expect_input(&f, "line 2\n");
	/* The program closed the port: input waits again until it is reopened. */
	vcg_ctrl_send(&f.g, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 0);
	write_str(f.in_pipe[1], "later");
	vcg_expect_no_used(&f.g, vcg_rxq(P_STDIN));
	vcg_ctrl_send(&f.g, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1);
	expect_input(&f, "later");
	vcx_fini(&f);
}
END_TEST

START_TEST(host_eof_after_the_data_sends_port_open_0)
{
	struct vcx_opts o = { 0 };
	struct vcx f;

	vcx_init(&f, &o);
	vcg_up(&f.g);
	handshake(&f);
	vcg_ctrl_send(&f.g, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1);
	write_str(f.in_pipe[1], "tail");
	close_fd(&f.in_pipe[1]);
	/* The data first, then the host side closes: Linux's read() returns 0 after it. */
	expect_input(&f, "tail");
	vcg_expect_ctrl(&f.g, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 0);
	vcg_expect_no_used(&f.g, vcg_rxq(P_STDIN));
	vcg_expect_no_used(&f.g, CTRL_RX);
	vcx_fini(&f);
}
END_TEST

START_TEST(an_input_port_without_a_descriptor_is_closed_from_the_start)
{
	struct vcx_opts o = { .no_stdin = true };
	struct vcx f;

	vcx_init(&f, &o);
	vcg_up(&f.g);
	vcg_post_ctrl_bufs(&f.g, 8);
	vcg_ctrl_send(&f.g, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	vcg_expect_ctrl(&f.g, 1, VIRTIO_CONSOLE_PORT_ADD, 1);
	vcg_expect_ctrl(&f.g, 2, VIRTIO_CONSOLE_PORT_ADD, 1);
	vcg_expect_ctrl(&f.g, 3, VIRTIO_CONSOLE_PORT_ADD, 1);
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
	vcg_up(&f.g);
	handshake(&f);
	send_used(&f, P_STDOUT, "first ", 6);
	vcg_nap_ms(200); /* the thread is back asleep on the eventfds */
	/* Queued but not yet seen (no kick): the guest reported its exit status right after. */
	vcg_send_out(&f.g, vcg_txq(P_STDOUT), "last ", 5, false);
	vcg_send_out(&f.g, vcg_txq(P_STDOUT), "words\n", 6, false);
	vcg_send_out(&f.g, vcg_txq(P_STDERR), "err\n", 4, false);
	vcg_expect_no_used(&f.g, vcg_txq(P_STDOUT));
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
	vcg_up(&f.g);
	handshake(&f);
	head = vcg_send_out(&f.g, vcg_txq(P_STDOUT), data, sizeof(data), true);
	read_exact(f.out_pipe[0], got, sizeof(got));
	ck_assert_mem_eq(got, data, sizeof(data));
	vcg_expect_used(&f.g, vcg_txq(P_STDOUT), head, 0);
	vcx_fini(&f);
}
END_TEST

START_TEST(output_after_the_reader_left_is_consumed_and_dropped)
{
	struct vcx_opts o = { 0 };
	char got[8];
	struct vcx f;

	vcx_init(&f, &o);
	vcg_up(&f.g);
	handshake(&f);
	close_fd(&f.out_pipe[0]);
	/* EPIPE (SIGPIPE is ignored, as in the VMM): the guest is never left waiting. */
	send_used(&f, P_STDOUT, "lost", 4);
	send_used(&f, P_STDOUT, "lost", 4);
	/* The other ports carry on. */
	send_used(&f, P_STDERR, "kept", 4);
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
	vcg_up(&f.g);
	/* A control buffer too small for PORT_ADD is given back empty; the next one is used. */
	head = vcg_post_in(&f.g, CTRL_RX, 4, true);
	vcg_ctrl_send(&f.g, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	vcg_expect_used(&f.g, CTRL_RX, head, 0);
	vcg_post_ctrl_bufs(&f.g, 8);
	add_ports(&f);
	/* Wrong lengths, unknown ports and events: each used empty and otherwise ignored. */
	vcg_expect_used(&f.g, CTRL_TX, vcg_send_out(&f.g, CTRL_TX, &short_msg, 4, true), 0);
	vcg_ctrl_send(&f.g, 9, VIRTIO_CONSOLE_PORT_READY, 1);
	vcg_ctrl_send(&f.g, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	vcg_ctrl_send(&f.g, 1, 42, 1);
	vcg_ctrl_send(&f.g, 1, VIRTIO_CONSOLE_PORT_NAME, 1);
	vcg_expect_no_used(&f.g, CTRL_RX);
	/* A transmit buffer outside guest RAM: used empty, nothing written. */
	head = fake_chain(&f.g.r[vcg_txq(P_STDOUT)],
			  &(struct fake_seg){ RAM_BYTES + 0x1000ULL, 64, false }, 1);
	fake_publish(&f.g.r[vcg_txq(P_STDOUT)], head);
	vcg_kick(&f.g, vcg_txq(P_STDOUT));
	vcg_expect_used(&f.g, vcg_txq(P_STDOUT), head, 0);
	expect_pipe_empty(f.out_pipe[0]);
	/* Still running: data flows. */
	send_used(&f, P_STDOUT, "ok!\n", 4);
	read_exact(f.out_pipe[0], got, 4);
	ck_assert_mem_eq(got, "ok!\n", 4);
	ck_assert_uint_eq(vcg_rd(&f.g, VIRTIO_MMIO_STATUS), ST_RUNNING);
	vcx_fini(&f);
}
END_TEST

static bool wait_status(struct vcx *f, uint32_t bits)
{
	int64_t end = vcg_now_ms() + WAIT_MS;

	while ((vcg_rd(&f->g, VIRTIO_MMIO_STATUS) & bits) != bits) {
		if (vcg_now_ms() >= end)
			return false;
		vcg_nap_ms(1);
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
	vcg_up(&f.g);
	handshake(&f);
	r = &f.g.r[vcg_txq(P_STDOUT)];
	/* More buffers than the queue holds: the index is a lie. */
	fake_set_avail_idx(r, (uint16_t)(r->avail_idx + r->size + 1));
	vcg_wr(&f.g, VIRTIO_MMIO_QUEUE_NOTIFY, vcg_txq(P_STDOUT));
	ck_assert(wait_status(&f, VIRTIO_CONFIG_S_NEEDS_RESET));
	vcg_wr(&f.g, VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(vcg_rd(&f.g, VIRTIO_MMIO_STATUS), 0);
	/* A new driver on fresh rings: the whole handshake again, then data both ways. */
	vcg_up(&f.g);
	handshake(&f);
	send_used(&f, P_STDOUT, "again\n", 6);
	read_exact(f.out_pipe[0], got, 6);
	ck_assert_mem_eq(got, "again\n", 6);
	vcg_ctrl_send(&f.g, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1);
	write_str(f.in_pipe[1], "in");
	expect_input(&f, "in");
	/* And a plain reset in the middle of a session. */
	vcg_wr(&f.g, VIRTIO_MMIO_STATUS, 0);
	vcg_up(&f.g);
	handshake(&f);
	vcg_ctrl_send(&f.g, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1);
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
	vcg_up(&f.g);
	handshake(&f);
	send_used(&f, P_STDOUT, "filter", 6);
	read_exact(f.out_pipe[0], got, 6);
	ck_assert_mem_eq(got, "filter", 6);
	vcg_ctrl_send(&f.g, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1);
	write_str(f.in_pipe[1], "in");
	expect_input(&f, "in");
	close_fd(&f.in_pipe[1]);
	vcg_expect_ctrl(&f.g, P_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 0);
	close_fd(&f.out_pipe[0]);
	send_used(&f, P_STDOUT, "x", 1);
	vcg_wr(&f.g, VIRTIO_MMIO_STATUS, 0);
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

/* What a finished removal gives back: exactly these ids, in order. */
static void expect_collected(struct vcx *f, uint32_t want)
{
	struct pollfd p = { .fd = vcon_removed_fd(&f->dev), .events = POLLIN };
	uint32_t ids[4];

	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	ck_assert_uint_eq(vcon_port_collect(&f->dev, ids, 4), 1);
	ck_assert_uint_eq(ids[0], want);
}

START_TEST(runtime_ports_are_added_flushed_removed_and_reused)
{
	struct vcx_opts o = { .nspare = 2, .seccomp = true }; /* the thread under its filter */
	int out[2], in[2];
	char got[16];
	uint32_t ids[4];
	struct vcx f;

	vcx_init(&f, &o);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	/* Misuse: a fixed id, a free id, a bad name. The failed add closed its descriptor. */
	ck_assert_int_eq(vcon_port_add(&f.dev, P_STDOUT, "x", -1, VCON_FROM_GUEST), -EINVAL);
	ck_assert_int_eq(vcon_port_remove(&f.dev, 5), -EBUSY);
	ck_assert_int_eq(vcon_port_add(&f.dev, 4, "", dup(out[1]), VCON_FROM_GUEST), -EINVAL);
	/* Added and removed before the driver ran: the guest never hears of it. */
	ck_assert_int_eq(vcon_port_add(&f.dev, 5, "gone", -1, VCON_TO_GUEST), 0);
	ck_assert_int_eq(vcon_port_add(&f.dev, 5, "again", -1, VCON_TO_GUEST), -EBUSY);
	ck_assert_int_eq(vcon_port_remove(&f.dev, 5), 0);
	ck_assert_int_eq(vcon_port_remove(&f.dev, 5), -EBUSY);
	expect_collected(&f, 5);
	vcg_up(&f.g);
	handshake(&f);
	vcg_expect_no_used(&f.g, CTRL_RX); /* the spare ids are not announced */
	/* An exec's output port: added, opened, written; its queued output survives removal. */
	ck_assert_int_eq(vcon_port_add(&f.dev, 4, "exec1-stdout", out[1], VCON_FROM_GUEST), 0);
	vcg_expect_ctrl(&f.g, 4, VIRTIO_CONSOLE_PORT_ADD, 1);
	vcg_add_named_port(&f.g, 4, "exec1-stdout", 1);
	vcg_ctrl_send(&f.g, 4, VIRTIO_CONSOLE_PORT_OPEN, 1);
	vcg_send_out(&f.g, vcg_txq(4), "last ", 5, false);
	vcg_send_out(&f.g, vcg_txq(4), "words", 5, false);
	ck_assert_int_eq(vcon_port_remove(&f.dev, 4), 0);
	vcg_expect_ctrl(&f.g, 4, VIRTIO_CONSOLE_PORT_REMOVE, 1);
	expect_collected(&f, 4);
	read_exact(out[0], got, 10);
	ck_assert_mem_eq(got, "last words", 10);
	ck_assert_int_eq(read(out[0], got, sizeof(got)), 0); /* the device's copy is closed */
	/* Guest messages for a removed port are ignored, not applied. */
	vcg_ctrl_send(&f.g, 4, VIRTIO_CONSOLE_PORT_READY, 1);
	vcg_expect_no_used(&f.g, CTRL_RX);
	/* The id again, now an input: added, named, fed, and closed at EOF. */
	ck_assert_int_eq(vcon_port_add(&f.dev, 4, "exec2-stdin", in[0], VCON_TO_GUEST), 0);
	vcg_expect_ctrl(&f.g, 4, VIRTIO_CONSOLE_PORT_ADD, 1);
	vcg_add_named_port(&f.g, 4, "exec2-stdin", 1);
	vcg_ctrl_send(&f.g, 4, VIRTIO_CONSOLE_PORT_OPEN, 1);
	write_str(in[1], "hi");
	close(in[1]);
	vcg_expect_input(&f.g, 4, "hi", 2);
	vcg_expect_ctrl(&f.g, 4, VIRTIO_CONSOLE_PORT_OPEN, 0);
	ck_assert_uint_eq(vcon_port_collect(&f.dev, ids, 4), 0);
	close(out[0]);
	vcx_fini(&f); /* closes in[0], still the port's */
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
	tcase_add_test(tc, runtime_ports_are_added_flushed_removed_and_reused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* As the VMM does: a write to a pipe without a reader fails with EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	return check_run(vconsole_suite());
}
