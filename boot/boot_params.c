/* boot_params.c: what both boot paths hand the kernel besides its image: e820 map, initrd, command line. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "boot_internal.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Append [start, end) unless it is empty. */
static int e820_add(struct boot_e820_entry *map, unsigned max, unsigned *n,
		    uint64_t start, uint64_t end, uint32_t type)
{
	if (start >= end)
		return 0;
	if (*n >= max)
		return -E2BIG;
	map[*n].addr = start;
	map[*n].size = end - start;
	map[*n].type = type;
	(*n)++;
	return 0;
}

/*
 * A region becomes up to three entries: RAM below the EBDA, the reserved legacy hole
 * [EBDA, 1 MiB) that holds the ACPI tables (RSDP scan area), and RAM from 1 MiB.
 */
static int e820_add_region(struct boot_e820_entry *map, unsigned max, unsigned *n,
			   const struct guest_region *r)
{
	uint64_t start = r->gpa, end = r->gpa + r->size;
	int ret;

	ret = e820_add(map, max, n, start, min_u64(end, LAYOUT_EBDA_START), BOOT_E820_RAM);
	if (ret == 0)
		ret = e820_add(map, max, n, max_u64(start, LAYOUT_EBDA_START),
			       min_u64(end, LAYOUT_HIMEM_START), BOOT_E820_RESERVED);
	if (ret == 0)
		ret = e820_add(map, max, n, max_u64(start, LAYOUT_HIMEM_START), end, BOOT_E820_RAM);
	return ret;
}

/* The kernel sanitises the map, but a sorted one is what firmware gives and what tests read. */
static void e820_sort(struct boot_e820_entry *map, unsigned n)
{
	struct boot_e820_entry tmp;
	unsigned i, j;

	for (i = 1; i < n; i++) {
		tmp = map[i];
		for (j = i; j > 0 && map[j - 1].addr > tmp.addr; j--)
			map[j] = map[j - 1];
		map[j] = tmp;
	}
}

int boot_e820_build(const struct guest_memory *mem, struct boot_e820_entry *map,
		    unsigned max, unsigned *n)
{
	unsigned i;
	int ret;

	*n = 0;
	for (i = 0; i < mem->nregions; i++) {
		ret = e820_add_region(map, max, n, &mem->region[i]);
		if (ret)
			return ret;
	}
	e820_sort(map, *n);
	return 0;
}

/* Highest page-aligned start of size bytes in [1 MiB, top), or 0 if none. */
static uint64_t initrd_top_fit(uint64_t size, uint64_t top)
{
	if (top < LAYOUT_HIMEM_START || top - LAYOUT_HIMEM_START < size)
		return 0;
	/* Rounding down cannot go below 1 MiB: it is page-aligned itself. */
	return (top - size) & ~(BOOT_PAGE_SIZE - 1);
}

/*
 * Boot loaders put the initrd as high as they can (boot.rst): the highest page-aligned
 * address below limit, or failing that, the highest below the kernel. Never below 1 MiB,
 * where the boot structures live.
 */
int boot_initrd_addr(uint64_t size, uint64_t limit, const struct boot_range *kernel,
		     uint64_t *gpa)
{
	uint64_t a = initrd_top_fit(size, limit);

	if (a && (a >= kernel->end || a + size <= kernel->start)) {
		*gpa = a;
		return 0;
	}
	a = initrd_top_fit(size, min_u64(limit, kernel->start));
	if (a) {
		*gpa = a;
		return 0;
	}
	return -E2BIG;
}

static int initrd_open(struct boot_ctx *ctx, uint64_t *size)
{
	const char *path = ctx->req->initrd_path;
	struct stat st;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return boot_fail(ctx, -errno, "cannot open initrd %s: %s", path, strerror(errno));
	err = fstat(fd, &st) < 0 ? errno : (S_ISREG(st.st_mode) ? 0 : EINVAL);
	if (err) {
		close(fd);
		return boot_fail(ctx, -err, "initrd %s is not a readable regular file", path);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* The appended archive (job) goes after the file, 4-byte aligned as the unpacker wants. */
static int initrd_append_extra(struct boot_ctx *ctx, uint64_t gpa, uint64_t file_size)
{
	uint64_t at = gpa + ((file_size + 3) & ~3ULL);

	if (!ctx->req->initrd_extra_len)
		return 0;
	if (gm_write(ctx->mem, at, ctx->req->initrd_extra, ctx->req->initrd_extra_len))
		return boot_fail(ctx, -EFAULT, "cannot write the job archive after the initrd");
	return 0;
}

int boot_load_initrd(struct boot_ctx *ctx, uint64_t limit, const struct boot_range *kernel,
		     struct boot_initrd *initrd)
{
	uint64_t size = 0, total, gpa;
	int fd = -1, ret = 0;

	initrd->gpa = 0;
	initrd->size = 0;
	if (!ctx->req->initrd_path && !ctx->req->initrd_extra_len)
		return 0;
	if (ctx->req->initrd_path) {
		fd = initrd_open(ctx, &size);
		if (fd < 0)
			return fd;
	}
	total = ctx->req->initrd_extra_len ? ((size + 3) & ~3ULL) + ctx->req->initrd_extra_len : size;
	if (total == 0) /* nothing to hand over; the kernel treats size 0 as no initrd */
		goto out;
	ret = boot_initrd_addr(total, limit, kernel, &gpa);
	if (ret) {
		/* Name the file: the user must know which of their files is too large. */
		ret = boot_fail(ctx, ret, "initrd %s of %llu bytes does not fit in RAM below 0x%llx "
				"beside the kernel at [0x%llx, 0x%llx)",
				ctx->req->initrd_path ? ctx->req->initrd_path : "(job archive)",
				(unsigned long long)total, (unsigned long long)limit,
				(unsigned long long)kernel->start, (unsigned long long)kernel->end);
		goto out;
	}
	if (size)
		ret = boot_file_to_guest(ctx, fd, 0, gpa, size, "initrd");
	if (ret == 0)
		ret = initrd_append_extra(ctx, gpa, size);
	if (ret == 0) {
		initrd->gpa = gpa;
		initrd->size = total;
	}
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

int boot_write_cmdline(struct boot_ctx *ctx, uint64_t max_len)
{
	const char *cmdline = ctx->req->cmdline ? ctx->req->cmdline : "";
	size_t len = strlen(cmdline);
	int ret;

	if (max_len > LAYOUT_CMDLINE_MAX - 1)
		max_len = LAYOUT_CMDLINE_MAX - 1;
	if (len > max_len)
		return boot_fail(ctx, -E2BIG, "command line is %zu bytes; at most %llu fit",
				 len, (unsigned long long)max_len);
	ret = gm_write(ctx->mem, LAYOUT_CMDLINE_ADDR, cmdline, len + 1);
	if (ret)
		return boot_fail(ctx, ret, "no guest RAM for the command line at 0x%llx",
				 LAYOUT_CMDLINE_ADDR);
	return 0;
}
