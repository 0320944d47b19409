/* test_fuse_server.c: the FUSE server fed raw request bytes, with a recording backend behind it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../devices/virtio_fs/fuse_server.h"

#ifndef FUSE_DIRECT_IO_ALLOW_MMAP
#define FUSE_DIRECT_IO_ALLOW_MMAP (1ULL << 36)
#endif
#define ALLOW_IDMAP_BIT (1ULL << 40)

/* --- a backend that records what reached it --- */

struct rec {
	unsigned calls;
	char name[300], name2[300];
	uint64_t nodeid, newdir;
	uint64_t forget_id[8], forget_n[8];
	unsigned nforget;
	unsigned char wrote[8192];
	size_t wrote_len;
	uint64_t wrote_off;
	struct fuse_conn_params conn;
};

static struct rec R;

static int r_init(void *be, const struct fuse_conn_params *c)
{
	R.conn = *c;
	return 0;
}

static int r_lookup(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		    struct fuse_entry *e)
{
	R.calls++;
	snprintf(R.name, sizeof(R.name), "%s", name);
	if (strcmp(name, "missing") == 0)
		return -ENOENT;
	e->nodeid = 77;
	e->generation = 5;
	e->attr.st_mode = S_IFREG | 0644;
	e->attr.st_ino = 1234;
	return 0;
}

static void r_forget(void *be, uint64_t nodeid, uint64_t n)
{
	if (R.nforget < 8) {
		R.forget_id[R.nforget] = nodeid;
		R.forget_n[R.nforget] = n;
	}
	R.nforget++;
}

static int r_getattr(void *be, const struct fuse_ctx *c, uint64_t nodeid, struct stat *st)
{
	R.calls++;
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFDIR | 0755;
	st->st_ino = nodeid;
	return 0;
}

static int r_mkdir(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		   mode_t mode, struct fuse_entry *e)
{
	R.calls++;
	e->nodeid = 88;
	return 0;
}

static int r_rename(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		    uint64_t newdir, const char *newname, unsigned flags)
{
	R.calls++;
	snprintf(R.name, sizeof(R.name), "%s", name);
	snprintf(R.name2, sizeof(R.name2), "%s", newname);
	R.newdir = newdir;
	return 0;
}

static int r_open(void *be, const struct fuse_ctx *c, uint64_t nodeid, int flags, uint32_t ofl,
		  uint64_t *fh)
{
	R.calls++;
	*fh = 4242;
	return 0;
}

/* Byte i of the file is (i & 0xff). */
static int r_read(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		  const struct iovec *iov, unsigned n, size_t *done)
{
	size_t k = 0;

	for (unsigned i = 0; i < n; i++)
		for (size_t j = 0; j < iov[i].iov_len; j++)
			((unsigned char *)iov[i].iov_base)[j] = (unsigned char)(off + k++);
	*done = k;
	return 0;
}

static int r_write(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		   const struct iovec *iov, unsigned n, uint32_t wf, size_t *done)
{
	R.wrote_off = off;
	for (unsigned i = 0; i < n; i++) {
		memcpy(R.wrote + R.wrote_len, iov[i].iov_base, iov[i].iov_len);
		R.wrote_len += iov[i].iov_len;
	}
	*done = R.wrote_len;
	return 0;
}

