/* test_hostile_lies.c: thousands of seeded random lying FUSE requests through the real device. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ftw.h>
#include "hostile_fixture.h"
#include "check_run.h"

#define LIES 3000

/* ---- many random lies: each gets a framed answer or an empty used entry ---- */

static uint64_t lie_state = 0x243f6a8885a308d3ULL;

static uint64_t lie_rnd(void)
{
	lie_state ^= lie_state << 13;
	lie_state ^= lie_state >> 7;
	lie_state ^= lie_state << 17;
	return lie_state;
}

static uint32_t lie_below(uint32_t n)
{
	return (uint32_t)(lie_rnd() % n);
}

/* SETLKW is left out: a wait for a lock another random owner holds is not a lie. */
static const uint32_t lie_ops[] = {
	FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR, FUSE_SETATTR, FUSE_READLINK, FUSE_SYMLINK,
	FUSE_MKNOD, FUSE_MKDIR, FUSE_UNLINK, FUSE_RMDIR, FUSE_RENAME, FUSE_LINK, FUSE_OPEN,
	FUSE_READ, FUSE_WRITE, FUSE_STATFS, FUSE_RELEASE, FUSE_FSYNC, FUSE_SETXATTR,
	FUSE_GETXATTR, FUSE_LISTXATTR, FUSE_REMOVEXATTR, FUSE_FLUSH, FUSE_INIT, FUSE_OPENDIR,
	FUSE_READDIR, FUSE_RELEASEDIR, FUSE_FSYNCDIR, FUSE_GETLK, FUSE_SETLK, FUSE_ACCESS,
	FUSE_CREATE, FUSE_INTERRUPT, FUSE_DESTROY, FUSE_BATCH_FORGET, FUSE_FALLOCATE,
	FUSE_READDIRPLUS, FUSE_RENAME2, FUSE_LSEEK, FUSE_COPY_FILE_RANGE, FUSE_SETUPMAPPING,
	FUSE_REMOVEMAPPING, FUSE_SYNCFS, 0, 9999,
};

static void lie_name(struct rq *q)
{
	static const char *const names[] = { FILE_NAME, "new", "d", ".", "..", "a/b", "", "out" };
	const char *n = names[lie_below(sizeof(names) / sizeof(names[0]))];

	rq_put(q, n, (uint32_t)strlen(n) + (lie_below(8) ? 1 : 0)); /* now and then no NUL */
}

/* The fixed argument size Linux sends with op (0 for the ones that carry only names). */
static uint32_t lie_fixed(uint32_t op)
{
	switch (op) {
	case FUSE_GETATTR:
	case FUSE_FSYNC:
	case FUSE_FSYNCDIR:
	case FUSE_RENAME2:
	case FUSE_MKNOD:
	case FUSE_CREATE:
		return 16;
	case FUSE_SETATTR:
		return sizeof(struct fuse_setattr_in);
	case FUSE_READ:
	case FUSE_WRITE:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
		return sizeof(struct fuse_read_in);
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FLUSH:
	case FUSE_LSEEK:
		return 24;
	case FUSE_GETLK:
	case FUSE_SETLK:
		return sizeof(struct fuse_lk_in);
	case FUSE_INIT:
		return sizeof(struct fuse_init_in);
	case FUSE_FALLOCATE:
		return sizeof(struct fuse_fallocate_in);
	case FUSE_COPY_FILE_RANGE:
		return sizeof(struct fuse_copy_file_range_in);
	case FUSE_LOOKUP:
	case FUSE_UNLINK:
	case FUSE_RMDIR:
	case FUSE_SYMLINK:
	case FUSE_READLINK:
	case FUSE_STATFS:
	case FUSE_DESTROY:
	case FUSE_REMOVEXATTR:
		return 0;
	default:
		return 8;
	}
}

/* A request of a random opcode with a mostly plausible body and a mostly true length. */
static void lie_request(struct rq *q, uint64_t unique)
{
	uint32_t op = lie_ops[lie_below(sizeof(lie_ops) / sizeof(lie_ops[0]))];
	uint32_t fixed = lie_below(3) ? lie_fixed(op) : lie_below(120), i;
	uint64_t small;

	rq_start(q, op, lie_below(3) ? FUSE_ROOT_ID : lie_below(2) ? lie_below(8) : lie_rnd(),
		 unique);
	for (i = 0; i < fixed; i++) {
		uint8_t byte = (uint8_t)lie_rnd();

		rq_put(q, &byte, 1);
	}
	/* fh, offsets and sizes usually come first: keep some of them small. */
	for (i = 0; i + 8 <= fixed && i < 24; i += 8)
		if (lie_below(2)) {
			small = lie_below(lie_below(2) ? 8 : 70000);
			memcpy(q->b + sizeof(struct fuse_in_header) + i, &small, 8);
		}
	/* No fallocate of terabytes on the host's disk: its offset and length stay small. */
	if (op == FUSE_FALLOCATE)
		for (i = 8; i + 8 <= fixed && i < 24; i += 8) {
			small = lie_below(70000);
			memcpy(q->b + sizeof(struct fuse_in_header) + i, &small, 8);
		}
	for (i = lie_below(3); i > 0; i--)
		lie_name(q);
	switch (lie_below(8)) {
	case 0:
		rq_set_len(q, q->len + 1 + lie_below(5000));
		break;
	case 1:
		rq_set_len(q, lie_below(q->len));
		break;
	case 2:
		rq_set_len(q, (uint32_t)lie_rnd());
		break;
	default:
		rq_seal(q);
		break;
	}
	if (!lie_below(10))
		((struct fuse_in_header *)q->b)->total_extlen = (uint16_t)lie_rnd();
}

