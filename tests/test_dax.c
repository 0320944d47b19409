/* test_dax.c: the DAX mapping table and window without KVM: overlap, split, bounds, files, faults, repair. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../devices/virtio_fs/dax.h"
#include "check_run.h"

#define PG DAX_PAGE_SIZE
#define WIN_PAGES 16U

/* --- the table --- */

static struct dax_map fmap(uint64_t start, uint64_t end, uint64_t foff, uint64_t node)
{
	return (struct dax_map){ .start = start, .end = end, .foffset = foff, .nodeid = node,
				 .kind = DAX_FILE };
}

static void tset(struct dax_table *t, struct dax_map m)
{
	ck_assert_int_eq(dax_table_reserve(t, 2), 0);
	ck_assert_int_eq(dax_table_set(t, &m), 0);
}

static void tclear(struct dax_table *t, uint64_t s, uint64_t e)
{
	ck_assert_int_eq(dax_table_reserve(t, 1), 0);
	ck_assert_int_eq(dax_table_clear(t, s, e), 0);
}

static void expect(const struct dax_table *t, unsigned i, uint64_t s, uint64_t e, uint64_t foff,
		   uint64_t node)
{
	ck_assert_uint_gt(t->n, i);
	ck_assert_uint_eq(t->v[i].start, s);
	ck_assert_uint_eq(t->v[i].end, e);
	ck_assert_uint_eq(t->v[i].foffset, foff);
	ck_assert_uint_eq(t->v[i].nodeid, node);
}

START_TEST(table_keeps_entries_sorted_and_finds_them)
{
	struct dax_table t;

	dax_table_init(&t);
	tset(&t, fmap(8 * PG, 10 * PG, 0, 2));
	tset(&t, fmap(0, 2 * PG, 0, 1));
	tset(&t, fmap(4 * PG, 6 * PG, 0, 3));
	ck_assert_uint_eq(t.n, 3);
	expect(&t, 0, 0, 2 * PG, 0, 1);
	expect(&t, 1, 4 * PG, 6 * PG, 0, 3);
	expect(&t, 2, 8 * PG, 10 * PG, 0, 2);
	ck_assert_uint_eq(dax_table_lookup(&t, 0), 0);
	ck_assert_uint_eq(dax_table_lookup(&t, 2 * PG), 1); /* end is exclusive */
	ck_assert_uint_eq(dax_table_lookup(&t, 5 * PG), 1);
	ck_assert_uint_eq(dax_table_lookup(&t, 10 * PG), 3);
	dax_table_free(&t);
}
END_TEST

START_TEST(table_overlapping_set_replaces_and_trims_neighbours)
{
	struct dax_table t;

	dax_table_init(&t);
	tset(&t, fmap(0, 4 * PG, 100 * PG, 1));
	tset(&t, fmap(4 * PG, 8 * PG, 200 * PG, 2));
	/* Covers the tail of the first and the head of the second. */
	tset(&t, fmap(3 * PG, 5 * PG, 0, 9));
	ck_assert_uint_eq(t.n, 3);
	expect(&t, 0, 0, 3 * PG, 100 * PG, 1);
	expect(&t, 1, 3 * PG, 5 * PG, 0, 9);
	expect(&t, 2, 5 * PG, 8 * PG, 201 * PG, 2); /* the file offset moved with the start */
	/* Exactly the same range: replaced, not duplicated. */
	tset(&t, fmap(3 * PG, 5 * PG, 7 * PG, 10));
	ck_assert_uint_eq(t.n, 3);
	expect(&t, 1, 3 * PG, 5 * PG, 7 * PG, 10);
	/* Swallows everything. */
	tset(&t, fmap(0, 16 * PG, 0, 11));
	ck_assert_uint_eq(t.n, 1);
	expect(&t, 0, 0, 16 * PG, 0, 11);
	dax_table_free(&t);
}
END_TEST