/* Entries "e<i>" with cookie i+1, starting after cookie `off`. */
static int r_readdir(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		     uint64_t off, bool plus, fuse_dir_fill_fn fill, void *sink)
{
	for (uint64_t i = off; i < 100; i++) {
		char n[16];
		struct fuse_entry e = { .nodeid = 1000 + i };
		int len = snprintf(n, sizeof(n), "e%llu", (unsigned long long)i);
		int rc = fill(sink, n, (size_t)len, 500 + i, DT_REG, i + 1, plus ? &e : NULL);

		if (rc == 1 && plus)
			r_forget(be, e.nodeid, 1);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
	return 0;
}

static const struct fuse_backend_ops rec_ops = {
	.init = r_init, .lookup = r_lookup, .forget = r_forget, .getattr = r_getattr,
	.mkdir = r_mkdir, .rename = r_rename, .open = r_open, .read = r_read, .write = r_write,
	.readdir = r_readdir,
};

/* --- DAX hook recorder --- */

static unsigned dax_setups, dax_removes;

static int d_setup(void *dax, const struct fuse_ctx *c, uint64_t nodeid,
		   const struct fuse_setupmapping_in *in)
{
	dax_setups++;
	return 0;
}

static int d_remove(void *dax, const struct fuse_ctx *c, const struct fuse_removemapping_one *v,
		    uint32_t count)
{
	dax_removes += count;
	return 0;
}

static const struct fuse_dax_ops dax_ops = { .map_alignment = 12, .setup = d_setup,
					     .remove = d_remove };

/* --- request building --- */

struct reqbuf {
	unsigned char b[16384];
	size_t len;
};

static uint64_t next_unique = 100;

static void req(struct reqbuf *q, uint32_t opcode, uint64_t nodeid)
{
	struct fuse_in_header h = { .opcode = opcode, .unique = next_unique++, .nodeid = nodeid,
				    .uid = 1000, .gid = 1000, .pid = 42 };

	memcpy(q->b, &h, sizeof(h));
	q->len = sizeof(h);
}

static void put(struct reqbuf *q, const void *p, size_t n)
{
	memcpy(q->b + q->len, p, n);
	q->len += n;
}

static void put_str(struct reqbuf *q, const char *s)
{
	put(q, s, strlen(s) + 1);
}

/* Seals the header length (or a lie about it). */
static void seal(struct reqbuf *q, long delta)
{
	uint32_t len = (uint32_t)((long)q->len + delta);

	memcpy(q->b, &len, sizeof(len));
}

static unsigned char out[1 << 20];

static size_t run_out(struct fuse_server *s, struct reqbuf *q, size_t outsz)
{
	struct iovec iv = { q->b, q->len }, ov = { out, outsz };

	memset(out, 0xee, outsz);
	return fuse_server_handle(s, &iv, 1, &ov, 1);
}

static size_t run(struct fuse_server *s, struct reqbuf *q)
{
	return run_out(s, q, sizeof(out));
}

static struct fuse_out_header *oh(void)
{
	return (struct fuse_out_header *)out;
}

static struct fuse_server *make(enum cache_mode cache, bool readonly, bool writeback,
				const struct fuse_dax_ops *dax)
{
	struct fuse_server_config cfg = { .cache = cache, .readonly = readonly,
					  .writeback = writeback, .backend_ops = &rec_ops,
					  .dax = dax };
	struct fuse_server *s;

	memset(&R, 0, sizeof(R));
	ck_assert_int_eq(fuse_server_create(&cfg, &s), 0);
	return s;
}

static struct fuse_init_out do_init(struct fuse_server *s, uint32_t minor, uint64_t offered)
{
	struct fuse_init_in in = { .major = 7, .minor = minor, .max_readahead = 65536,
				   .flags = (uint32_t)offered,
				   .flags2 = (uint32_t)(offered >> 32) };
	struct fuse_init_out o;
	struct reqbuf q;

	req(&q, FUSE_INIT, 0);
	put(&q, &in, sizeof(in));
	seal(&q, 0);
	ck_assert_uint_eq(run(s, &q), sizeof(struct fuse_out_header) + sizeof(o));
	ck_assert_int_eq(oh()->error, 0);
	memcpy(&o, out + sizeof(struct fuse_out_header), sizeof(o));
	return o;
}

static struct fuse_server *ready(enum cache_mode cache)
{
	struct fuse_server *s = make(cache, false, false, NULL);

	do_init(s, 38, ~0ULL);
	return s;
}

/* --- framing --- */

START_TEST(short_header_gets_no_reply)
{
	struct fuse_server *s = make(CACHE_AUTO, false, false, NULL);
	struct fuse_server_stats st;
	struct reqbuf q;

	req(&q, FUSE_GETATTR, 1);
	q.len = 20;
	ck_assert_uint_eq(run(s, &q), 0);
	fuse_server_get_stats(s, &st);
	ck_assert_uint_eq(st.malformed, 1);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(length_longer_than_bytes_is_einval)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	struct fuse_getattr_in in = { 0 };
	struct reqbuf q;

	req(&q, FUSE_GETATTR, 1);
	put(&q, &in, sizeof(in));
	seal(&q, +1);
	ck_assert_uint_eq(run(s, &q), sizeof(struct fuse_out_header));
	ck_assert_int_eq(oh()->error, -EINVAL);
	ck_assert_uint_eq(oh()->unique, next_unique - 1);
	ck_assert_uint_eq(R.calls, 0);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(length_shorter_than_header_is_einval)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	struct reqbuf q;

	req(&q, FUSE_STATFS, 1);
	seal(&q, -1);
	ck_assert_uint_eq(run(s, &q), sizeof(struct fuse_out_header));
	ck_assert_int_eq(oh()->error, -EINVAL);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(length_bounds_the_arguments)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	struct fuse_getattr_in in = { 0 };
	struct reqbuf q;

	/* The bytes are there, but the header says the argument is cut short. */
	req(&q, FUSE_GETATTR, 1);
	put(&q, &in, sizeof(in));
	seal(&q, -4);
	run(s, &q);
	ck_assert_int_eq(oh()->error, -EINVAL);
	ck_assert_uint_eq(R.calls, 0);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(extension_length_beyond_request_is_einval)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	struct fuse_getattr_in in = { 0 };
	struct reqbuf q;

	req(&q, FUSE_GETATTR, 1);
	put(&q, &in, sizeof(in));
	seal(&q, 0);
	((struct fuse_in_header *)q.b)->total_extlen = 3; /* 24 bytes; only 16 follow */
	run(s, &q);
	ck_assert_int_eq(oh()->error, -EINVAL);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(no_room_for_a_reply_gets_nothing)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	struct reqbuf q;

	req(&q, FUSE_STATFS, 1);
	seal(&q, 0);
	ck_assert_uint_eq(run_out(s, &q, 15), 0);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(header_split_over_iovecs)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	struct fuse_getattr_in in = { 0 };
	struct reqbuf q;
	struct iovec iv[4], ov[2];

	req(&q, FUSE_GETATTR, 9);
	put(&q, &in, sizeof(in));
	seal(&q, 0);
	iv[0] = (struct iovec){ q.b, 3 };
	iv[1] = (struct iovec){ q.b + 3, 0 };
	iv[2] = (struct iovec){ q.b + 3, 30 };
	iv[3] = (struct iovec){ q.b + 33, q.len - 33 };
	ov[0] = (struct iovec){ out, 10 };
	ov[1] = (struct iovec){ out + 10, 200 };
	ck_assert_uint_eq(fuse_server_handle(s, iv, 4, ov, 2),
			  sizeof(struct fuse_out_header) + sizeof(struct fuse_attr_out));
	ck_assert_int_eq(oh()->error, 0);
	ck_assert_uint_eq(((struct fuse_attr_out *)(out + 16))->attr.ino, 9);
	fuse_server_destroy(s);
}
END_TEST

/* --- dispatch --- */

START_TEST(requests_before_init_get_eio)
{
	struct fuse_server *s = make(CACHE_AUTO, false, false, NULL);
	struct fuse_getattr_in in = { 0 };
	struct reqbuf q;

	req(&q, FUSE_GETATTR, 1);
	put(&q, &in, sizeof(in));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, -EIO);
	ck_assert_uint_eq(R.calls, 0);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(unknown_opcodes_get_enosys)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	static const uint32_t ops[] = { FUSE_IOCTL, FUSE_BMAP, FUSE_POLL, FUSE_TMPFILE, 52, 9999,
					CUSE_INIT };
	struct fuse_server_stats st;
	struct reqbuf q;

	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		req(&q, ops[i], 1);
		put(&q, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 32);
		seal(&q, 0);
		ck_assert_uint_eq(run(s, &q), sizeof(struct fuse_out_header));
		ck_assert_int_eq(oh()->error, -ENOSYS);
	}
	fuse_server_get_stats(s, &st);
	ck_assert_uint_eq(st.enosys, sizeof(ops) / sizeof(ops[0]));
	fuse_server_destroy(s);
}
END_TEST