static void lie_room(struct raw *r)
{
	static const uint32_t rooms[] = { 0, 1, 15, 16, 17, 40, 136, 4096, 4096, 4096, POOL, POOL };

	r->cut = lie_below(3) ? 0 : lie_below(r->len + 1);
	r->no_reply_room = !lie_below(20);
	r->wlen[0] = rooms[lie_below(sizeof(rooms) / sizeof(rooms[0]))];
	r->wlen[1] = lie_below(4) ? 0 : rooms[lie_below(sizeof(rooms) / sizeof(rooms[0]))];
}

/* The reply header, which may be split over the two writable buffers. */
static void reply_header_split(struct vfx *f, const struct pool *p, const struct raw *r,
			       struct fuse_out_header *oh)
{
	uint8_t b[OH];
	uint32_t first = r->wlen[0] < OH ? r->wlen[0] : (uint32_t)OH;

	memcpy(b, fake_host(&f->m, p->out), first);
	memcpy(b + first, fake_host(&f->m, p->out + POOL), OH - first);
	memcpy(oh, b, OH);
}

/* Each answer is framed: header len = used len, our unique, an errno or 0. */
static unsigned lie_outcome[3]; /* no reply, an error, a success */

static void lie_check(struct vfx *f, const struct pool *p, const struct raw *r, uint32_t used,
		      uint64_t unique)
{
	struct fuse_out_header oh;
	uint32_t room = r->no_reply_room ? 0 : r->wlen[0] + r->wlen[1];

	if (used == 0) {
		lie_outcome[0]++;
		return;
	}
	ck_assert_uint_le(used, room);
	ck_assert_uint_ge(used, OH);
	reply_header_split(f, p, r, &oh);
	ck_assert_uint_eq(oh.len, used);
	ck_assert_uint_eq(oh.unique, unique);
	ck_assert_int_le(oh.error, 0);
	ck_assert_int_ge(oh.error, -4095);
	if (oh.error)
		ck_assert_uint_eq(used, OH);
	lie_outcome[oh.error ? 1 : 2]++;
}

/* What the guest may never touch: a file beside the share, and a host link to it inside. */
static void canary_plant(struct vfx *f, char *canary, size_t len)
{
	char link[96];
	FILE *fp;

	snprintf(canary, len, "%s-canary", f->dir);
	fp = fopen(canary, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("canary\n", fp);
	ck_assert_int_eq(fclose(fp), 0);
	snprintf(link, sizeof(link), "%s/out", f->dir);
	ck_assert_int_eq(symlink(canary, link), 0);
}

static void canary_check(const char *canary)
{
	struct stat st;
	char buf[16] = { 0 };
	FILE *fp = fopen(canary, "r");

	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fread(buf, 1, sizeof(buf) - 1, fp), 7);
	fclose(fp);
	ck_assert_str_eq(buf, "canary\n");
	ck_assert_int_eq(stat(canary, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(unlink(canary), 0);
}

static int open_up(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D && !S_ISLNK(st->st_mode))
		chmod(path, 0700);
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	return ftw->level == 0 ? 0 : remove(path);
}

/* Whatever the lies created: gone, and FILE_NAME back for vfx_fini. */
static void share_reset(struct vfx *f)
{
	FILE *fp;

	chmod(f->dir, 0700);
	ck_assert_int_eq(nftw(f->dir, open_up, 16, FTW_PHYS), 0);
	ck_assert_int_eq(nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	fp = fopen(f->path, "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
}

START_TEST(random_lies_always_get_an_answer)
{
	struct fuse_server_stats st;
	char canary[96];
	struct vfx f;
	struct pool p;
	struct rq q;
	struct raw r;
	unsigned i;

	up(&f, &p, _i); /* 0: workers serve it all; 1: quick requests on the vCPU */
	umask(022);
	canary_plant(&f, canary, sizeof(canary));
	for (i = 0; i < LIES; i++) {
		uint64_t unique = 0x5000 + i;

		lie_request(&q, unique);
		r = (struct raw){ .bytes = q.b, .len = q.len };
		lie_room(&r);
		lie_check(&f, &p, &r, raw_submit(&f, &p, &r), unique);
	}
	/* Every outcome happened, and many lies got past the framing into the handlers. */
	fuse_server_get_stats(f.srv, &st);
	ck_assert_msg(lie_outcome[0] > 100 && lie_outcome[1] > 500 && lie_outcome[2] > 10 &&
			      st.requests - st.malformed - st.enosys > 500,
		      "no reply %u, errors %u, successes %u; requests %llu, malformed %llu",
		      lie_outcome[0], lie_outcome[1], lie_outcome[2],
		      (unsigned long long)st.requests, (unsigned long long)st.malformed);
	/* The ring was never corrupt: no reset asked for, and a correct driver is served. */
	ck_assert_uint_eq(rd(&f, VIRTIO_MMIO_STATUS), ST_RUNNING);
	fuse_init(&f, RQ);
	getattr(&f, RQ, FUSE_ROOT_ID, 0);
	canary_check(canary);
	share_reset(&f);
	vfx_fini(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hostile_lies");
	TCase *tc = tcase_create("random");

	/* Thousands of requests, each wait bounded by WAIT_MS; a few seconds in all. */
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, random_lies_always_get_an_answer, 0, 2);
	suite_add_tcase(s, tc);
	return check_run(s);
}
