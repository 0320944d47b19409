/* test_hostile.c: lying FUSE requests through the real device; refused boot files named. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <asm/bootparam.h>
#include "hostile_fixture.h"
#include "check_run.h"
#include "../boot/boot.h"
#include "../vmm/config.h"

/* ---- lengths that lie ---- */

/* MKDIR NAME in the root; hdr_len 0: the true length. */
static void mkdir_rq(struct rq *q, const char *name, uint32_t name_bytes, uint32_t hdr_len)
{
	struct fuse_mkdir_in in = { .mode = 0755, .umask = 022 };

	rq_start(q, FUSE_MKDIR, FUSE_ROOT_ID, 0x1000 + name_bytes);
	rq_put(q, &in, sizeof(in));
	rq_put(q, name, name_bytes);
	rq_set_len(q, hdr_len ? hdr_len : q->len);
}

static const char *host_path(struct vfx *f, const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", f->dir, name);
	return p;
}

static bool host_exists(struct vfx *f, const char *name)
{
	return access(host_path(f, name), F_OK) == 0;
}

START_TEST(lying_lengths_change_nothing_on_the_host)
{
	struct vfx f;
	struct pool p;
	struct rq q;

	up(&f, &p, _i);
	/* Header longer than the chain. */
	mkdir_rq(&q, "lie", 4, sizeof(struct fuse_in_header) + 8 + 4 + 100);
	ck_assert_int_eq(send_rq(&f, &p, &q), -EINVAL);
	/* Header shorter than the name: "li" without its NUL. */
	mkdir_rq(&q, "lie", 4, sizeof(struct fuse_in_header) + 8 + 2);
	ck_assert_int_eq(send_rq(&f, &p, &q), -EINVAL);
	/* Header shorter than a header. */
	mkdir_rq(&q, "lie", 4, 20);
	ck_assert_int_eq(send_rq(&f, &p, &q), -EINVAL);
	/* The name carries no NUL at all. */
	mkdir_rq(&q, "lie", 3, 0);
	ck_assert_int_eq(send_rq(&f, &p, &q), -EINVAL);
	/* Extensions (never negotiated) claim the name's bytes. */
	mkdir_rq(&q, "lie", 4, 0);
	((struct fuse_in_header *)q.b)->total_extlen = 1;
	ck_assert_int_eq(send_rq(&f, &p, &q), -EINVAL);
	/* Names that are not one component. */
	mkdir_rq(&q, "l/e", 4, 0);
	ck_assert_int_ne(send_rq(&f, &p, &q), 0);
	mkdir_rq(&q, "..", 3, 0);
	ck_assert_int_ne(send_rq(&f, &p, &q), 0);
	ck_assert(!host_exists(&f, "lie") && !host_exists(&f, "li") && !host_exists(&f, "l"));
	/* The same request told truthfully does create it: the checks above could fail. */
	mkdir_rq(&q, "lie", 4, 0);
	ck_assert_int_eq(send_rq(&f, &p, &q), 0);
	ck_assert(host_exists(&f, "lie"));
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), ST_RUNNING);
	ck_assert_int_eq(rmdir(host_path(&f, "lie")), 0);
	vfx_fini(&f);
}
END_TEST