START_TEST(argument_shorter_than_struct_is_einval)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	static const uint32_t ops[] = { FUSE_GETATTR, FUSE_SETATTR, FUSE_READ, FUSE_WRITE,
					FUSE_OPEN, FUSE_MKNOD, FUSE_SETLKW, FUSE_COPY_FILE_RANGE };
	struct reqbuf q;

	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		req(&q, ops[i], 1);
		put(&q, "\0\0\0\0", 4);
		seal(&q, 0);
		run(s, &q);
		ck_assert_int_eq(oh()->error, -EINVAL);
	}
	ck_assert_uint_eq(R.calls, 0);
	fuse_server_destroy(s);
}
END_TEST

/* --- INIT --- */

START_TEST(init_offers_only_what_is_implemented)
{
	struct fuse_server *s = make(CACHE_AUTO, false, false, NULL);
	struct fuse_init_out o = do_init(s, 40, ~0ULL);
	uint64_t f = o.flags | (uint64_t)o.flags2 << 32;

	ck_assert_uint_eq(o.major, 7);
	ck_assert_uint_eq(o.minor, FUSE_KERNEL_MINOR_VERSION);
	ck_assert_uint_eq(o.max_write, 1U << 20);
	ck_assert_uint_eq(o.max_pages, 256);
	ck_assert_uint_eq(o.map_alignment, 0);
	ck_assert_uint_eq(o.max_readahead, 65536);
	ck_assert(f & FUSE_POSIX_LOCKS);
	ck_assert(f & FUSE_MAX_PAGES);
	ck_assert(f & FUSE_DO_READDIRPLUS);
	ck_assert(f & FUSE_HANDLE_KILLPRIV_V2);
	ck_assert(f & FUSE_ATOMIC_O_TRUNC);
	ck_assert(!(f & (FUSE_POSIX_ACL | FUSE_DONT_MASK | FUSE_EXPORT_SUPPORT | FUSE_SPLICE_READ |
			 FUSE_SPLICE_WRITE | FUSE_SPLICE_MOVE | FUSE_SETXATTR_EXT | FUSE_SUBMOUNTS |
			 FUSE_WRITEBACK_CACHE | FUSE_MAP_ALIGNMENT | FUSE_HAS_IOCTL_DIR |
			 FUSE_HANDLE_KILLPRIV)));
	ck_assert(!(f & (FUSE_SECURITY_CTX | FUSE_HAS_INODE_DAX | ALLOW_IDMAP_BIT)));
	ck_assert(!(f & FUSE_DIRECT_IO_ALLOW_MMAP)); /* only for cache=never */
	ck_assert_uint_eq(fuse_server_flags(s), f);
	ck_assert(R.conn.posix_locks && R.conn.killpriv_v2 && !R.conn.writeback);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(init_never_agrees_to_what_was_not_offered)
{
	struct fuse_server *s = make(CACHE_AUTO, false, false, NULL);
	struct fuse_init_out o = do_init(s, 31, FUSE_ASYNC_READ | FUSE_MAX_PAGES);

	ck_assert_uint_eq(o.flags, FUSE_ASYNC_READ | FUSE_MAX_PAGES);
	ck_assert_uint_eq(o.flags2, 0);
	ck_assert_uint_eq(o.minor, 31);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(init_rejects_old_protocols)
{
	struct fuse_server *s = make(CACHE_AUTO, false, false, NULL);
	struct fuse_init_in in = { .major = 7, .minor = 30 };
	struct reqbuf q;

	req(&q, FUSE_INIT, 0);
	put(&q, &in, sizeof(in));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, -EPROTO);
	in.major = 6;
	in.minor = 40;
	req(&q, FUSE_INIT, 0);
	put(&q, &in, sizeof(in));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, -EPROTO);
	ck_assert_uint_eq(fuse_server_flags(s), 0);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(init_answers_a_newer_major_with_ours)
{
	struct fuse_server *s = make(CACHE_AUTO, false, false, NULL);
	struct fuse_init_in in = { .major = 8, .minor = 0 };
	struct fuse_getattr_in g = { 0 };
	struct reqbuf q;

	req(&q, FUSE_INIT, 0);
	put(&q, &in, sizeof(in));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, 0);
	ck_assert_uint_eq(((struct fuse_init_out *)(out + 16))->major, 7);
	req(&q, FUSE_GETATTR, 1);
	put(&q, &g, sizeof(g));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, -EIO); /* no session started */
	fuse_server_destroy(s);
}
END_TEST

