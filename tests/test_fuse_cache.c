/* test_fuse_cache.c: what each cache mode tells the guest (timeouts, INIT and FOPEN flags), open-less sessions, request counts. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include "check_run.h"
#include "../devices/virtio_fs/fuse_server.h"

#define YEAR (365ULL * 86400)
#define OH sizeof(struct fuse_out_header)
#define FILE_FH 4242U
#define DIR_FH 5151U
#define NODE 77U

/* --- a backend that records the handles it hands out and gets back --- */

struct rec {
	unsigned opens, opendirs, releases, releasedirs, reads, readdirs, lookups;
	int open_flags;		/* flags of the last open */
	uint64_t read_fh, readdir_fh, readdir_off, released_fh, releasedir_fh;
};

static struct rec R;

static int r_lookup(void *be, const struct fuse_ctx *c, uint64_t parent, const char *name,
		    struct fuse_entry *e)
{
	R.lookups++;
	if (strcmp(name, "missing") == 0)
		return -ENOENT;
	e->nodeid = NODE;
	e->attr.st_mode = S_IFREG | 0644;
	e->attr.st_size = 100;
	return 0;
}

static int r_getattr(void *be, const struct fuse_ctx *c, uint64_t nodeid, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0644;
	return 0;
}

static int r_open(void *be, const struct fuse_ctx *c, uint64_t nodeid, int flags, uint32_t ofl,
		  uint64_t *fh)
{
	R.opens++;
	R.open_flags = flags;
	*fh = FILE_FH;
	return 0;
}

static int r_opendir(void *be, const struct fuse_ctx *c, uint64_t nodeid, int flags, uint64_t *fh)
{
	R.opendirs++;
	*fh = DIR_FH;
	return 0;
}

static int r_release(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		     uint32_t rf, uint64_t owner)
{
	R.releases++;
	R.released_fh = fh;
	return 0;
}

static int r_releasedir(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh)
{
	R.releasedirs++;
	R.releasedir_fh = fh;
	return 0;
}

/* Ten bytes "0123456789", whatever the offset. */
static int r_read(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		  const struct iovec *iov, unsigned n, size_t *done)
{
	R.reads++;
	R.read_fh = fh;
	*done = iov[0].iov_len < 10 ? iov[0].iov_len : 10;
	memcpy(iov[0].iov_base, "0123456789", *done);
	return 0;
}

static int r_readdir(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		     uint64_t off, bool plus, fuse_dir_fill_fn fill, void *sink)
{
	struct fuse_entry e = { .nodeid = 900 };

	R.readdirs++;
	R.readdir_fh = fh;
	R.readdir_off = off;
	return fill(sink, "entry", 5, 12, DT_REG, off + 1, plus ? &e : NULL) < 0 ? -EIO : 0;
}

static int r_fsync(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh, bool ds)
{
	return 0;
}

static int r_flush(void *be, const struct fuse_ctx *c, uint64_t nodeid, uint64_t fh,
		   uint64_t owner)
{
	return 0;
}

static const struct fuse_backend_ops rec_ops = {
	.lookup = r_lookup, .getattr = r_getattr, .open = r_open, .opendir = r_opendir,
	.release = r_release, .releasedir = r_releasedir, .read = r_read, .readdir = r_readdir,
	.fsync = r_fsync, .fsyncdir = r_fsync, .flush = r_flush,
};

/* --- requests --- */

static unsigned char out[65536];
static uint64_t next_unique = 1;

/* Sends OPCODE on NODEID with ARG; returns the reply's error, body at out + OH. */
static int ask(struct fuse_server *s, uint32_t opcode, uint64_t nodeid, const void *arg,
		size_t len)
{
	unsigned char in[512];
	struct fuse_in_header h = { .len = (uint32_t)(sizeof(h) + len), .opcode = opcode,
				    .unique = next_unique++, .nodeid = nodeid };
	struct iovec iv = { in, h.len }, ov = { out, sizeof(out) };

	ck_assert_uint_le(h.len, sizeof(in));
	memcpy(in, &h, sizeof(h));
	if (len)
		memcpy(in + sizeof(h), arg, len);
	memset(out, 0xee, sizeof(out));
	if (fuse_server_handle(s, &iv, 1, &ov, 1) == 0)
		return 1; /* no reply (FORGET and the like) */
	return ((struct fuse_out_header *)out)->error;
}