START_TEST(no_room_for_a_reply_means_no_action)
{
	static const uint32_t rooms[] = { 1, 8, 15 };
	struct vfx f;
	struct pool p;
	struct rq q;
	unsigned i;

	up(&f, &p, _i);
	mkdir_rq(&q, "noreply", 8, 0);
	/* Nothing writable at all, as only FORGETs may come. */
	struct raw r = { .bytes = q.b, .len = q.len, .no_reply_room = true };
	ck_assert_uint_eq(raw_submit(&f, &p, &r), 0);
	/* Less room than a reply header: no unique to answer to, so no action either. */
	for (i = 0; i < sizeof(rooms) / sizeof(rooms[0]); i++) {
		r = (struct raw){ .bytes = q.b, .len = q.len, .wlen = { rooms[i] } };
		ck_assert_uint_eq(raw_submit(&f, &p, &r), 0);
		ck_assert_uint_eq(*(uint8_t *)fake_host(&f.m, p.out), 0xee);
	}
	/* Room split over two buffers counts as a whole: 15 bytes is still too little. */
	r = (struct raw){ .bytes = q.b, .len = q.len, .cut = 7, .wlen = { 10, 5 } };
	ck_assert_uint_eq(raw_submit(&f, &p, &r), 0);
	ck_assert(!host_exists(&f, "noreply"));
	/* A zero-length chain: nothing readable, nothing writable with bytes. */
	r = (struct raw){ .bytes = q.b, .len = 0 };
	ck_assert_uint_eq(raw_submit(&f, &p, &r), 0);
	ck_assert(!host_exists(&f, "noreply"));
	getattr(&f, RQ, FUSE_ROOT_ID, 0);
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), ST_RUNNING);
	vfx_fini(&f);
}
END_TEST

static uint64_t open_file(struct vfx *f, uint64_t *nodeid)
{
	struct fuse_open_in in = { .flags = O_RDWR };
	struct fuse_call c = { .opcode = FUSE_OPEN, .arg = &in, .arglen = sizeof(in),
			       .body = { sizeof(struct fuse_open_out) } };
	struct fuse_open_out *o;

	*nodeid = lookup(f, RQ, FILE_NAME)->nodeid;
	c.nodeid = *nodeid;
	o = call(f, RQ, &c, 0, NULL);
	return o->fh;
}

static void file_bytes(struct vfx *f, uint8_t *buf, size_t len)
{
	FILE *fp = fopen(f->path, "r");

	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fread(buf, 1, len, fp), len);
	fclose(fp);
}

START_TEST(write_beyond_its_payload_writes_nothing)
{
	uint8_t before[FILE_LEN], after[FILE_LEN];
	struct fuse_write_in in = { .offset = 0, .size = 100 };
	struct vfx f;
	struct pool p;
	struct rq q;
	uint64_t node;

	up(&f, &p, _i);
	in.fh = open_file(&f, &node);
	file_bytes(&f, before, sizeof(before));
	/* size says 100, the chain holds 10. */
	rq_start(&q, FUSE_WRITE, node, 77);
	rq_put(&q, &in, sizeof(in));
	rq_put(&q, "XXXXXXXXXX", 10);
	rq_seal(&q);
	ck_assert_int_eq(send_rq(&f, &p, &q), -EINVAL);
	/* size says 10 and the bytes are there, but the header ends after 5 of them. */
	in.size = 10;
	memcpy(q.b + sizeof(struct fuse_in_header), &in, sizeof(in));
	rq_set_len(&q, q.len - 5);
	ck_assert_int_eq(send_rq(&f, &p, &q), -EINVAL);
	/* The payload split across descriptors mid-argument changes nothing either. */
	in.size = 100;
	memcpy(q.b + sizeof(struct fuse_in_header), &in, sizeof(in));
	rq_seal(&q);
	struct raw r = { .bytes = q.b, .len = q.len, .cut = 45, .wlen = { 4096 } };
	ck_assert_uint_eq(raw_submit(&f, &p, &r), OH);
	ck_assert_int_eq(reply_hdr(&f, &p)->error, -EINVAL);
	file_bytes(&f, after, sizeof(after));
	ck_assert_mem_eq(before, after, sizeof(before));
	/* Told truthfully, the write lands: the file could have changed above. */
	rq_seal(&q);
	in.size = 10;
	memcpy(q.b + sizeof(struct fuse_in_header), &in, sizeof(in));
	ck_assert_int_eq(send_rq(&f, &p, &q), 0);
	file_bytes(&f, after, sizeof(after));
	ck_assert_mem_eq(after, "XXXXXXXXXX", 10);
	vfx_fini(&f);
}
END_TEST