START_TEST(init_accepts_the_short_pre_7_36_struct)
{
	struct fuse_server *s = make(CACHE_AUTO, false, false, NULL);
	struct fuse_init_in in = { .major = 7, .minor = 31, .flags = FUSE_POSIX_LOCKS };
	struct reqbuf q;

	req(&q, FUSE_INIT, 0);
	put(&q, &in, offsetof(struct fuse_init_in, flags2));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, 0);
	ck_assert_uint_eq(((struct fuse_init_out *)(out + 16))->flags, FUSE_POSIX_LOCKS);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(init_cache_never_keeps_mmap_working)
{
	struct fuse_server *s = make(CACHE_NEVER, false, false, NULL);
	struct fuse_init_out o = do_init(s, 38, 0xffffffffULL); /* a 6.1 guest: no flags2 bits */
	struct fuse_open_in in = { .flags = O_RDONLY };
	struct fuse_open_out *oo = (struct fuse_open_out *)(out + 16);
	struct reqbuf q;

	ck_assert(!(o.flags & FUSE_DO_READDIRPLUS));
	ck_assert(o.flags & FUSE_AUTO_INVAL_DATA);
	req(&q, FUSE_OPEN, 5);
	put(&q, &in, sizeof(in));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, 0);
	ck_assert_uint_eq(oo->fh, 4242);
	ck_assert_uint_eq(oo->open_flags & FOPEN_DIRECT_IO, 0); /* shared mmap needs the cache */
	/* A guest that allows mmap on direct I/O gets direct I/O. */
	do_init(s, 39, 0xffffffffULL | FUSE_DIRECT_IO_ALLOW_MMAP);
	ck_assert(fuse_server_flags(s) & FUSE_DIRECT_IO_ALLOW_MMAP);
	req(&q, FUSE_OPEN, 5);
	put(&q, &in, sizeof(in));
	seal(&q, 0);
	run(s, &q);
	ck_assert_uint_eq(oo->open_flags & FOPEN_DIRECT_IO, FOPEN_DIRECT_IO);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(init_cache_always_keeps_cache)
{
	struct fuse_server *s = make(CACHE_ALWAYS, false, true, NULL);
	struct fuse_init_out o = do_init(s, 38, ~0ULL);
	struct fuse_open_in in = { .flags = O_RDONLY };
	struct reqbuf q;

	ck_assert(o.flags & FUSE_WRITEBACK_CACHE);
	ck_assert(R.conn.writeback);
	req(&q, FUSE_OPEN, 5);
	put(&q, &in, sizeof(in));
	seal(&q, 0);
	run(s, &q);
	ck_assert_uint_eq(((struct fuse_open_out *)(out + 16))->open_flags, FOPEN_KEEP_CACHE);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(init_dax_hook_gets_alignment_and_mappings)
{
	struct fuse_server *s = make(CACHE_AUTO, false, false, &dax_ops);
	struct fuse_init_out o = do_init(s, 38, ~0ULL);
	struct fuse_setupmapping_in sm = { .len = 2 << 20, .flags = FUSE_SETUPMAPPING_FLAG_READ };
	struct fuse_removemapping_in rm = { .count = 2 };
	struct fuse_removemapping_one one[2] = { { 0, 2 << 20 }, { 2 << 20, 2 << 20 } };
	struct reqbuf q;

	ck_assert(o.flags & FUSE_MAP_ALIGNMENT);
	ck_assert_uint_eq(o.map_alignment, 12);
	req(&q, FUSE_SETUPMAPPING, 5);
	put(&q, &sm, sizeof(sm));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, 0);
	ck_assert_uint_eq(dax_setups, 1);
	req(&q, FUSE_REMOVEMAPPING, 5);
	put(&q, &rm, sizeof(rm));
	put(&q, one, sizeof(one));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, 0);
	ck_assert_uint_eq(dax_removes, 2);
	rm.count = 3; /* more entries promised than sent */
	req(&q, FUSE_REMOVEMAPPING, 5);
	put(&q, &rm, sizeof(rm));
	put(&q, one, sizeof(one));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, -EINVAL);
	rm.count = FUSE_REMOVEMAPPING_MAX + 1;
	req(&q, FUSE_REMOVEMAPPING, 5);
	put(&q, &rm, sizeof(rm));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, -EINVAL);
	ck_assert_uint_eq(dax_removes, 2);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(no_dax_hook_means_enosys)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	struct fuse_setupmapping_in sm = { 0 };
	struct reqbuf q;

	ck_assert(!(fuse_server_flags(s) & FUSE_MAP_ALIGNMENT));
	req(&q, FUSE_SETUPMAPPING, 5);
	put(&q, &sm, sizeof(sm));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, -ENOSYS);
	fuse_server_destroy(s);
}
END_TEST

