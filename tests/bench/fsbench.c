/* fsbench.c: the file-system workload of make bench: metadata ops/s and sequential MB/s in one directory. */
/*
 * fsbench [--files N] [--size MIB] [--block KIB] [--no-drop] DIR
 * fsbench --readfile FILE [--block KIB]
 *
 * In a fresh directory DIR/fsbench-PID, one phase after the other:
 *   create  N empty files (openat O_CREAT|O_EXCL, close)           ops/s
 *   stat    the N files (fstatat)                                   ops/s
 *   unlink  the N files (unlinkat)                                  ops/s
 *   write   one file of MIB MiB in KIB KiB writes, then fsync+close MB/s (10^6 bytes)
 *   read    that file again through a fresh descriptor              MB/s
 * Every name is resolved relative to a descriptor of the work directory, so the figures
 * measure the file system under DIR, not the path walk above it.
 *
 * Caches (unless --no-drop, or when /proc/sys/vm/drop_caches cannot be written): before
 * stat, sync and "2" (dentries and inodes), so each stat reaches the file system (on FUSE
 * a LOOKUP to the server) rather than the attribute cache; before read, sync and "3"
 * (page cache too), so the data comes from the file system, not from memory. On the host
 * this drops the backing directory's caches as well: native and FUSE both read cold.
 *
 * Output, one line per figure, then the settings and a status line:
 *   FSBENCH <phase> <rate> <ops/s|MB/s> count=<ops or bytes> secs=<s>
 *   FSBENCH config files=N size_mib=S block_kib=B caches=dropped|kept
 *   FSBENCH done          (exit 0)   or   FSBENCH error <phase>: <reason>   (exit 1)
 * With --readfile, only reads of the existing FILE (nothing is written), in KIB blocks at
 * KIB-aligned offsets (KIB a multiple of 4), the whole file each pass:
 *   seq_read_cold  first sequential pass (fills the page cache, or sets up DAX mappings)
 *   seq_read       second sequential pass: warm
 *   rand_read      every block once more in a shuffled order (pread): warm
 *   FSBENCH page_cache <kib> KiB cached_before=<kib> cached_after=<kib> shmem_before=..
 * where page_cache is the growth of Cached in /proc/meminfo over the three passes (tmpfs
 * pages count there too, as Shmem, before the first pass).
 * Linked statically: the benchmark guest has busybox and no C library.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "../../vmm/util.h" /* MUST_CHECK, ARRAY_SIZE: macros only, nothing to link */

#define FSB_DATA_NAME "data"
#define FSB_MAX_FILES 10000000UL
#define FSB_MAX_SIZE_MIB (1UL << 20)
#define FSB_MAX_BLOCK_KIB (64UL << 10)
#define FSB_STAMP_MAGIC 0x6673626e63680000ULL /* "fsbnch": tells a block from a stale one */

struct fsb_opts {
	unsigned long files;
	unsigned long size_mib;
	unsigned long block_kib;
	bool drop;
	const char *dir;
	const char *readfile; /* --readfile: the read-throughput mode */
};

struct fsb {
	struct fsb_opts o;
	int dfd; /* the work directory */
	char name[64]; /* the work directory's name inside o.dir */
	unsigned char *buf; /* one block; bytes 0-7 hold the block's stamp */
	size_t block;
	uint64_t blocks;
	bool dropped; /* every drop_caches write so far succeeded */
};

static double fsb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes LEVEL to drop_caches after a sync; a failure only means warmer caches. */
static void fsb_drop_caches(struct fsb *b, const char *level)
{
	int fd;

	if (!b->o.drop)
		return;
	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, level, strlen(level)) != (ssize_t)strlen(level))
		b->dropped = false;
	if (fd >= 0)
		close(fd);
}

static void fsb_report(const char *phase, double count, double secs, double scale,
		       const char *unit)
{
	double rate = secs > 0 ? count / scale / secs : 0;

	printf("FSBENCH %s %.1f %s count=%.0f secs=%.6f\n", phase, rate, unit, count, secs);
	fflush(stdout);
}