START_TEST(table_clear_in_the_middle_splits_one_entry)
{
	struct dax_table t;

	dax_table_init(&t);
	tset(&t, fmap(0, 8 * PG, 32 * PG, 1));
	tclear(&t, 2 * PG, 5 * PG);
	ck_assert_uint_eq(t.n, 2);
	expect(&t, 0, 0, 2 * PG, 32 * PG, 1);
	expect(&t, 1, 5 * PG, 8 * PG, 37 * PG, 1);
	/* Setting inside one entry splits it around the new one. */
	tset(&t, fmap(6 * PG, 7 * PG, 0, 2));
	ck_assert_uint_eq(t.n, 4);
	expect(&t, 1, 5 * PG, 6 * PG, 37 * PG, 1);
	expect(&t, 2, 6 * PG, 7 * PG, 0, 2);
	expect(&t, 3, 7 * PG, 8 * PG, 39 * PG, 1);
	/* A clear over several entries and gaps leaves only what lies outside it. */
	tclear(&t, PG, 15 * PG);
	ck_assert_uint_eq(t.n, 1);
	expect(&t, 0, 0, PG, 32 * PG, 1);
	/* Clearing a gap, or nothing, changes nothing. */
	tclear(&t, 4 * PG, 6 * PG);
	tclear(&t, 3 * PG, 3 * PG);
	ck_assert_uint_eq(t.n, 1);
	dax_table_free(&t);
}
END_TEST

START_TEST(table_refuses_empty_entries_and_unreserved_growth)
{
	struct dax_table t;
	struct dax_map m = fmap(2 * PG, 2 * PG, 0, 1), big = fmap(0, 8 * PG, 0, 1);

	dax_table_init(&t);
	ck_assert_int_eq(dax_table_reserve(&t, 2), 0);
	ck_assert_int_eq(dax_table_set(&t, &m), -EINVAL);
	ck_assert_int_eq(dax_table_set(&t, &big), 0);
	/* Use the reservation up: then a set (which may split) must say so, not overrun. */
	while (t.cap - t.n >= 2) {
		uint64_t s = t.v[t.n - 1].end;

		m = fmap(s, s + PG, 0, 2);
		ck_assert_int_eq(dax_table_set(&t, &m), 0);
	}
	m = fmap(1000 * PG, 1001 * PG, 0, 3);
	ck_assert_int_eq(dax_table_set(&t, &m), -ENOSPC);
	ck_assert_int_eq(dax_table_clear(&t, PG, 2 * PG), 0); /* the last free slot */
	ck_assert_uint_eq(t.n, t.cap);
	ck_assert_int_eq(dax_table_clear(&t, 3 * PG, 4 * PG), -ENOSPC);
	ck_assert_int_eq(dax_table_clear(&t, 0, PG), 0); /* no split: fine when full */
	dax_table_free(&t);
}
END_TEST

/* --- the window, with a real file and no KVM --- */

static char tmpdir[64];
static int file_fd = -1;

/* A temp file of `pages` pages, page i filled with 'a' + i. */
static int make_file(unsigned pages)
{
	char path[96], buf[PG];
	unsigned i;
	int fd;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_dax.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/f", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < pages; i++) {
		memset(buf, 'a' + (int)i, sizeof(buf));
		ck_assert_int_eq(pwrite(fd, buf, sizeof(buf), (off_t)i * PG), (ssize_t)PG);
	}
	file_fd = fd;
	return fd;
}

