/* test_pt_listed.c: READDIRPLUS on an unchanging (cache: immutable) tree: entries opened on first use. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../devices/virtio_fs/passthrough.h"

static const struct fuse_backend_ops *ops = &pt_backend_ops;
static char root[64];
static struct pt *pt;
static struct fuse_ctx ctx = { .pid = 1, .unique = 1 };

#define NFILES 20

struct listing {
	char names[NFILES + 4][16];
	uint64_t nodeids[NFILES + 4];
	unsigned n;
};

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void host_file(const char *name, const char *content)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
}

static ino_t host_ino(const char *name)
{
	char p[128];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", root, name);
	ck_assert_int_eq(stat(p, &st), 0);
	return st.st_ino;
}

static void setup(void)
{
	struct fuse_conn_params conn = { .posix_locks = true };
	struct pt_config cfg = { .root = root, .readonly = true, .unchanging = true };
	char name[16];
	char sub[128];

	snprintf(root, sizeof(root), "/tmp/microvm-ptl-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	for (int i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		host_file(name, name);
	}
	snprintf(sub, sizeof(sub), "%s/d", root);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	host_file("d/inner", "inner");
	ctx.uid = geteuid();
	ctx.gid = getegid();
	ck_assert_int_eq(pt_create(&cfg, &pt), 0);
	ck_assert_int_eq(ops->init(pt, &conn), 0);
}

static void teardown(void)
{
	pt_destroy(pt);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct pt_stats stats(void)
{
	struct pt_stats st;

	pt_get_stats(pt, &st);
	return st;
}

static int fill(void *sink, const char *name, size_t len, uint64_t ino, unsigned type,
		uint64_t off, const struct fuse_entry *e)
{
	struct listing *l = sink;

	(void)ino;
	(void)type;
	(void)off;
	ck_assert_uint_lt(len, 16);
	ck_assert_uint_lt(l->n, NFILES + 4);
	memcpy(l->names[l->n], name, len);
	l->names[l->n][len] = '\0';
	l->nodeids[l->n++] = e->nodeid;
	return 0;
}

/* One READDIRPLUS of directory node, as an open-less guest sends it. */
static void list(uint64_t node, struct listing *l)
{
	uint64_t fh;

	l->n = 0;
	ck_assert_int_eq(ops->opendir(pt, &ctx, node, O_RDONLY, &fh), 0);
	ck_assert_int_eq(ops->readdir(pt, &ctx, node, fh, 0, true, fill, l), 0);
	ck_assert_int_eq(ops->releasedir(pt, &ctx, node, fh), 0);
}

static uint64_t listed(const struct listing *l, const char *name)
{
	for (unsigned i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return l->nodeids[i];
	ck_abort_msg("%s was not listed", name);
	return 0;
}

static void forget_listing(const struct listing *l)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->nodeids[i])
			ops->forget(pt, l->nodeids[i], 1);
}