static void fsb_file_name(char *out, size_t len, unsigned long i)
{
	snprintf(out, len, "f%07lu", i);
}

static MUST_CHECK int fsb_create(struct fsb *b)
{
	char name[32];

	for (unsigned long i = 0; i < b->o.files; i++) {
		fsb_file_name(name, sizeof(name), i);
		int fd = openat(b->dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);

		if (fd < 0)
			return -errno;
		if (close(fd) != 0)
			return -errno;
	}
	return 0;
}

static MUST_CHECK int fsb_stat(struct fsb *b)
{
	struct stat st;
	char name[32];

	for (unsigned long i = 0; i < b->o.files; i++) {
		fsb_file_name(name, sizeof(name), i);
		if (fstatat(b->dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			return -errno;
		if (!S_ISREG(st.st_mode) || st.st_size != 0)
			return -EIO; /* not what fsb_create made */
	}
	return 0;
}

static MUST_CHECK int fsb_unlink(struct fsb *b)
{
	char name[32];

	for (unsigned long i = 0; i < b->o.files; i++) {
		fsb_file_name(name, sizeof(name), i);
		if (unlinkat(b->dfd, name, 0) != 0)
			return -errno;
	}
	return 0;
}

/* Block I's first 8 bytes: its index, so a block read back from the wrong place shows. */
static void fsb_stamp(unsigned char *buf, uint64_t i)
{
	uint64_t v = FSB_STAMP_MAGIC ^ i;

	memcpy(buf, &v, sizeof(v));
}

static MUST_CHECK int fsb_write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static MUST_CHECK int fsb_write(struct fsb *b)
{
	int fd = openat(b->dfd, FSB_DATA_NAME, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	int err = 0;

	if (fd < 0)
		return -errno;
	for (uint64_t i = 0; i < b->blocks && !err; i++) {
		fsb_stamp(b->buf, i);
		err = fsb_write_all(fd, b->buf, b->block);
	}
	if (!err && fsync(fd) != 0)
		err = -errno;
	if (close(fd) != 0 && !err)
		err = -errno;
	return err;
}

/* Reads up to LEN bytes, fewer only at end of file. Returns the count or -errno. */
static MUST_CHECK ssize_t fsb_read_full(int fd, unsigned char *p, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Each block must be whole and carry its own stamp; the file must end after the last. */
static MUST_CHECK int fsb_read(struct fsb *b)
{
	unsigned char want[8];
	int fd = openat(b->dfd, FSB_DATA_NAME, O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	for (uint64_t i = 0; i <= b->blocks && !err; i++) {
		ssize_t n = fsb_read_full(fd, b->buf, b->block);

		fsb_stamp(want, i);
		if (n < 0)
			err = (int)n;
		else if (i == b->blocks ? n != 0 : (size_t)n != b->block)
			err = -EIO; /* short file, or longer than written */
		else if (n > 0 && memcmp(b->buf, want, sizeof(want)) != 0)
			err = -EILSEQ; /* wrong data */
	}
	close(fd);
	return err;
}

struct fsb_phase {
	const char *name;
	int (*run)(struct fsb *b);
	const char *drop_before; /* drop_caches level, or NULL */
	bool bytes; /* a data phase (MB/s) rather than a metadata phase (ops/s) */
};

static const struct fsb_phase fsb_phases[] = {
	{ "create", fsb_create, NULL, false },
	{ "stat", fsb_stat, "2\n", false },
	{ "unlink", fsb_unlink, NULL, false },
	{ "write", fsb_write, NULL, true },
	{ "read", fsb_read, "3\n", true },
};

static MUST_CHECK int fsb_run_phases(struct fsb *b)
{
	for (size_t i = 0; i < ARRAY_SIZE(fsb_phases); i++) {
		const struct fsb_phase *p = &fsb_phases[i];
		double t0, secs;
		int err;

		if (p->drop_before)
			fsb_drop_caches(b, p->drop_before);
		t0 = fsb_now();
		err = p->run(b);
		secs = fsb_now() - t0;
		if (err) {
			printf("FSBENCH error %s: %s\n", p->name, strerror(-err));
			return err;
		}
		if (p->bytes)
			fsb_report(p->name, (double)b->blocks * (double)b->block, secs, 1e6, "MB/s");
		else
			fsb_report(p->name, (double)b->o.files, secs, 1, "ops/s");
	}
	return 0;
}

/* Fills the block with a xorshift sequence: incompressible, never all zeroes. */
static MUST_CHECK int fsb_alloc(struct fsb *b)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL, *w;

	b->block = b->o.block_kib << 10;
	b->blocks = ((uint64_t)b->o.size_mib << 20) / b->block;
	if (posix_memalign((void **)&b->buf, 4096, b->block) != 0)
		return -ENOMEM;
	w = (uint64_t *)b->buf;
	for (size_t i = 0; i < b->block / sizeof(*w); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
	return 0;
}

static MUST_CHECK int fsb_open_workdir(struct fsb *b)
{
	int top = open(b->o.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (top < 0)
		return -errno;
	snprintf(b->name, sizeof(b->name), "fsbench-%ld", (long)getpid());
	if (mkdirat(top, b->name, 0755) != 0)
		err = -errno;
	else if ((b->dfd = openat(top, b->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		err = -errno;
	close(top);
	return err;
}

/* Removes what the phases may have left (all of it after a failure). */
static void fsb_cleanup(struct fsb *b)
{
	char name[32];
	int top;

	for (unsigned long i = 0; i < b->o.files; i++) {
		fsb_file_name(name, sizeof(name), i);
		unlinkat(b->dfd, name, 0);
	}
	unlinkat(b->dfd, FSB_DATA_NAME, 0);
	close(b->dfd);
	top = open(b->o.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top >= 0) {
		unlinkat(top, b->name, AT_REMOVEDIR);
		close(top);
	}
}

/* The value of KEY ("Cached:") in /proc/meminfo, in KiB, or -1 when it cannot be read. */
static long fsb_meminfo_kib(const char *key)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, strlen(key)) == 0) {
			v = strtol(line + strlen(key), NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* One pass over the N blocks of FD: in order, or in the order ORDER gives (pread). */
static MUST_CHECK int fsb_read_pass(struct fsb *b, int fd, const uint64_t *order)
{
	for (uint64_t i = 0; i < b->blocks; i++) {
		uint64_t blk = order ? order[i] : i;
		ssize_t n = pread(fd, b->buf, b->block, (off_t)(blk * b->block));

		if (n < 0 && errno == EINTR) {
			i--;
			continue;
		}
		if (n < 0)
			return -errno;
		if ((size_t)n != b->block)
			return -EIO; /* the file shrank under us */
	}
	return 0;
}

/* A Fisher-Yates shuffle of the block numbers, from a fixed xorshift seed. */
static MUST_CHECK uint64_t *fsb_shuffle(uint64_t n)
{
	uint64_t *v = calloc(n, sizeof(*v)), x = 0x2545f4914f6cdd1dULL;

	if (!v)
		return NULL;
	for (uint64_t i = 0; i < n; i++)
		v[i] = i;
	for (uint64_t i = n - 1; i > 0; i--) {
		uint64_t j, t;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = x % (i + 1);
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
	return v;
}

/* Runs one timed pass and reports it as PHASE. */
static MUST_CHECK int fsb_timed_pass(struct fsb *b, int fd, const uint64_t *order,
				     const char *phase)
{
	double t0 = fsb_now(), secs;
	int err = fsb_read_pass(b, fd, order);

	secs = fsb_now() - t0;
	if (err) {
		printf("FSBENCH error %s: %s\n", phase, strerror(-err));
		return err;
	}
	fsb_report(phase, (double)b->blocks * (double)b->block, secs, 1e6, "MB/s");
	return 0;
}

/* The --readfile mode: cold and warm sequential passes, a warm random pass. */
static MUST_CHECK int fsb_readfile(struct fsb *b)
{
	long cached0 = fsb_meminfo_kib("Cached:"), shmem0 = fsb_meminfo_kib("Shmem:");
	long cached1, shmem1;
	uint64_t *order = NULL;
	struct stat st;
	int err = 0, fd = open(b->o.readfile, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0)
		err = -errno;
	else if ((b->blocks = (uint64_t)st.st_size / b->block) == 0)
		err = -EINVAL; /* smaller than one block */
	else if (!(order = fsb_shuffle(b->blocks)))
		err = -ENOMEM;
	if (err) {
		printf("FSBENCH error setup: %s: %s\n", b->o.readfile, strerror(-err));
	} else {
		err = fsb_timed_pass(b, fd, NULL, "seq_read_cold");
		if (!err)
			err = fsb_timed_pass(b, fd, NULL, "seq_read");
		if (!err)
			err = fsb_timed_pass(b, fd, order, "rand_read");
	}
	cached1 = fsb_meminfo_kib("Cached:");
	shmem1 = fsb_meminfo_kib("Shmem:");
	if (!err)
		printf("FSBENCH page_cache %ld KiB cached_before=%ld cached_after=%ld "
		       "shmem_before=%ld shmem_after=%ld\n",
		       cached1 - cached0, cached0, cached1, shmem0, shmem1);
	printf("FSBENCH config readfile=%s size=%lld block_kib=%lu\n", b->o.readfile,
	       (long long)(b->blocks * b->block), b->o.block_kib);
	free(order);
	if (fd >= 0)
		close(fd);
	return err;
}

static MUST_CHECK bool fsb_parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *out >= 1 && *out <= max;
}

static MUST_CHECK int fsb_parse(int argc, char **argv, struct fsb_opts *o)
{
	static const struct option opts[] = {
		{ "files", required_argument, NULL, 'n' }, { "size", required_argument, NULL, 's' },
		{ "block", required_argument, NULL, 'b' }, { "no-drop", no_argument, NULL, 'k' },
		{ "readfile", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'k')
			o->drop = false;
		else if (c == 'r')
			o->readfile = optarg;
		else if (c == 'n' && fsb_parse_ulong(optarg, FSB_MAX_FILES, &o->files))
			continue;
		else if (c == 's' && fsb_parse_ulong(optarg, FSB_MAX_SIZE_MIB, &o->size_mib))
			continue;
		else if (c == 'b' && fsb_parse_ulong(optarg, FSB_MAX_BLOCK_KIB, &o->block_kib))
			continue;
		else
			return -EINVAL;
	}
	if (o->readfile)
		return argc == optind && o->block_kib % 4 == 0 ? 0 : -EINVAL;
	if (argc - optind != 1 || (o->size_mib << 10) % o->block_kib != 0)
		return -EINVAL;
	o->dir = argv[optind];
	return 0;
}

int main(int argc, char **argv)
{
	struct fsb b = { .o = { .files = 1000, .size_mib = 256, .block_kib = 1024, .drop = true },
			 .dfd = -1, .dropped = true };
	int err;

	if (fsb_parse(argc, argv, &b.o) != 0) {
		fprintf(stderr, "usage: fsbench [--files N] [--size MIB] [--block KIB] "
				"[--no-drop] DIR   (MIB must be a multiple of KIB/1024)\n"
				"       fsbench --readfile FILE [--block KIB]   (KIB a multiple of 4)\n");
		return 2;
	}
	err = fsb_alloc(&b);
	if (!err && b.o.readfile) {
		err = fsb_readfile(&b);
		free(b.buf);
		if (!err)
			printf("FSBENCH done\n");
		return err ? 1 : 0;
	}
	if (!err)
		err = fsb_open_workdir(&b);
	if (err) {
		printf("FSBENCH error setup: %s: %s\n", b.o.dir, strerror(-err));
		return 1;
	}
	err = fsb_run_phases(&b);
	fsb_cleanup(&b);
	free(b.buf);
	/* Known only now: a drop can fail on the second try (read-only /proc/sys). */
	printf("FSBENCH config files=%lu size_mib=%lu block_kib=%lu caches=%s\n", b.o.files,
	       b.o.size_mib, b.o.block_kib, b.o.drop && b.dropped ? "dropped" : "kept");
	if (err)
		return 1;
	printf("FSBENCH done\n");
	return 0;
}