static void drop_file(void)
{
	char path[96];

	snprintf(path, sizeof(path), "%s/f", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	close(file_fd);
	file_fd = -1;
}

/* Can the VMM read this address? write(2) into a pipe faults with EFAULT, not a signal. */
static bool readable(const void *p)
{
	int pfd[2];
	ssize_t n;

	ck_assert_int_eq(pipe(pfd), 0);
	n = write(pfd[1], p, 1);
	close(pfd[0]);
	close(pfd[1]);
	return n == 1;
}

static struct fuse_setupmapping_in smap(uint64_t foff, uint64_t len, uint64_t moff, bool wr)
{
	return (struct fuse_setupmapping_in){
		.fh = ~0ULL, .foffset = foff, .len = len, .moffset = moff,
		.flags = FUSE_SETUPMAPPING_FLAG_READ | (wr ? FUSE_SETUPMAPPING_FLAG_WRITE : 0),
	};
}

START_TEST(window_starts_as_one_inaccessible_reservation)
{
	struct dax_window w;

	ck_assert_int_eq(dax_window_create(&w, 1ULL << 32, WIN_PAGES * PG, false), 0);
	ck_assert_ptr_nonnull(w.host);
	ck_assert(!readable(w.host));
	ck_assert(!readable(w.host + WIN_PAGES * PG - 1));
	ck_assert_uint_eq(w.table.n, 0);
	dax_window_destroy(&w);
	ck_assert_ptr_null(w.host);
	dax_window_destroy(&w); /* twice is harmless */
	ck_assert_int_eq(dax_window_create(&w, 0, 0, false), -EINVAL);
	ck_assert_int_eq(dax_window_create(&w, 0, PG + 1, false), -EINVAL);
}
END_TEST

START_TEST(setup_maps_the_file_both_ways)
{
	struct dax_window w;
	int fd = make_file(4);
	struct fuse_setupmapping_in in = smap(PG, 2 * PG, 4 * PG, true);
	char buf[8];

	ck_assert_int_eq(dax_window_create(&w, 1ULL << 32, WIN_PAGES * PG, false), 0);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 7, &in), 0);
	/* Window page 4 is file page 1 ('b'), page 5 is file page 2 ('c'). */
	ck_assert_int_eq(w.host[4 * PG], 'b');
	ck_assert_int_eq(w.host[5 * PG + 17], 'c');
	ck_assert(!readable(w.host + 3 * PG));
	ck_assert(!readable(w.host + 6 * PG));
	/* Stores through the window are in the host file at once, and the other way round. */
	memcpy(w.host + 4 * PG + 10, "guest", 5);
	ck_assert_int_eq(pread(fd, buf, 5, PG + 10), 5);
	ck_assert_int_eq(memcmp(buf, "guest", 5), 0);
	ck_assert_int_eq(pwrite(fd, "host!", 5, 2 * PG + 3), 5);
	ck_assert_int_eq(memcmp(w.host + 5 * PG + 3, "host!", 5), 0);
	ck_assert_uint_eq(w.table.n, 1);
	expect(&w.table, 0, 4 * PG, 6 * PG, PG, 7);
	ck_assert(w.table.v[0].writable);
	ck_assert_int_eq(dax_sync(&w, 7), 0);
	ck_assert_int_eq(dax_sync(&w, 0), 0);
	dax_window_destroy(&w);
	drop_file();
}
END_TEST

START_TEST(setup_overlapping_replaces_and_read_only_is_read_only)
{
	struct dax_window w;
	int fd = make_file(4);
	struct fuse_setupmapping_in a = smap(0, 4 * PG, 0, false), b = smap(3 * PG, PG, PG, false);

	ck_assert_int_eq(dax_window_create(&w, 1ULL << 32, WIN_PAGES * PG, false), 0);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 1, &a), 0);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 2, &b), 0);
	ck_assert_int_eq(w.host[0], 'a');
	ck_assert_int_eq(w.host[PG], 'd'); /* replaced: file page 3 now */
	ck_assert_int_eq(w.host[2 * PG], 'c');
	ck_assert_uint_eq(w.table.n, 3);
	expect(&w.table, 2, 2 * PG, 4 * PG, 2 * PG, 1);
	ck_assert(!w.table.v[0].writable);
	dax_window_destroy(&w);
	drop_file();
}
END_TEST

START_TEST(setup_checks_flags_alignment_and_bounds)
{
	struct dax_window w;
	int fd = make_file(1);
	struct fuse_setupmapping_in in;

	ck_assert_int_eq(dax_window_create(&w, 1ULL << 32, WIN_PAGES * PG, false), 0);
	in = smap(0, PG, (WIN_PAGES - 1) * PG, true);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 1, &in), 0); /* the last page is fine */
	in = smap(0, 2 * PG, (WIN_PAGES - 1) * PG, true);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 1, &in), -ENXIO); /* runs past the end */
	in = smap(0, PG, WIN_PAGES * PG, false);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 1, &in), -ENXIO);
	in = smap(0, 2 * PG, ~0ULL - PG + 1, false);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 1, &in), -ENXIO); /* moffset + len wraps */
	in = smap(0, 0, 0, false);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 1, &in), -EINVAL);
	in = smap(0, PG, 100, false);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 1, &in), -EINVAL);
	in = smap(1, PG, 0, false);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 1, &in), -EINVAL);
	in = smap(0, PG + 1, 0, false);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 1, &in), -EINVAL);
	in = smap((uint64_t)INT64_MAX & ~(PG - 1), PG, 0, false);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 1, &in), -EINVAL); /* off_t overflow */
	in = smap(0, PG, 0, false);
	in.flags = 0;
	ck_assert_int_eq(dax_setup_fd(&w, fd, 1, &in), -EINVAL);
	in.flags = FUSE_SETUPMAPPING_FLAG_READ | 4;
	ck_assert_int_eq(dax_setup_fd(&w, fd, 1, &in), -EINVAL);
	ck_assert_uint_eq(w.table.n, 1); /* only the good one */
	dax_window_destroy(&w);
	drop_file();
}
END_TEST