/* --- names --- */

static int lookup_raw(struct fuse_server *s, const void *name, size_t len)
{
	struct reqbuf q;

	req(&q, FUSE_LOOKUP, 1);
	put(&q, name, len);
	seal(&q, 0);
	run(s, &q);
	return oh()->error;
}

START_TEST(names_must_be_one_safe_component)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	char longname[300];

	memset(longname, 'x', sizeof(longname));
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(lookup_raw(s, "a/b", 4), -EINVAL);
	ck_assert_int_eq(lookup_raw(s, "/", 2), -EINVAL);
	ck_assert_int_eq(lookup_raw(s, "..", 3), -EPERM);
	ck_assert_int_eq(lookup_raw(s, ".", 2), -EPERM);
	ck_assert_int_eq(lookup_raw(s, "", 1), -EINVAL);
	ck_assert_int_eq(lookup_raw(s, "a\0b", 4), -EINVAL); /* NUL inside */
	ck_assert_int_eq(lookup_raw(s, "abc", 3), -EINVAL);  /* no NUL at all */
	ck_assert_int_eq(lookup_raw(s, longname, sizeof(longname)), -ENAMETOOLONG);
	ck_assert_uint_eq(R.calls, 0);
	ck_assert_int_eq(lookup_raw(s, "...", 4), 0); /* just a name */
	ck_assert_str_eq(R.name, "...");
	fuse_server_destroy(s);
}
END_TEST