static struct fuse_server *make(enum cache_mode cache, bool readonly)
{
	struct fuse_server_config cfg = { .cache = cache, .readonly = readonly,
					  .backend_ops = &rec_ops };
	struct fuse_server *s;

	memset(&R, 0, sizeof(R));
	ck_assert_int_eq(fuse_server_create(&cfg, &s), 0);
	return s;
}

/* INIT as a guest offering `offered`; returns the flags agreed. */
static uint64_t init(struct fuse_server *s, uint64_t offered)
{
	struct fuse_init_in in = { .major = 7, .minor = 38, .max_readahead = 131072,
				   .flags = (uint32_t)offered | FUSE_INIT_EXT,
				   .flags2 = (uint32_t)(offered >> 32) };
	struct fuse_init_out *o = (struct fuse_init_out *)(out + OH);

	ck_assert_int_eq(ask(s, FUSE_INIT, 0, &in, sizeof(in)), 0);
	return o->flags | (uint64_t)o->flags2 << 32;
}

/* What Linux 6.1 offers (fs/fuse/inode.c fuse_send_init): every bit up to 35 but a few. */
#define LINUX_6_1                                                                     \
	(FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC | FUSE_EXPORT_SUPPORT |  \
	 FUSE_BIG_WRITES | FUSE_DONT_MASK | FUSE_SPLICE_WRITE | FUSE_SPLICE_MOVE |         \
	 FUSE_SPLICE_READ | FUSE_FLOCK_LOCKS | FUSE_HAS_IOCTL_DIR | FUSE_AUTO_INVAL_DATA | \
	 FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO |                    \
	 FUSE_WRITEBACK_CACHE | FUSE_NO_OPEN_SUPPORT | FUSE_PARALLEL_DIROPS |              \
	 FUSE_HANDLE_KILLPRIV | FUSE_POSIX_ACL | FUSE_ABORT_ERROR | FUSE_MAX_PAGES |        \
	 FUSE_CACHE_SYMLINKS | FUSE_NO_OPENDIR_SUPPORT | FUSE_EXPLICIT_INVAL_DATA |        \
	 FUSE_HANDLE_KILLPRIV_V2 | FUSE_SETXATTR_EXT | FUSE_SECURITY_CTX |                 \
	 FUSE_HAS_EXPIRE_ONLY)

static struct fuse_server *ready(enum cache_mode cache, uint64_t offered)
{
	struct fuse_server *s = make(cache, cache == CACHE_IMMUTABLE);

	init(s, offered);
	return s;
}

static struct fuse_entry_out *entry_out(void)
{
	return (struct fuse_entry_out *)(out + OH);
}

static uint32_t open_flags_of(struct fuse_server *s, uint32_t opcode)
{
	struct fuse_open_in in = { .flags = O_RDONLY };

	ck_assert_int_eq(ask(s, opcode, NODE, &in, sizeof(in)), 0);
	return ((struct fuse_open_out *)(out + OH))->open_flags;
}

/* --- timeouts --- */

START_TEST(timeouts_follow_the_cache_mode)
{
	static const struct {
		enum cache_mode mode;
		uint64_t secs;
	} want[] = { { CACHE_NEVER, 0 }, { CACHE_AUTO, 1 }, { CACHE_ALWAYS, 86400 },
		     { CACHE_IMMUTABLE, YEAR } };
	struct fuse_getattr_in g = { 0 };

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct fuse_server *s = ready(want[i].mode, LINUX_6_1);

		ck_assert_int_eq(ask(s, FUSE_LOOKUP, 1, "file", 5), 0);
		ck_assert_uint_eq(entry_out()->nodeid, NODE);
		ck_assert_uint_eq(entry_out()->entry_valid, want[i].secs);
		ck_assert_uint_eq(entry_out()->attr_valid, want[i].secs);
		ck_assert_int_eq(ask(s, FUSE_GETATTR, NODE, &g, sizeof(g)), 0);
		ck_assert_uint_eq(((struct fuse_attr_out *)(out + OH))->attr_valid, want[i].secs);
		/* The guest reads seconds as signed: a year must stay positive. */
		ck_assert_int_gt((int64_t)entry_out()->entry_valid, -1);
		fuse_server_destroy(s);
	}
}
END_TEST

