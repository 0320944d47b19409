/* bzimage.c: load a bzImage for the 64-bit boot protocol: protected-mode kernel, zero page, entry at +0x200. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "boot_internal.h"

#define BZ_HDR_OFFSET 0x1f1     /* struct setup_header inside the image and the zero page */
#define BZ_JUMP_OFFSET 0x200    /* the header ends at 0x202 + the byte at 0x201 */
#define BZ_BOOT_FLAG 0xaa55
#define BZ_MIN_VERSION 0x020c   /* 2.12: xloadflags, so XLF_KERNEL_64 can be checked */
#define BZ_RSDP_VERSION 0x020e  /* 2.14: acpi_rsdp_addr */
#define BZ_ENTRY64_OFFSET 0x200 /* startup_64, from the start of the protected-mode kernel */
#define BZ_DEFAULT_SETUP_SECTS 4 /* setup_sects == 0 means 4 */
#define BZ_SECTOR 512
#define BZ_LOADER_UNDEFINED 0xff
/* boot.rst's sample loader: heap ends at 0xe000 from the real-mode base, stored minus 0x200. */
#define BZ_HEAP_END_PTR (0xe000 - 0x200)

struct bz_image {
	struct setup_header hdr; /* as in the file; fields past the file's header are zero */
	uint64_t setup_size;     /* bytes of boot sector and real-mode setup before the kernel */
	uint64_t kernel_size;    /* bytes of the protected-mode kernel */
	uint64_t load_addr;      /* where the protected-mode kernel is copied */
	struct boot_range footprint; /* what it occupies until it has decompressed itself */
};

static void bz_copy_header(const uint8_t *head, struct setup_header *hdr)
{
	size_t end = BZ_JUMP_OFFSET + 2 + head[BZ_JUMP_OFFSET + 1];

	/* Fields the kernel does not have (older protocol, or a hostile jump) read as zero. */
	if (end > BZ_HDR_OFFSET + sizeof(*hdr))
		end = BZ_HDR_OFFSET + sizeof(*hdr);
	memset(hdr, 0, sizeof(*hdr));
	memcpy(hdr, head + BZ_HDR_OFFSET, end - BZ_HDR_OFFSET);
}

static int bz_check_header(struct boot_ctx *ctx, const struct setup_header *hdr)
{
	if (hdr->boot_flag != BZ_BOOT_FLAG)
		return boot_fail(ctx, -ENOEXEC, "bzImage has a bad boot_flag 0x%x", hdr->boot_flag);
	if (hdr->version < BZ_MIN_VERSION)
		return boot_fail(ctx, -ENOEXEC, "bzImage boot protocol %u.%02u is older than 2.12, "
				 "which the 64-bit entry needs", hdr->version >> 8, hdr->version & 0xff);
	if (!(hdr->xloadflags & XLF_KERNEL_64))
		return boot_fail(ctx, -ENOEXEC, "bzImage has no 64-bit entry point (XLF_KERNEL_64)");
	if (!(hdr->loadflags & LOADED_HIGH))
		return boot_fail(ctx, -ENOEXEC, "zImage (loaded low) is not supported");
	return 0;
}

static int bz_parse(struct boot_ctx *ctx, const uint8_t *head, size_t head_len,
		    struct bz_image *bz)
{
	uint64_t sects, declared;
	int ret;

	if (head_len < BZ_HDR_OFFSET + sizeof(struct setup_header))
		return boot_fail(ctx, -ENOEXEC, "bzImage truncated inside its setup header");
	bz_copy_header(head, &bz->hdr);
	ret = bz_check_header(ctx, &bz->hdr);
	if (ret)
		return ret;
	sects = bz->hdr.setup_sects ? bz->hdr.setup_sects : BZ_DEFAULT_SETUP_SECTS;
	bz->setup_size = (sects + 1) * BZ_SECTOR;
	if (ctx->file_size <= bz->setup_size)
		return boot_fail(ctx, -ENOEXEC, "bzImage truncated: no kernel after %llu bytes of setup",
				 (unsigned long long)bz->setup_size);
	bz->kernel_size = ctx->file_size - bz->setup_size;
	declared = (uint64_t)bz->hdr.syssize * 16;
	if (declared > bz->kernel_size)
		return boot_fail(ctx, -ENOEXEC, "bzImage truncated: kernel is %llu bytes, header says %llu",
				 (unsigned long long)bz->kernel_size, (unsigned long long)declared);
	return 0;
}

/*
 * Where the kernel will run. The decompressor (compressed/head_64.S) moves itself to
 * max(load address rounded up to kernel_alignment, LOAD_PHYSICAL_ADDR = pref_address)
 * and uses init_size bytes from there; a non-relocatable kernel always uses pref_address.
 */
static int bz_run_addr(struct boot_ctx *ctx, const struct bz_image *bz, uint64_t *run)
{
	uint64_t align = bz->hdr.kernel_alignment, up;

	if (!bz->hdr.relocatable_kernel) {
		*run = bz->hdr.pref_address;
		return 0;
	}
	if (align == 0 || (align & (align - 1)))
		return boot_fail(ctx, -ENOEXEC, "bzImage kernel_alignment 0x%llx is not a power of two",
				 (unsigned long long)align);
	up = (bz->load_addr + align - 1) & ~(align - 1);
	*run = up > bz->hdr.pref_address ? up : bz->hdr.pref_address;
	return 0;
}

/*
 * A relocatable kernel is loaded at pref_address rather than 1 MiB: it would move itself
 * there anyway, so loading it in place saves a copy and makes its footprint
 * [pref_address, + init_size) exactly, which the initrd must not overlap.
 */