START_TEST(rename_checks_both_names)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	struct fuse_rename2_in in = { .newdir = 9 };
	struct reqbuf q;

	req(&q, FUSE_RENAME2, 1);
	put(&q, &in, sizeof(in));
	put_str(&q, "old");
	put_str(&q, "../new");
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, -EINVAL);
	ck_assert_uint_eq(R.calls, 0);
	req(&q, FUSE_RENAME2, 1);
	put(&q, &in, sizeof(in));
	put_str(&q, "old");
	put_str(&q, "new");
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, 0);
	ck_assert_str_eq(R.name, "old");
	ck_assert_str_eq(R.name2, "new");
	ck_assert_uint_eq(R.newdir, 9);
	fuse_server_destroy(s);
}
END_TEST

/* --- replies --- */

START_TEST(negative_lookups_are_cached_unless_never)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	struct fuse_entry_out *e = (struct fuse_entry_out *)(out + 16);

	ck_assert_int_eq(lookup_raw(s, "missing", 8), 0);
	ck_assert_uint_eq(oh()->len, 16 + sizeof(*e));
	ck_assert_uint_eq(e->nodeid, 0);
	ck_assert_uint_eq(e->entry_valid, 1);
	fuse_server_destroy(s);
	s = ready(CACHE_NEVER);
	ck_assert_int_eq(lookup_raw(s, "missing", 8), -ENOENT);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(entry_reply_that_does_not_fit_is_forgotten)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	struct reqbuf q;

	req(&q, FUSE_LOOKUP, 1);
	put_str(&q, "file");
	seal(&q, 0);
	ck_assert_uint_eq(run_out(s, &q, 16 + 100), 16);
	ck_assert_int_eq(oh()->error, -EOVERFLOW);
	ck_assert_uint_eq(R.nforget, 1);
	ck_assert_uint_eq(R.forget_id[0], 77);
	ck_assert_uint_eq(R.forget_n[0], 1);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(forgets_get_no_reply_and_counts_are_bounded)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	struct fuse_forget_in f = { .nlookup = 3 };
	struct fuse_batch_forget_in b = { .count = 1000 };
	struct fuse_forget_one one[2] = { { 11, 1 }, { 12, 2 } };
	struct reqbuf q;

	req(&q, FUSE_FORGET, 10);
	put(&q, &f, sizeof(f));
	seal(&q, 0);
	/* As virtio-fs sends it: readable buffers only, nothing writable. */
	struct iovec iv = { q.b, q.len };
	ck_assert_uint_eq(fuse_server_handle(s, &iv, 1, NULL, 0), 0);
	req(&q, FUSE_BATCH_FORGET, 0);
	put(&q, &b, sizeof(b));
	put(&q, one, sizeof(one));
	seal(&q, 0);
	ck_assert_uint_eq(run(s, &q), 0);
	ck_assert_uint_eq(R.nforget, 3);
	ck_assert_uint_eq(R.forget_id[0], 10);
	ck_assert_uint_eq(R.forget_n[0], 3);
	ck_assert_uint_eq(R.forget_id[2], 12);
	ck_assert_uint_eq(R.forget_n[2], 2);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(read_lands_in_split_guest_buffers)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	struct fuse_read_in in = { .fh = 1, .offset = 7, .size = 3000 };
	static unsigned char a[100], b[5000];
	struct iovec iv, ov[3] = { { out, 16 }, { a, sizeof(a) }, { b, sizeof(b) } };
	struct reqbuf q;

	req(&q, FUSE_READ, 5);
	put(&q, &in, sizeof(in));
	seal(&q, 0);
	iv = (struct iovec){ q.b, q.len };
	ck_assert_uint_eq(fuse_server_handle(s, &iv, 1, ov, 3), 16 + 3000);
	ck_assert_int_eq(oh()->error, 0);
	ck_assert_uint_eq(oh()->len, 16 + 3000);
	ck_assert_uint_eq(a[0], 7);
	ck_assert_uint_eq(a[99], (unsigned char)(7 + 99));
	ck_assert_uint_eq(b[0], (unsigned char)(7 + 100));
	ck_assert_uint_eq(b[2899], (unsigned char)(7 + 2999));
	fuse_server_destroy(s);
}
END_TEST