START_TEST(negative_entries_last_as_long_as_positive_ones)
{
	struct fuse_server *s = ready(CACHE_IMMUTABLE, LINUX_6_1);

	ck_assert_int_eq(ask(s, FUSE_LOOKUP, 1, "missing", 8), 0);
	ck_assert_uint_eq(entry_out()->nodeid, 0);
	ck_assert_uint_eq(entry_out()->entry_valid, YEAR);
	ck_assert_uint_eq(entry_out()->attr_valid, 0);
	fuse_server_destroy(s);
	s = ready(CACHE_NEVER, LINUX_6_1);
	ck_assert_int_eq(ask(s, FUSE_LOOKUP, 1, "missing", 8), -ENOENT);
	fuse_server_destroy(s);
}
END_TEST

/* --- INIT flags per mode --- */

START_TEST(init_flags_per_mode)
{
	struct fuse_server *s = ready(CACHE_AUTO, LINUX_6_1);
	uint64_t f = fuse_server_flags(s);
	uint64_t common = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_ASYNC_DIO |
			  FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES | FUSE_HANDLE_KILLPRIV_V2;

	ck_assert_uint_eq(f & common, common);
	ck_assert(f & FUSE_AUTO_INVAL_DATA && f & FUSE_READDIRPLUS_AUTO && f & FUSE_POSIX_LOCKS);
	ck_assert(f & FUSE_DO_READDIRPLUS && f & FUSE_CACHE_SYMLINKS && f & FUSE_FLOCK_LOCKS);
	ck_assert(!(f & (FUSE_NO_OPEN_SUPPORT | FUSE_NO_OPENDIR_SUPPORT | FUSE_POSIX_ACL)));
	fuse_server_destroy(s);

	s = ready(CACHE_ALWAYS, LINUX_6_1);
	f = fuse_server_flags(s);
	ck_assert_uint_eq(f & common, common);
	ck_assert(f & FUSE_DO_READDIRPLUS && f & FUSE_POSIX_LOCKS && f & FUSE_ATOMIC_O_TRUNC);
	ck_assert(!(f & (FUSE_READDIRPLUS_AUTO | FUSE_AUTO_INVAL_DATA)));
	fuse_server_destroy(s);

	s = ready(CACHE_IMMUTABLE, LINUX_6_1);
	f = fuse_server_flags(s);
	ck_assert_uint_eq(f & common, common);
	ck_assert(f & FUSE_DO_READDIRPLUS && f & FUSE_CACHE_SYMLINKS);
	/* Guest-local locks, no atomic O_TRUNC, nothing to revalidate. */
	ck_assert(!(f & (FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS | FUSE_ATOMIC_O_TRUNC |
			 FUSE_AUTO_INVAL_DATA | FUSE_READDIRPLUS_AUTO | FUSE_WRITEBACK_CACHE)));
	fuse_server_destroy(s);
}
END_TEST

START_TEST(immutable_needs_a_readonly_share)
{
	struct fuse_server_config cfg = { .cache = CACHE_IMMUTABLE, .backend_ops = &rec_ops };
	struct fuse_server *s = NULL;

	ck_assert_int_eq(fuse_server_create(&cfg, &s), -EINVAL);
	ck_assert_ptr_null(s);
	cfg.readonly = true;
	ck_assert_int_eq(fuse_server_create(&cfg, &s), 0);
	fuse_server_destroy(s);
}
END_TEST

/* --- FOPEN flags --- */