START_TEST(reads_never_overrun_small_reply_buffers)
{
	struct fuse_read_in in = { .offset = 0, .size = FILE_LEN };
	uint8_t *b0, *b1;
	struct vfx f;
	struct pool p;
	struct rq q;
	uint64_t node;
	unsigned i;

	up(&f, &p, _i);
	in.fh = open_file(&f, &node);
	rq_start(&q, FUSE_READ, node, 88);
	rq_put(&q, &in, sizeof(in));
	rq_seal(&q);
	/* 3000 bytes asked for, 16 + 100 bytes of room: 100 bytes of data, no more. */
	struct raw r = { .bytes = q.b, .len = q.len, .wlen = { OH + 100 } };
	ck_assert_uint_eq(raw_submit(&f, &p, &r), OH + 100);
	b0 = fake_host(&f.m, p.out);
	for (i = 0; i < 100; i++)
		ck_assert_uint_eq(b0[OH + i], (i * 7 + 3) & 0xff);
	ck_assert_uint_eq(b0[OH + 100], 0xee);
	/* Room split 20 + 30 (the header itself split): 34 bytes of data. */
	r = (struct raw){ .bytes = q.b, .len = q.len, .wlen = { 20, 30 } };
	ck_assert_uint_eq(raw_submit(&f, &p, &r), 50);
	b0 = fake_host(&f.m, p.out);
	b1 = fake_host(&f.m, p.out + POOL);
	ck_assert_uint_eq(((struct fuse_out_header *)b0)->len, 50);
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(b0[OH + i], (i * 7 + 3) & 0xff);
	for (i = 0; i < 30; i++)
		ck_assert_uint_eq(b1[i], ((i + 4) * 7 + 3) & 0xff);
	ck_assert_uint_eq(b0[20], 0xee);
	ck_assert_uint_eq(b1[30], 0xee);
	vfx_fini(&f);
}
END_TEST

/* ---- refused boot files name themselves ---- */

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hostile-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static const char *tpath(const char *name)
{
	static char p[4][128];
	static unsigned k;

	snprintf(p[k % 4], sizeof(p[0]), "%s/%s", tmpdir, name);
	return p[k++ % 4];
}

static void write_bytes(const char *path, const void *b, size_t n)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(b, 1, n, fp), n);
	ck_assert_int_eq(fclose(fp), 0);
}

/* A bzImage header for the 64-bit protocol: setup_sects 1, then `kernel` bytes. */
static size_t make_bzimage(uint8_t *img, size_t cap, size_t kernel)
{
	struct setup_header h = { 0 };
	size_t len = 2 * 512 + kernel;

	ck_assert_uint_le(len, cap);
	memset(img, 0, len);
	h.setup_sects = 1;
	h.boot_flag = 0xaa55;
	h.header = 0x53726448; /* "HdrS" */
	h.version = 0x020f;
	h.loadflags = LOADED_HIGH;
	h.xloadflags = XLF_KERNEL_64;
	h.relocatable_kernel = 1;
	h.kernel_alignment = 0x200000;
	h.pref_address = 0x1000000;
	h.init_size = 0x100000;
	h.initrd_addr_max = 0x7fffffff;
	h.cmdline_size = 0x7ff;
	h.syssize = (uint32_t)(kernel / 16);
	h.jump = 0x6aeb; /* jmp +0x6a: the header runs to 0x26c, past init_size */
	memcpy(img + 0x1f1, &h, sizeof(h));
	return len;
}

static int load(struct guest_memory *mem, const char *kernel, const char *initrd, char *err)
{
	struct boot_request req = { .kernel_path = kernel, .initrd_path = initrd, .cmdline = "" };
	struct boot_cpu_state entry;

	return boot_load(mem, &req, &entry, err, 256);
}