START_TEST(read_only_window_refuses_write_mappings)
{
	struct dax_window w;
	int fd = make_file(2);
	struct fuse_setupmapping_in wr = smap(0, PG, 0, true), rd = smap(0, PG, 0, false);

	ck_assert_int_eq(dax_window_create(&w, 1ULL << 32, WIN_PAGES * PG, true), 0);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 1, &wr), -EROFS);
	ck_assert_uint_eq(w.table.n, 0);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 1, &rd), 0);
	ck_assert_int_eq(w.host[0], 'a');
	/* And through the FUSE hook, before any file is opened. */
	ck_assert_int_eq(dax_fuse_ops.setup(&w, NULL, 1, &wr), -EROFS);
	dax_window_destroy(&w);
	drop_file();
}
END_TEST

START_TEST(failed_mmap_leaves_a_hole_not_stale_data)
{
	struct dax_window w;
	int fd = make_file(2), rfd;
	char path[96];
	struct fuse_setupmapping_in in = smap(0, 2 * PG, 0, false), wr = smap(0, 2 * PG, 0, true);

	ck_assert_int_eq(dax_window_create(&w, 1ULL << 32, WIN_PAGES * PG, false), 0);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 1, &in), 0);
	snprintf(path, sizeof(path), "%s/f", tmpdir);
	rfd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(rfd, 0);
	/* A shared writable mapping of a read-only descriptor: mmap says EACCES. */
	ck_assert_int_eq(dax_setup_fd(&w, rfd, 1, &wr), -EACCES);
	ck_assert(!readable(w.host));
	ck_assert_uint_eq(w.table.n, 0);
	close(rfd);
	dax_window_destroy(&w);
	drop_file();
}
END_TEST

START_TEST(remove_overlays_prot_none_and_splits)
{
	struct dax_window w;
	int fd = make_file(4);
	struct fuse_setupmapping_in in = smap(0, 4 * PG, 0, true);
	struct fuse_removemapping_one mid = { .moffset = PG, .len = 2 * PG };
	struct fuse_removemapping_one bad[2] = { { .moffset = 0, .len = PG },
						 { .moffset = WIN_PAGES * PG, .len = PG } };
	struct fuse_removemapping_one all = { .moffset = 0, .len = WIN_PAGES * PG };

	ck_assert_int_eq(dax_window_create(&w, 1ULL << 32, WIN_PAGES * PG, false), 0);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 3, &in), 0);
	ck_assert_int_eq(dax_remove(&w, &mid, 1), 0);
	ck_assert(readable(w.host));
	ck_assert(!readable(w.host + PG));
	ck_assert(!readable(w.host + 2 * PG));
	ck_assert_int_eq(w.host[3 * PG], 'd');
	ck_assert_uint_eq(w.table.n, 2);
	expect(&w.table, 1, 3 * PG, 4 * PG, 3 * PG, 3);
	/* One bad entry: nothing is removed. */
	ck_assert_int_eq(dax_remove(&w, bad, 2), -ENXIO);
	ck_assert(readable(w.host));
	ck_assert_int_eq(dax_remove(&w, &all, 1), 0);
	ck_assert(!readable(w.host));
	ck_assert(!readable(w.host + 3 * PG));
	ck_assert_uint_eq(w.table.n, 0);
	/* The file kept the data written through the window. */
	dax_window_destroy(&w);
	drop_file();
}
END_TEST

START_TEST(mapping_outlives_the_descriptor_and_unlink)
{
	struct dax_window w;
	int fd = make_file(2);
	struct fuse_setupmapping_in in = smap(0, 2 * PG, 0, true);
	char path[96];

	ck_assert_int_eq(dax_window_create(&w, 1ULL << 32, WIN_PAGES * PG, false), 0);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 3, &in), 0);
	snprintf(path, sizeof(path), "%s/f", tmpdir);
	ck_assert_int_eq(unlink(path), 0);
	close(fd);
	file_fd = -1;
	ck_assert_int_eq(w.host[PG], 'b');
	w.host[0] = 'z';
	ck_assert_int_eq(w.host[0], 'z');
	ck_assert_int_eq(dax_sync(&w, 3), 0);
	dax_window_destroy(&w);
	rmdir(tmpdir);
}
END_TEST