START_TEST(open_flags_per_mode)
{
	struct fuse_server *s = ready(CACHE_AUTO, LINUX_6_1);

	/* auto keeps pages; FUSE_AUTO_INVAL_DATA drops them once attributes show a change. */
	ck_assert_uint_eq(open_flags_of(s, FUSE_OPEN), FOPEN_KEEP_CACHE);
	ck_assert_uint_eq(open_flags_of(s, FUSE_OPENDIR), FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR);
	fuse_server_destroy(s);
	s = ready(CACHE_NEVER, LINUX_6_1);
	ck_assert_uint_eq(open_flags_of(s, FUSE_OPEN), 0);
	ck_assert_uint_eq(open_flags_of(s, FUSE_OPENDIR), 0);
	fuse_server_destroy(s);
	/* A guest without NO_OPEN_SUPPORT still opens: keep the cache, skip FLUSH. */
	s = ready(CACHE_IMMUTABLE, LINUX_6_1 & ~(FUSE_NO_OPEN_SUPPORT | FUSE_NO_OPENDIR_SUPPORT));
	ck_assert_uint_eq(open_flags_of(s, FUSE_OPEN), FOPEN_KEEP_CACHE | FOPEN_NOFLUSH);
	ck_assert_uint_eq(open_flags_of(s, FUSE_OPENDIR), FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR);
	ck_assert_uint_eq(R.opens, 1);
	ck_assert_uint_eq(R.opendirs, 1);
	fuse_server_destroy(s);
}
END_TEST

/* --- open-less sessions --- */

START_TEST(immutable_runs_open_less_when_the_guest_can)
{
	struct fuse_server *s = ready(CACHE_IMMUTABLE, LINUX_6_1);
	struct fuse_open_in oi = { .flags = O_RDONLY };
	struct fuse_read_in ri = { .fh = 0, .offset = 0, .size = 4096 };
	struct fuse_flush_in fi = { 0 };
	struct fuse_fsync_in si = { 0 };

	ck_assert_int_eq(ask(s, FUSE_OPEN, NODE, &oi, sizeof(oi)), -ENOSYS);
	ck_assert_int_eq(ask(s, FUSE_OPENDIR, NODE, &oi, sizeof(oi)), -ENOSYS);
	ck_assert_uint_eq(R.opens + R.opendirs, 0);
	/* READ with fh 0: a read-only handle of the node, for this request only. */
	ck_assert_int_eq(ask(s, FUSE_READ, NODE, &ri, sizeof(ri)), 0);
	ck_assert_uint_eq(((struct fuse_out_header *)out)->len, OH + 10);
	ck_assert(memcmp(out + OH, "0123456789", 10) == 0);
	ck_assert_uint_eq(R.opens, 1);
	ck_assert_int_eq(R.open_flags, O_RDONLY);
	ck_assert_uint_eq(R.read_fh, FILE_FH);
	ck_assert_uint_eq(R.releases, 1);
	ck_assert_uint_eq(R.released_fh, FILE_FH);
	/* A guest fh is never trusted as a handle here. */
	ri.fh = 999;
	ck_assert_int_eq(ask(s, FUSE_READ, NODE, &ri, sizeof(ri)), 0);
	ck_assert_uint_eq(R.read_fh, FILE_FH);
	/* READDIRPLUS likewise, at the guest's cookie. */
	ri = (struct fuse_read_in){ .fh = 0, .offset = 7, .size = 4096 };
	ck_assert_int_eq(ask(s, FUSE_READDIRPLUS, NODE, &ri, sizeof(ri)), 0);
	ck_assert_uint_eq(R.opendirs, 1);
	ck_assert_uint_eq(R.readdir_fh, DIR_FH);
	ck_assert_uint_eq(R.readdir_off, 7);
	ck_assert_uint_eq(R.releasedirs, 1);
	ck_assert_uint_eq(R.releasedir_fh, DIR_FH);
	ck_assert_uint_gt(((struct fuse_out_header *)out)->len, OH);
	/* Nothing to flush or sync: the guest stops asking. */
	ck_assert_int_eq(ask(s, FUSE_FLUSH, NODE, &fi, sizeof(fi)), -ENOSYS);
	ck_assert_int_eq(ask(s, FUSE_FSYNC, NODE, &si, sizeof(si)), -ENOSYS);
	ck_assert_int_eq(ask(s, FUSE_FSYNCDIR, NODE, &si, sizeof(si)), -ENOSYS);
	ck_assert_uint_eq(R.releases, 2);
	fuse_server_destroy(s);
}
END_TEST