START_TEST(refused_kernels_and_initrds_name_their_file)
{
	static uint8_t img[2 * 512 + 8192];
	struct guest_memory mem;
	char err[256];
	size_t len = make_bzimage(img, sizeof(img), 8192);
	int fd;

	make_tmpdir();
	ck_assert_int_eq(gm_create(&mem, 64ULL << 20), 0);
	/* The image itself boots: the refusals below are about what was changed. */
	write_bytes(tpath("bz"), img, len);
	ck_assert_msg(load(&mem, tpath("bz"), NULL, err) == 0, "%s", err);
	/* Cut inside its setup: the message names the file, not just "bzImage". */
	write_bytes(tpath("bz-cut"), img, 1000);
	ck_assert_int_eq(load(&mem, tpath("bz-cut"), NULL, err), -ENOEXEC);
	ck_assert_msg(strstr(err, tpath("bz-cut")) && strstr(err, "truncated"), "%s", err);
	/* A kernel that fits, an initrd that cannot (sparse, larger than RAM). */
	fd = open(tpath("rd"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 128LL << 20), 0);
	close(fd);
	ck_assert_int_eq(load(&mem, tpath("bz"), tpath("rd"), err), -E2BIG);
	ck_assert_msg(strstr(err, tpath("rd")) && strstr(err, "does not fit"), "%s", err);
	gm_destroy(&mem);
	unlink(tpath("bz"));
	unlink(tpath("bz-cut"));
	unlink(tpath("rd"));
	ck_assert_int_eq(rmdir(tmpdir), 0);
}
END_TEST

/* ---- configuration bombs: refused with a positioned message, and quickly ---- */

static int64_t load_ms(const char *text, size_t len, struct config_error *err)
{
	struct vm_config cfg;
	int64_t t0 = now_ms();
	int r;

	config_init(&cfg);
	r = config_load_string("t.yaml", text, len, &cfg, err);
	config_free(&cfg);
	ck_assert_int_eq(r, -EINVAL);
	return now_ms() - t0;
}

/* Nine levels of nine aliases each: 9^9 "lol"s if anything expanded them. */
static size_t laughs(char *buf, size_t cap, const char *key, bool in_list)
{
	size_t n = (size_t)snprintf(buf, cap, "kernel: %s/bz\n%s: %s&a0 [lol, lol, lol, lol, lol, "
				    "lol, lol, lol, lol]", tmpdir, key, in_list ? "[" : "");
	unsigned i, j;

	for (i = 1; i < 10; i++) {
		if (in_list)
			n += (size_t)snprintf(buf + n, cap - n, ", &a%u [", i);
		else
			n += (size_t)snprintf(buf + n, cap - n, "\nx%u: &a%u [", i, i);
		for (j = 0; j < 9; j++)
			n += (size_t)snprintf(buf + n, cap - n, "%s*a%u", j ? ", " : "", i - 1);
		n += (size_t)snprintf(buf + n, cap - n, "]");
	}
	n += (size_t)snprintf(buf + n, cap - n, "%s\n", in_list ? "]" : "");
	ck_assert_uint_lt(n, cap);
	return n;
}