START_TEST(write_takes_data_from_split_buffers_and_checks_size)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	struct fuse_write_in in = { .fh = 1, .offset = 4096, .size = 10 };
	struct iovec iv[3];
	struct iovec ov = { out, 64 };
	struct reqbuf q;

	req(&q, FUSE_WRITE, 5);
	put(&q, &in, sizeof(in));
	put(&q, "0123456789", 10);
	seal(&q, 0);
	iv[0] = (struct iovec){ q.b, 50 };
	iv[1] = (struct iovec){ q.b + 50, 24 };
	iv[2] = (struct iovec){ q.b + 74, q.len - 74 };
	ck_assert_uint_eq(fuse_server_handle(s, iv, 3, &ov, 1), 16 + sizeof(struct fuse_write_out));
	ck_assert_int_eq(oh()->error, 0);
	ck_assert_uint_eq(((struct fuse_write_out *)(out + 16))->size, 10);
	ck_assert_uint_eq(R.wrote_len, 10);
	ck_assert_uint_eq(R.wrote_off, 4096);
	ck_assert_mem_eq(R.wrote, "0123456789", 10);
	/* size claims more than the chain holds */
	in.size = 11;
	R.wrote_len = 0;
	req(&q, FUSE_WRITE, 5);
	put(&q, &in, sizeof(in));
	put(&q, "0123456789", 10);
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, -EINVAL);
	ck_assert_uint_eq(R.wrote_len, 0);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(readdir_fills_aligned_entries_until_full)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	struct fuse_read_in in = { .fh = 1, .offset = 0, .size = 200 };
	struct reqbuf q;
	size_t pos = 16, n = 0;

	req(&q, FUSE_READDIR, 5);
	put(&q, &in, sizeof(in));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, 0);
	ck_assert_uint_le(oh()->len, 16 + 200);
	while (pos < oh()->len) {
		struct fuse_dirent *d = (struct fuse_dirent *)(out + pos);
		char want[16];

		snprintf(want, sizeof(want), "e%zu", n);
		ck_assert_uint_eq(d->namelen, strlen(want));
		ck_assert_mem_eq(d->name, want, d->namelen);
		ck_assert_uint_eq(d->off, n + 1);
		ck_assert_uint_eq(d->ino, 500 + n);
		pos += FUSE_DIRENT_SIZE(d);
		n++;
	}
	ck_assert_uint_eq(pos, oh()->len);
	ck_assert_uint_eq(n, 200 / 32); /* 24 + 2..3 name bytes, padded to 32 */
	fuse_server_destroy(s);
}
END_TEST