START_TEST(other_modes_never_run_open_less)
{
	static const enum cache_mode modes[] = { CACHE_NEVER, CACHE_AUTO, CACHE_ALWAYS };
	struct fuse_open_in oi = { .flags = O_RDONLY };
	struct fuse_read_in ri = { .fh = FILE_FH, .size = 4096 };

	for (unsigned i = 0; i < 3; i++) {
		struct fuse_server *s = ready(modes[i], LINUX_6_1);

		ck_assert_int_eq(ask(s, FUSE_OPEN, NODE, &oi, sizeof(oi)), 0);
		ck_assert_int_eq(ask(s, FUSE_READ, NODE, &ri, sizeof(ri)), 0);
		ck_assert_uint_eq(R.opens, 1); /* only the OPEN itself */
		ck_assert_uint_eq(R.releases, 0);
		fuse_server_destroy(s);
	}
}
END_TEST

START_TEST(a_new_session_decides_open_less_again)
{
	struct fuse_server *s = ready(CACHE_IMMUTABLE, LINUX_6_1);
	struct fuse_open_in oi = { .flags = O_RDONLY };

	ck_assert_int_eq(ask(s, FUSE_OPEN, NODE, &oi, sizeof(oi)), -ENOSYS);
	ck_assert_int_eq(ask(s, FUSE_DESTROY, 0, NULL, 0), 0);
	init(s, LINUX_6_1 & ~FUSE_NO_OPEN_SUPPORT);
	ck_assert_int_eq(ask(s, FUSE_OPEN, NODE, &oi, sizeof(oi)), 0);
	ck_assert_uint_eq(((struct fuse_open_out *)(out + OH))->fh, FILE_FH);
	ck_assert_int_eq(ask(s, FUSE_OPENDIR, NODE, &oi, sizeof(oi)), -ENOSYS);
	fuse_server_destroy(s);
}
END_TEST

/* --- request counts --- */

START_TEST(requests_are_counted_per_opcode)
{
	struct fuse_server *s = ready(CACHE_ALWAYS, LINUX_6_1);
	struct fuse_forget_in fg = { .nlookup = 1 };
	char line[256];
	size_t n;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ask(s, FUSE_LOOKUP, 1, "missing", 8), 0);
	ck_assert_int_eq(ask(s, FUSE_FORGET, NODE, &fg, sizeof(fg)), 1);
	ck_assert_int_eq(ask(s, 4000, 1, NULL, 0), -ENOSYS); /* unknown: counted as OTHER */
	ck_assert_int_eq(ask(s, 60, 1, NULL, 0), -ENOSYS);   /* unknown below the slots */
	ck_assert_uint_eq(fuse_server_op_count(s, FUSE_LOOKUP), 3);
	ck_assert_uint_eq(fuse_server_op_count(s, FUSE_INIT), 1);
	ck_assert_uint_eq(fuse_server_op_count(s, FUSE_FORGET), 1);
	ck_assert_uint_eq(fuse_server_op_count(s, FUSE_GETATTR), 0);
	n = fuse_server_format_counts(s, line, sizeof(line));
	ck_assert_uint_eq(n, strlen(line));
	ck_assert_str_eq(line, "requests LOOKUP=3 FORGET=1 INIT=1 OP60=1 OTHER=1 total=7");
	/* Truncated like snprintf, with the length it wanted. */
	ck_assert_uint_eq(fuse_server_format_counts(s, line, 12), n);
	ck_assert_str_eq(line, "requests LO");
	ck_assert_uint_eq(fuse_server_format_counts(s, NULL, 0), n);
	fuse_server_destroy(s);
}
END_TEST

static Suite *fuse_cache_suite(void)
{
	Suite *s = suite_create("fuse_cache");
	TCase *t = tcase_create("modes"), *o = tcase_create("open_less"),
	      *c = tcase_create("counts");

	tcase_add_test(t, timeouts_follow_the_cache_mode);
	tcase_add_test(t, negative_entries_last_as_long_as_positive_ones);
	tcase_add_test(t, init_flags_per_mode);
	tcase_add_test(t, immutable_needs_a_readonly_share);
	tcase_add_test(t, open_flags_per_mode);
	tcase_add_test(o, immutable_runs_open_less_when_the_guest_can);
	tcase_add_test(o, other_modes_never_run_open_less);
	tcase_add_test(o, a_new_session_decides_open_less_again);
	tcase_add_test(c, requests_are_counted_per_opcode);
	suite_add_tcase(s, t);
	suite_add_tcase(s, o);
	suite_add_tcase(s, c);
	return s;
}

int main(void)
{
	return check_run(fuse_cache_suite());
}