START_TEST(config_bombs_are_refused_quickly)
{
	static char buf[10 << 20];
	struct config_error err;
	struct vm_config cfg;
	uint64_t x = 1;
	size_t i, n;
	char want[160];

	make_tmpdir();
	write_bytes(tpath("bz"), "x", 1);
	/* Billion laughs: the aliases are never expanded, the first wrong thing is reported. */
	n = laughs(buf, sizeof(buf), "x0", false);
	ck_assert_int_lt(load_ms(buf, n, &err), 1000);
	ck_assert_str_eq(err.msg, "t.yaml:2:1: unknown key 'x0'");
	n = laughs(buf, sizeof(buf), "command", true);
	ck_assert_int_lt(load_ms(buf, n, &err), 1000);
	ck_assert_str_eq(err.msg, "t.yaml:2:11: command: expected a word, got a list");
	/* One share twice through an alias. */
	n = (size_t)snprintf(buf, sizeof(buf),
			     "kernel: %s/bz\n"
			     "shares: [&s {tag: a, path: %s}, *s]\n", tmpdir, tmpdir);
	load_ms(buf, n, &err);
	ck_assert_str_eq(err.msg,
			 "t.yaml:2:19: shares[1].tag: duplicate tag 'a' (first at line 2)");
	/* A raw NUL byte, and 10 MB of binary garbage. */
	load_ms("vcpus: 2\0\n", 10, &err);
	ck_assert_str_eq(err.msg, "t.yaml:1:9: control characters are not allowed");
	for (i = 0; i < sizeof(buf); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (char)x;
	}
	ck_assert_int_lt(load_ms(buf, sizeof(buf), &err), 1000);
	ck_assert_msg(strncmp(err.msg, "t.yaml:1:", 9) == 0, "%s", err.msg);
	/* A 10 MB file is refused before it is read. */
	write_bytes(tpath("big.yaml"), buf, sizeof(buf));
	config_init(&cfg);
	ck_assert_int_eq(config_load_file(tpath("big.yaml"), &cfg, &err), -EINVAL);
	config_free(&cfg);
	snprintf(want, sizeof(want), "%s: not a regular file of at most 1048576 bytes",
		 tpath("big.yaml"));
	ck_assert_str_eq(err.msg, want);
	unlink(tpath("bz"));
	unlink(tpath("big.yaml"));
	ck_assert_int_eq(rmdir(tmpdir), 0);
}
END_TEST

/* libyaml 0.2.5 is quadratic in nesting depth: refused at 33 levels, in milliseconds. */
START_TEST(config_nesting_is_bounded)
{
	static char buf[1 << 20];
	struct config_error err;
	size_t n, i;

	n = (size_t)snprintf(buf, sizeof(buf), "kernel: x\nvcpus: ");
	for (i = 0; i < 200000; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{a: ");
	ck_assert_int_lt(load_ms(buf, n, &err), 1000);
	ck_assert_str_eq(err.msg, "t.yaml:2:132: nested more than 32 levels deep");
	memset(buf + 8, '[', sizeof(buf) - 8);
	ck_assert_int_lt(load_ms(buf, sizeof(buf), &err), 1000);
	ck_assert_str_eq(err.msg, "t.yaml:1:40: nested more than 32 levels deep");
	/* A NUL inside a key does not make it another key. */
	load_ms("\"kernel\\0x\": /bin/sh\n", 21, &err);
	ck_assert_str_eq(err.msg, "t.yaml:1:1: keys may not contain a NUL byte");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hostile");
	TCase *fuse = tcase_create("fuse_lies"), *boot = tcase_create("boot_names");
	TCase *config = tcase_create("config_bombs");

	/* Each wait is bounded by WAIT_MS. */
	tcase_set_timeout(fuse, 60);
	tcase_add_loop_test(fuse, lying_lengths_change_nothing_on_the_host, 0, 2); /* workers; on the vCPU */
	tcase_add_loop_test(fuse, no_room_for_a_reply_means_no_action, 0, 2); /* workers; on the vCPU */
	tcase_add_loop_test(fuse, write_beyond_its_payload_writes_nothing, 0, 2); /* workers; on the vCPU */
	tcase_add_loop_test(fuse, reads_never_overrun_small_reply_buffers, 0, 2); /* workers; on the vCPU */
	tcase_add_test(boot, refused_kernels_and_initrds_name_their_file);
	tcase_add_test(config, config_bombs_are_refused_quickly);
	tcase_add_test(config, config_nesting_is_bounded);
	suite_add_tcase(s, fuse);
	suite_add_tcase(s, boot);
	suite_add_tcase(s, config);
	return check_run(s);
}