static int bz_place(struct boot_ctx *ctx, struct bz_image *bz)
{
	uint64_t pref = bz->hdr.pref_address, low_end = gm_low_ram_end(ctx->mem), run = 0, end;
	int ret;

	if (pref < LAYOUT_HIMEM_START || pref >= LAYOUT_MMIO_HOLE_START || (pref & (BOOT_PAGE_SIZE - 1)))
		return boot_fail(ctx, -ENOEXEC, "bzImage pref_address 0x%llx is implausible",
				 (unsigned long long)pref);
	bz->load_addr = bz->hdr.relocatable_kernel ? pref : LAYOUT_HIMEM_START;
	ret = bz_run_addr(ctx, bz, &run);
	if (ret)
		return ret;
	end = run + (bz->hdr.init_size > bz->kernel_size ? bz->hdr.init_size : bz->kernel_size);
	if (bz->load_addr + bz->kernel_size > end)
		end = bz->load_addr + bz->kernel_size;
	bz->footprint.start = bz->load_addr < run ? bz->load_addr : run;
	bz->footprint.end = end;
	if (end > low_end)
		return boot_fail(ctx, -E2BIG, "kernel needs RAM up to 0x%llx (runs at 0x%llx, init_size "
				 "0x%x) but RAM below 4 GiB ends at 0x%llx", (unsigned long long)end,
				 (unsigned long long)run, bz->hdr.init_size, (unsigned long long)low_end);
	return 0;
}

static int bz_write_zero_page(struct boot_ctx *ctx, const struct bz_image *bz,
			      const struct boot_initrd *initrd)
{
	struct boot_params bp;
	unsigned n;
	int ret;

	/* A clean page with only the setup header copied in, as the 64-bit protocol asks. */
	memset(&bp, 0, sizeof(bp));
	bp.hdr = bz->hdr;
	bp.hdr.type_of_loader = BZ_LOADER_UNDEFINED;
	bp.hdr.loadflags |= CAN_USE_HEAP; /* KEEP_SEGMENTS is obsolete and meant the 32-bit entry */
	bp.hdr.heap_end_ptr = BZ_HEAP_END_PTR;
	bp.hdr.code32_start = (uint32_t)bz->load_addr;
	bp.hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE_ADDR;
	bp.ext_cmd_line_ptr = (uint32_t)(LAYOUT_CMDLINE_ADDR >> 32);
	bp.hdr.ramdisk_image = (uint32_t)initrd->gpa;
	bp.ext_ramdisk_image = (uint32_t)(initrd->gpa >> 32);
	bp.hdr.ramdisk_size = (uint32_t)initrd->size;
	bp.ext_ramdisk_size = (uint32_t)(initrd->size >> 32);
	bp.hdr.setup_data = 0; /* the image's own value would send the kernel to a bogus list */
	if (bz->hdr.version >= BZ_RSDP_VERSION)
		bp.acpi_rsdp_addr = ctx->req->rsdp_addr; /* older kernels scan 0xe0000 for it */
	ret = boot_e820_build(ctx->mem, bp.e820_table, E820_MAX_ENTRIES_ZEROPAGE, &n);
	if (ret)
		return boot_fail(ctx, ret, "too many e820 entries");
	bp.e820_entries = (uint8_t)n;
	ret = gm_write(ctx->mem, LAYOUT_ZERO_PAGE_ADDR, &bp, sizeof(bp));
	if (ret)
		return boot_fail(ctx, ret, "no guest RAM for the zero page at 0x%llx",
				 LAYOUT_ZERO_PAGE_ADDR);
	return 0;
}

static int bz_write_cpu_tables(struct boot_ctx *ctx)
{
	int ret = boot_write_gdt(ctx->mem, BOOT_ENTRY_LONG_MODE_64);

	if (ret == 0)
		ret = boot_write_page_tables(ctx->mem);
	if (ret)
		return boot_fail(ctx, ret, "no guest RAM below 1 MiB for the GDT and page tables");
	return 0;
}

int boot_bzimage_load(struct boot_ctx *ctx, const uint8_t *head, size_t head_len,
		      struct boot_cpu_state *entry)
{
	struct boot_initrd initrd;
	struct bz_image bz;
	uint64_t initrd_limit;
	int ret;

	ret = bz_parse(ctx, head, head_len, &bz);
	if (ret == 0)
		ret = bz_place(ctx, &bz);
	if (ret == 0)
		ret = boot_write_cmdline(ctx, bz.hdr.cmdline_size);
	if (ret == 0)
		ret = boot_file_to_guest(ctx, ctx->fd, bz.setup_size, bz.load_addr, bz.kernel_size,
					 "kernel");
	if (ret)
		return ret;
	/* initrd_addr_max is the highest address the last initrd byte may have. */
	initrd_limit = (uint64_t)bz.hdr.initrd_addr_max + 1;
	if (initrd_limit > gm_low_ram_end(ctx->mem))
		initrd_limit = gm_low_ram_end(ctx->mem);
	ret = boot_load_initrd(ctx, initrd_limit, &bz.footprint, &initrd);
	if (ret == 0)
		ret = bz_write_zero_page(ctx, &bz, &initrd);
	if (ret == 0)
		ret = bz_write_cpu_tables(ctx);
	if (ret)
		return ret;
	entry->mode = BOOT_ENTRY_LONG_MODE_64;
	entry->rip = bz.load_addr + BZ_ENTRY64_OFFSET;
	entry->rsi = LAYOUT_ZERO_PAGE_ADDR;
	return 0;
}