START_TEST(readdirplus_undoes_the_entry_that_did_not_fit)
{
	struct fuse_server *s = ready(CACHE_AUTO);
	struct fuse_read_in in = { .fh = 1, .offset = 0, .size = 400 };
	struct reqbuf q;

	req(&q, FUSE_READDIRPLUS, 5);
	put(&q, &in, sizeof(in));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, 0);
	/* 160 bytes per entry: two fit, the third is handed back. */
	ck_assert_uint_eq(oh()->len, 16 + 2 * 160);
	ck_assert_uint_eq(((struct fuse_direntplus *)(out + 16))->entry_out.nodeid, 1000);
	ck_assert_uint_eq(R.nforget, 1);
	ck_assert_uint_eq(R.forget_id[0], 1002);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(readonly_refuses_changes_before_the_backend)
{
	struct fuse_server *s = make(CACHE_AUTO, true, true, NULL);
	struct fuse_init_out o = do_init(s, 38, ~0ULL);
	struct fuse_mkdir_in mk = { .mode = 0755 };
	struct fuse_open_in op = { .flags = O_RDWR };
	struct reqbuf q;

	ck_assert(!(o.flags & FUSE_WRITEBACK_CACHE));
	req(&q, FUSE_MKDIR, 1);
	put(&q, &mk, sizeof(mk));
	put_str(&q, "d");
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, -EROFS);
	req(&q, FUSE_OPEN, 5);
	put(&q, &op, sizeof(op));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, -EROFS);
	ck_assert_uint_eq(R.calls, 0);
	op.flags = O_RDONLY;
	req(&q, FUSE_OPEN, 5);
	put(&q, &op, sizeof(op));
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, 0);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(null_backend_answers_enosys)
{
	struct fuse_server_config cfg = { .backend_ops = &fuse_null_backend };
	struct fuse_server *s;
	struct reqbuf q;

	ck_assert_int_eq(fuse_server_create(&cfg, &s), 0);
	do_init(s, 38, ~0ULL);
	req(&q, FUSE_LOOKUP, 1);
	put_str(&q, "x");
	seal(&q, 0);
	run(s, &q);
	ck_assert_int_eq(oh()->error, -ENOSYS);
	fuse_server_destroy(s);
}
END_TEST

static Suite *fuse_server_suite(void)
{
	Suite *s = suite_create("fuse_server");
	TCase *frame = tcase_create("framing"), *init = tcase_create("init");
	TCase *names = tcase_create("names"), *reply = tcase_create("replies");

	tcase_add_test(frame, short_header_gets_no_reply);
	tcase_add_test(frame, length_longer_than_bytes_is_einval);
	tcase_add_test(frame, length_shorter_than_header_is_einval);
	tcase_add_test(frame, length_bounds_the_arguments);
	tcase_add_test(frame, extension_length_beyond_request_is_einval);
	tcase_add_test(frame, no_room_for_a_reply_gets_nothing);
	tcase_add_test(frame, header_split_over_iovecs);
	tcase_add_test(frame, requests_before_init_get_eio);
	tcase_add_test(frame, unknown_opcodes_get_enosys);
	tcase_add_test(frame, argument_shorter_than_struct_is_einval);
	tcase_add_test(frame, null_backend_answers_enosys);
	tcase_add_test(init, init_offers_only_what_is_implemented);
	tcase_add_test(init, init_never_agrees_to_what_was_not_offered);
	tcase_add_test(init, init_rejects_old_protocols);
	tcase_add_test(init, init_answers_a_newer_major_with_ours);
	tcase_add_test(init, init_accepts_the_short_pre_7_36_struct);
	tcase_add_test(init, init_cache_never_keeps_mmap_working);
	tcase_add_test(init, init_cache_always_keeps_cache);
	tcase_add_test(init, init_dax_hook_gets_alignment_and_mappings);
	tcase_add_test(init, no_dax_hook_means_enosys);
	tcase_add_test(names, names_must_be_one_safe_component);
	tcase_add_test(names, rename_checks_both_names);
	tcase_add_test(reply, negative_lookups_are_cached_unless_never);
	tcase_add_test(reply, entry_reply_that_does_not_fit_is_forgotten);
	tcase_add_test(reply, forgets_get_no_reply_and_counts_are_bounded);
	tcase_add_test(reply, read_lands_in_split_guest_buffers);
	tcase_add_test(reply, write_takes_data_from_split_buffers_and_checks_size);
	tcase_add_test(reply, readdir_fills_aligned_entries_until_full);
	tcase_add_test(reply, readdirplus_undoes_the_entry_that_did_not_fit);
	tcase_add_test(reply, readonly_refuses_changes_before_the_backend);
	suite_add_tcase(s, frame);
	suite_add_tcase(s, init);
	suite_add_tcase(s, names);
	suite_add_tcase(s, reply);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fuse_server_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