START_TEST(listed_entries_get_node_ids_but_no_descriptor_until_used)
{
	struct listing l;
	struct stat st;
	char buf[16];
	size_t n = 0;
	struct iovec iov = { buf, sizeof(buf) };
	uint64_t f05, fh;

	list(FUSE_ROOT_ID, &l);
	ck_assert_uint_eq(l.n, NFILES + 3); /* ".", "..", the files and d */
	ck_assert_uint_eq(stats().inodes, NFILES + 2);
	ck_assert_uint_eq(stats().open_inode_fds, 1); /* the root only: nothing opened */
	f05 = listed(&l, "f05");
	ck_assert_int_eq(ops->getattr(pt, &ctx, f05, &st), 0);
	ck_assert_uint_eq(st.st_ino, host_ino("f05"));
	ck_assert_uint_eq(stats().open_inode_fds, 2); /* opened on first use */
	ck_assert_int_eq(ops->open(pt, &ctx, f05, O_RDONLY, 0, &fh), 0);
	ck_assert_int_eq(ops->read(pt, &ctx, f05, fh, 0, &iov, 1, &n), 0);
	ck_assert_int_eq(ops->release(pt, &ctx, f05, fh, 0, 0), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(buf, "f05", 3);
	forget_listing(&l);
	ck_assert_uint_eq(stats().inodes, 1);
}
END_TEST

/* The host broke the promise: the name now means another inode. Stale, never that one. */
START_TEST(a_listed_name_that_now_means_another_inode_is_stale)
{
	struct listing l;
	struct stat st;
	char from[128], to[128];

	list(FUSE_ROOT_ID, &l);
	snprintf(from, sizeof(from), "%s/f01", root);
	snprintf(to, sizeof(to), "%s/f02", root);
	ck_assert_int_eq(rename(from, to), 0);
	ck_assert_int_eq(ops->getattr(pt, &ctx, listed(&l, "f02"), &st), -ESTALE);
	ck_assert_int_eq(ops->getattr(pt, &ctx, listed(&l, "f01"), &st), -ESTALE); /* gone */
	ck_assert_int_eq(ops->getattr(pt, &ctx, listed(&l, "f03"), &st), 0);
	forget_listing(&l);
	ck_assert_uint_eq(stats().inodes, 1);
}
END_TEST

/* A listed entry keeps its directory's node (its way back to a descriptor) until used. */
START_TEST(a_listed_entry_pins_its_directory_until_it_is_opened_or_forgotten)
{
	struct listing top, sub;
	struct stat st;
	uint64_t d, inner;

	list(FUSE_ROOT_ID, &top);
	d = listed(&top, "d");
	list(d, &sub); /* opens d's listed node: it is now an ordinary one */
	inner = listed(&sub, "inner");
	forget_listing(&top); /* the guest forgets d, but inner still needs it */
	ck_assert_uint_eq(stats().inodes, 3); /* the root, d, inner */
	ck_assert_int_eq(ops->getattr(pt, &ctx, inner, &st), 0);
	ck_assert_int_eq(st.st_size, 5);
	ck_assert_uint_eq(stats().inodes, 2); /* opened: d was let go */
	ops->forget(pt, inner, 1);
	ck_assert_uint_eq(stats().inodes, 1);
}
END_TEST

START_TEST(forgetting_a_listed_entry_lets_its_directory_go)
{
	struct listing top, sub;
	uint64_t d;

	list(FUSE_ROOT_ID, &top);
	d = listed(&top, "d");
	list(d, &sub);
	forget_listing(&top);
	ck_assert_uint_eq(stats().inodes, 3);
	forget_listing(&sub); /* "inner" never used: d goes with it */
	ck_assert_uint_eq(stats().inodes, 1);
}
END_TEST

/* A LOOKUP of a listed name (the guest dropped the dentry, its FORGET still on the way). */
START_TEST(a_lookup_of_a_listed_name_gives_it_its_descriptor)
{
	struct listing l;
	struct fuse_entry e;
	uint64_t f07;

	list(FUSE_ROOT_ID, &l);
	f07 = listed(&l, "f07");
	ck_assert_int_eq(ops->lookup(pt, &ctx, FUSE_ROOT_ID, "f07", &e), 0);
	ck_assert_uint_eq(e.nodeid, f07);
	ck_assert_uint_eq(e.attr.st_ino, host_ino("f07"));
	ck_assert_uint_eq(stats().open_inode_fds, 2);
	ops->forget(pt, f07, 1); /* the lookup's */
	forget_listing(&l);
	ck_assert_uint_eq(stats().inodes, 1);
	ck_assert_uint_eq(stats().open_inode_fds, 1);
}
END_TEST

struct pieces {
	unsigned n, budget;
	uint64_t last_off;
	uint64_t nodeids[NFILES + 4];
};

static int fill_pieces(void *sink, const char *name, size_t len, uint64_t ino, unsigned type,
		       uint64_t off, const struct fuse_entry *e)
{
	struct pieces *p = sink;

	(void)name;
	(void)len;
	(void)ino;
	(void)type;
	if (p->budget == 0)
		return 1;
	p->budget--;
	ck_assert_uint_lt(p->n, NFILES + 4);
	p->nodeids[p->n++] = e ? e->nodeid : 0;
	p->last_off = off;
	return 0;
}

/* Open-less READDIRPLUS in small pieces: every entry once, then the end, then nothing. */
START_TEST(readdir_without_a_handle_in_pieces_reaches_the_end_once)
{
	struct pieces p = { .n = 0 };
	unsigned before;

	do {
		before = p.n;
		p.budget = 5;
		ck_assert_int_eq(ops->readdir_at(pt, &ctx, FUSE_ROOT_ID, p.last_off, true,
						 fill_pieces, &p), 0);
	} while (p.n > before);
	ck_assert_uint_eq(p.n, NFILES + 3);
	/* At the remembered end: empty, again and again. */
	p.budget = 5;
	ck_assert_int_eq(ops->readdir_at(pt, &ctx, FUSE_ROOT_ID, p.last_off, true, fill_pieces, &p),
			 0);
	ck_assert_uint_eq(p.n, NFILES + 3);
	ck_assert_uint_eq(stats().inodes, NFILES + 2);
	for (unsigned i = 0; i < p.n; i++)
		if (p.nodeids[i])
			ops->forget(pt, p.nodeids[i], 1);
	ck_assert_uint_eq(stats().inodes, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pt_listed");
	TCase *t = tcase_create("listed");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, listed_entries_get_node_ids_but_no_descriptor_until_used);
	tcase_add_test(t, a_listed_name_that_now_means_another_inode_is_stale);
	tcase_add_test(t, a_listed_entry_pins_its_directory_until_it_is_opened_or_forgotten);
	tcase_add_test(t, forgetting_a_listed_entry_lets_its_directory_go);
	tcase_add_test(t, a_lookup_of_a_listed_name_gives_it_its_descriptor);
	tcase_add_test(t, readdir_without_a_handle_in_pieces_reaches_the_end_once);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