START_TEST(a_vmm_access_to_a_hole_does_not_kill_the_process)
{
	struct dax_window w;
	unsigned long long before = dax_fault_pages();
	volatile uint8_t *p;
	uint8_t v;

	ck_assert_int_eq(dax_window_create(&w, 1ULL << 32, WIN_PAGES * PG, false), 0);
	p = w.host + 5 * PG + 3;
	v = *p; /* SIGSEGV in a window: a zero page is put there and the load retried */
	ck_assert_uint_eq(v, 0);
	*p = 7;
	ck_assert_uint_eq(*p, 7);
	ck_assert_uint_eq(dax_fault_pages(), before + 1);
	ck_assert(!readable(w.host + 4 * PG)); /* only that page */
	dax_window_destroy(&w);
}
END_TEST

START_TEST(a_truncated_file_under_a_mapping_does_not_kill_the_process)
{
	struct dax_window w;
	int fd = make_file(4);
	struct fuse_setupmapping_in in = smap(0, 4 * PG, 0, true);
	volatile uint8_t *p;

	ck_assert_int_eq(dax_window_create(&w, 1ULL << 32, WIN_PAGES * PG, false), 0);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 3, &in), 0);
	ck_assert_int_eq(ftruncate(fd, PG), 0);
	p = w.host + 2 * PG;
	ck_assert_uint_eq(*p, 0); /* SIGBUS past EOF: zero page instead */
	ck_assert_int_eq(w.host[0], 'a');
	dax_window_destroy(&w);
	drop_file();
}
END_TEST

START_TEST(repair_fills_holes_and_dead_tails_once)
{
	struct dax_window w;
	int fd = make_file(4);
	struct fuse_setupmapping_in in = smap(0, 4 * PG, 4 * PG, true);

	ck_assert_int_eq(dax_window_create(&w, 1ULL << 32, WIN_PAGES * PG, false), 0);
	ck_assert_int_eq(dax_setup_fd(&w, fd, 3, &in), 0);
	ck_assert_int_eq(ftruncate(fd, PG + 100), 0); /* file pages 2 and 3 are gone */
	/* Holes [0,4) and [8,16), and the dead tail [6,8) of the mapping. */
	ck_assert_uint_eq(dax_repair(&w), 3);
	ck_assert(readable(w.host));
	ck_assert(readable(w.host + 15 * PG));
	ck_assert(readable(w.host + 6 * PG));
	ck_assert_int_eq(w.host[4 * PG], 'a');
	ck_assert_int_eq(w.host[5 * PG], 'b');
	ck_assert_int_eq(w.host[7 * PG], 0);
	ck_assert_uint_eq(w.table.n, 4);
	expect(&w.table, 1, 4 * PG, 6 * PG, 0, 3);
	ck_assert_uint_eq(w.table.v[2].kind, DAX_SCRATCH);
	/* Nothing left to repair: a second EFAULT would stop the VM. */
	ck_assert_uint_eq(dax_repair(&w), 0);
	dax_window_destroy(&w);
	drop_file();
}
END_TEST

START_TEST(translate_covers_ram_and_windows_and_nothing_else)
{
	static uint8_t ram[64 * 1024];
	struct guest_memory mem;
	struct dax_window w;
	struct dax_space s = { .mem = &mem, .n = 1 };
	const uint64_t base = 1ULL << 32;

	gm_init_from_buffer(&mem, ram, sizeof(ram));
	ck_assert_int_eq(dax_window_create(&w, base, WIN_PAGES * PG, false), 0);
	s.w[0] = &w;
	ck_assert_ptr_eq(dax_translate(&s, 16, 32), ram + 16);
	ck_assert_ptr_eq(dax_translate(&s, base, PG), w.host);
	ck_assert_ptr_eq(dax_translate(&s, base + 3 * PG + 5, 100), w.host + 3 * PG + 5);
	ck_assert_ptr_eq(dax_translate(&s, base + WIN_PAGES * PG - 8, 8),
			 w.host + WIN_PAGES * PG - 8);
	ck_assert_ptr_null(dax_translate(&s, base + WIN_PAGES * PG - 8, 9));
	ck_assert_ptr_null(dax_translate(&s, base + WIN_PAGES * PG, 1));
	ck_assert_ptr_null(dax_translate(&s, base - 1, 2));
	ck_assert_ptr_null(dax_translate(&s, base + 8, ~0ULL));
	ck_assert_ptr_null(dax_translate(&s, sizeof(ram), 1));
	ck_assert_uint_eq(dax_space_repair(&s), 1);
	dax_window_destroy(&w);
}
END_TEST

/* --- through the FUSE server: the file is opened by node ID (fh is -1) --- */

static struct fuse_server *srv;

static size_t call(uint32_t opcode, uint64_t nodeid, const void *arg, size_t alen, void *out,
		   size_t olen)
{
	struct fuse_in_header h = { .len = (uint32_t)(sizeof(h) + alen), .opcode = opcode,
				    .unique = 1, .nodeid = nodeid };
	struct iovec in[2] = { { &h, sizeof(h) }, { (void *)arg, alen } };
	struct iovec o = { out, olen };

	return fuse_server_handle(srv, in, alen ? 2 : 1, &o, 1);
}

static int32_t reply_error(const void *out)
{
	return ((const struct fuse_out_header *)out)->error;
}

START_TEST(setupmapping_through_the_server_opens_the_file_by_node_id)
{
	struct fuse_server_config cfg = { .dax = &dax_fuse_ops };
	struct fuse_init_in init = { .major = 7, .minor = 31, .max_readahead = 65536,
				     .flags = FUSE_MAP_ALIGNMENT };
	struct {
		struct fuse_out_header h;
		union {
			struct fuse_init_out init;
			struct fuse_entry_out entry;
		};
	} out;
	struct dax_window w;
	struct fuse_setupmapping_in in = smap(0, PG, 0, true);

	make_file(2);
	cfg.shared_dir = tmpdir;
	ck_assert_int_eq(dax_window_create(&w, 1ULL << 32, WIN_PAGES * PG, false), 0);
	cfg.dax_opaque = &w;
	ck_assert_int_eq(fuse_server_create(&cfg, &srv), 0);
	w.server = srv;
	call(FUSE_INIT, 0, &init, sizeof(init), &out, sizeof(out));
	ck_assert_int_eq(reply_error(&out), 0);
	ck_assert(out.init.flags & FUSE_MAP_ALIGNMENT);
	ck_assert_uint_eq(out.init.map_alignment, 12);
	call(FUSE_LOOKUP, FUSE_ROOT_ID, "f", 2, &out, sizeof(out));
	ck_assert_int_eq(reply_error(&out), 0);
	call(FUSE_SETUPMAPPING, out.entry.nodeid, &in, sizeof(in), &out, sizeof(out));
	ck_assert_int_eq(reply_error(&out), 0);
	ck_assert_int_eq(w.host[0], 'a');
	/* A directory has nothing to map; an unknown node ID is refused. */
	call(FUSE_SETUPMAPPING, FUSE_ROOT_ID, &in, sizeof(in), &out, sizeof(out));
	ck_assert_int_eq(reply_error(&out), -ENODEV);
	call(FUSE_SETUPMAPPING, 0x7777777, &in, sizeof(in), &out, sizeof(out));
	ck_assert_int_lt(reply_error(&out), 0);
	ck_assert_int_eq(w.host[0], 'a');
	fuse_server_destroy(srv);
	dax_window_destroy(&w);
	drop_file();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dax");
	TCase *table = tcase_create("table"), *win = tcase_create("window");

	tcase_add_test(table, table_keeps_entries_sorted_and_finds_them);
	tcase_add_test(table, table_overlapping_set_replaces_and_trims_neighbours);
	tcase_add_test(table, table_clear_in_the_middle_splits_one_entry);
	tcase_add_test(table, table_refuses_empty_entries_and_unreserved_growth);
	tcase_add_test(win, window_starts_as_one_inaccessible_reservation);
	tcase_add_test(win, setup_maps_the_file_both_ways);
	tcase_add_test(win, setup_overlapping_replaces_and_read_only_is_read_only);
	tcase_add_test(win, setup_checks_flags_alignment_and_bounds);
	tcase_add_test(win, read_only_window_refuses_write_mappings);
	tcase_add_test(win, failed_mmap_leaves_a_hole_not_stale_data);
	tcase_add_test(win, remove_overlays_prot_none_and_splits);
	tcase_add_test(win, mapping_outlives_the_descriptor_and_unlink);
	tcase_add_test(win, a_vmm_access_to_a_hole_does_not_kill_the_process);
	tcase_add_test(win, a_truncated_file_under_a_mapping_does_not_kill_the_process);
	tcase_add_test(win, repair_fills_holes_and_dead_tails_once);
	tcase_add_test(win, translate_covers_ram_and_windows_and_nothing_else);
	tcase_add_test(win, setupmapping_through_the_server_opens_the_file_by_node_id);
	suite_add_tcase(s, table);
	suite_add_tcase(s, win);
	return check_run(s);
}
