/* fuzz_boot.c: libFuzzer target: bzImage / PVH ELF loading with boot params, and ACPI tables. */
/*
 * Input: a 24-byte header, then (with ACPI raw devices) 16 bytes per device, then the
 * kernel image, which goes into a memfd that boot_load opens as /proc/self/fd/N.
 *   [0]      bits 0-1 guest RAM size (32 KiB, 1 MiB, 2 MiB, 16 MiB), bit 2 add 1 MiB at 4 GiB
 *   [1]      bit 0 an initrd, bit 1 no command line at all
 *   [2..3]   command line length (a run of 'x')
 *   [4..7]   initrd size (a sparse memfd of zeros)
 *   [8..11]  RSDP address handed to the kernel
 *   [12]     ACPI vCPUs, [13] ACPI virtio devices, [14] bit 0 raw device records
 *   [16..19] ACPI buffer size (capped at 256 KiB)
 * Guest RAM is fixed anonymous memory with PROT_NONE guard pages on both sides, so a
 * store outside RAM faults at once. A successful load is checked (command line, zero
 * page or PVH start info, an initrd inside RAM, clear of the kernel's segments or its
 * decompression footprint and below initrd_addr_max), a failed one must say why; the
 * ACPI tables are walked from the RSDP and every checksum and length verified.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../../boot/acpi.h"
#include "../../boot/boot_internal.h"

#define FZ_HDR 24U
#define FZ_DEV_REC 16U
#define FZ_PAGE 4096UL
#define FZ_HIGH_SIZE (1UL << 20)
#define FZ_ACPI_MAX_CAP (256U << 10)
#define FZ_CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static const size_t fz_ram_sizes[4] = { 0x8000, 1UL << 20, 2UL << 20, 16UL << 20 };

/* Set up once per process: guarded RAM of each size and the two memfds. */
struct fz_boot_env {
	uint8_t *ram[4];
	uint8_t *high;
	int kernel_fd, initrd_fd;
	char kernel_path[64], initrd_path[64];
};

static struct fz_boot_env env;

static uint32_t fz_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t fz_le64(const uint8_t *p)
{
	return (uint64_t)fz_le32(p) | (uint64_t)fz_le32(p + 4) << 32;
}

/* size bytes between two inaccessible pages. */
static uint8_t *fz_guarded(size_t size)
{
	uint8_t *p = mmap(NULL, size + 2 * FZ_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + FZ_PAGE, size, PROT_READ | PROT_WRITE))
		__builtin_trap();
	return p + FZ_PAGE;
}

static int fz_memfd(const char *name, char *path, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		__builtin_trap();
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned i;

	for (i = 0; i < 4; i++)
		env.ram[i] = fz_guarded(fz_ram_sizes[i]);
	env.high = fz_guarded(FZ_HIGH_SIZE);
	env.kernel_fd = fz_memfd("fuzz-kernel", env.kernel_path, sizeof(env.kernel_path));
	env.initrd_fd = fz_memfd("fuzz-initrd", env.initrd_path, sizeof(env.initrd_path));
	return 0;
}

static void fz_fill_fd(int fd, const uint8_t *data, size_t len, uint64_t sparse)
{
	if (ftruncate(fd, 0) || (len && pwrite(fd, data, len, 0) != (ssize_t)len))
		__builtin_trap();
	if (sparse && ftruncate(fd, (off_t)sparse))
		__builtin_trap();
}

static void fz_make_memory(struct guest_memory *mem, uint8_t sel)
{
	gm_init_from_buffer(mem, env.ram[sel & 3], fz_ram_sizes[sel & 3]);
	if (sel & 4) {
		mem->region[1] = (struct guest_region){ LAYOUT_MMIO_HOLE_END, FZ_HIGH_SIZE, env.high };
		mem->nregions = 2;
		mem->ram_bytes += FZ_HIGH_SIZE;
	}
}

/* ---- the kernel loader ---- */

/* [a, a + alen) and [b, b + blen) share no byte. */
static bool fz_apart(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a + alen <= b || b + blen <= a;
}

/*
 * Where the protected-mode kernel runs while it decompresses (boot.rst, "code32_start",
 * "init_size"): from its load address up, or from max(load rounded up to
 * kernel_alignment, pref_address) for a relocatable one; init_size bytes from there.
 */
static void fz_bz_footprint(const struct setup_header *h, uint64_t load, uint64_t ksize,
			    uint64_t *start, uint64_t *end)
{
	uint64_t run = h->pref_address, align = h->kernel_alignment, up;

	if (h->relocatable_kernel) {
		up = (load + align - 1) & ~(align - 1);
		run = up > run ? up : run;
	}
	*start = load < run ? load : run;
	*end = run + (h->init_size > ksize ? h->init_size : ksize);
	if (load + ksize > *end)
		*end = load + ksize;
}

/* The zero page is filled in, and the initrd is in RAM, clear of the kernel and below its limit. */
static void fz_check_bzimage(const struct guest_memory *mem, uint64_t klen, uint64_t initrd_size)
{
	uint64_t setup, at, start, end;
	struct boot_params bp;

	FZ_CHECK(gm_read(mem, LAYOUT_ZERO_PAGE_ADDR, &bp, sizeof(bp)) == 0);
	FZ_CHECK(bp.hdr.cmd_line_ptr == LAYOUT_CMDLINE_ADDR && bp.hdr.setup_data == 0);
	FZ_CHECK(bp.e820_entries > 0 && bp.e820_entries <= E820_MAX_ENTRIES_ZEROPAGE);
	FZ_CHECK(bp.hdr.ramdisk_size == (uint32_t)initrd_size);
	if (!initrd_size)
		return;
	setup = ((uint64_t)(bp.hdr.setup_sects ? bp.hdr.setup_sects : 4) + 1) * 512;
	FZ_CHECK(klen > setup);
	fz_bz_footprint(&bp.hdr, bp.hdr.code32_start, klen - setup, &start, &end);
	at = bp.hdr.ramdisk_image | (uint64_t)bp.ext_ramdisk_image << 32;
	FZ_CHECK(at >= LAYOUT_HIMEM_START && gm_translate(mem, at, initrd_size));
	FZ_CHECK(fz_apart(at, initrd_size, start, end - start));
	FZ_CHECK(at + initrd_size - 1 <= bp.hdr.initrd_addr_max);
}

/* Every PT_LOAD segment of the image, as the file states it. */
static bool fz_pvh_clear_of_segments(const uint8_t *k, size_t klen, uint64_t at, uint64_t len)
{
	Elf64_Ehdr e;
	Elf64_Phdr p;

	/* The loader took the file, so the header and the whole table must be in it. */
	FZ_CHECK(klen >= sizeof(e));
	memcpy(&e, k, sizeof(e));
	FZ_CHECK(e.e_phoff <= klen && (klen - e.e_phoff) / sizeof(p) >= e.e_phnum);
	for (unsigned i = 0; i < e.e_phnum; i++) {
		memcpy(&p, k + e.e_phoff + (size_t)i * sizeof(p), sizeof(p));
		if (p.p_type == PT_LOAD && !fz_apart(at, len, p.p_paddr, p.p_memsz))
			return false;
	}
	return true;
}

static void fz_check_pvh(const struct guest_memory *mem, const uint8_t *k, size_t klen,
			 uint64_t initrd_size)
{
	struct hvm_start_info si;
	struct hvm_modlist_entry mod;

	FZ_CHECK(gm_read(mem, LAYOUT_PVH_INFO_ADDR, &si, sizeof(si)) == 0);
	FZ_CHECK(si.magic == XEN_HVM_START_MAGIC_VALUE && si.cmdline_paddr == LAYOUT_CMDLINE_ADDR);
	FZ_CHECK(si.memmap_entries > 0 && si.memmap_entries <= BOOT_E820_MAX);
	FZ_CHECK(si.nr_modules == (initrd_size ? 1U : 0U));
	if (initrd_size) {
		FZ_CHECK(gm_read(mem, si.modlist_paddr, &mod, sizeof(mod)) == 0);
		FZ_CHECK(mod.size == initrd_size && mod.paddr >= LAYOUT_HIMEM_START);
		FZ_CHECK(gm_translate(mem, mod.paddr, mod.size) != NULL);
		FZ_CHECK(fz_pvh_clear_of_segments(k, klen, mod.paddr, mod.size));
	}
}

static void fz_check_loaded(const struct guest_memory *mem, const struct boot_request *req,
			    const struct boot_cpu_state *entry, const uint8_t *k, size_t klen,
			    uint64_t initrd_size)
{
	const char *cmd = req->cmdline ? req->cmdline : "";
	const char *in_guest = gm_translate(mem, LAYOUT_CMDLINE_ADDR, strlen(cmd) + 1);
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	FZ_CHECK(in_guest && memcmp(in_guest, cmd, strlen(cmd) + 1) == 0);
	FZ_CHECK(entry->rsp == LAYOUT_BOOT_STACK_ADDR);
	if (entry->mode == BOOT_ENTRY_LONG_MODE_64)
		fz_check_bzimage(mem, klen, initrd_size);
	else
		fz_check_pvh(mem, k, klen, initrd_size);
	boot_setup_sregs(entry, &sregs);
	boot_setup_regs(entry, &regs);
	FZ_CHECK(regs.rip == entry->rip);
}

static void fz_boot(const uint8_t *hdr, const uint8_t *kernel, size_t klen)
{
	size_t cmdlen = (size_t)hdr[2] | (size_t)hdr[3] << 8;
	uint64_t initrd_size = (hdr[1] & 1) ? fz_le32(hdr + 4) : 0;
	struct boot_request req = { .kernel_path = env.kernel_path, .rsdp_addr = fz_le32(hdr + 8) };
	struct boot_cpu_state entry;
	struct guest_memory mem;
	char err[256];
	char *cmdline = NULL;
	int ret;

	fz_make_memory(&mem, hdr[0]);
	fz_fill_fd(env.kernel_fd, kernel, klen, 0);
	if (hdr[1] & 1) {
		fz_fill_fd(env.initrd_fd, NULL, 0, initrd_size);
		req.initrd_path = env.initrd_path;
	}
	if (!(hdr[1] & 2)) {
		cmdline = malloc(cmdlen + 1);
		if (!cmdline)
			__builtin_trap();
		memset(cmdline, 'x', cmdlen);
		cmdline[cmdlen] = '\0';
		req.cmdline = cmdline;
	}
	memset(err, 0, sizeof(err));
	ret = boot_load(&mem, &req, &entry, err, sizeof(err));
	FZ_CHECK(ret <= 0 && memchr(err, '\0', sizeof(err)));
	if (ret == 0)
		fz_check_loaded(&mem, &req, &entry, kernel, klen, initrd_size);
	else
		FZ_CHECK(err[0] != '\0');
	free(cmdline);
}

/* ---- the ACPI builder ---- */

static uint8_t fz_sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* A table at gpa lies inside what was written, is at least a header long, and sums to 0. */
static const uint8_t *fz_table(const uint8_t *buf, size_t used, uint64_t gpa, const char *sig)
{
	uint64_t off = gpa - LAYOUT_ACPI_START;
	uint32_t len;

	FZ_CHECK(gpa >= LAYOUT_ACPI_START && off < used && used - off >= 36);
	len = fz_le32(buf + off + 4);
	FZ_CHECK(len >= 36 && len <= used - off);
	FZ_CHECK(memcmp(buf + off, sig, 4) == 0 && fz_sum(buf + off, len) == 0);
	return buf + off;
}

static void fz_check_tables(const uint8_t *buf, size_t cap, size_t used,
			    const struct acpi_config *cfg)
{
	const uint8_t *xsdt, *fadt, *madt;

	FZ_CHECK(used <= cap && used >= 36);
	FZ_CHECK(memcmp(buf, "RSD PTR ", 8) == 0);
	FZ_CHECK(fz_sum(buf, 20) == 0 && fz_sum(buf, 36) == 0);
	xsdt = fz_table(buf, used, fz_le64(buf + 24), "XSDT");
	FZ_CHECK(fz_le32(xsdt + 4) == 36 + 2 * 8);
	fadt = fz_table(buf, used, fz_le64(xsdt + 36), "FACP");
	madt = fz_table(buf, used, fz_le64(xsdt + 44), "APIC");
	FZ_CHECK(fz_le32(madt + 4) == 44 + 8 * cfg->vcpus + 12);
	fz_table(buf, used, fz_le64(fadt + 140), "DSDT");
}

static void fz_devices(struct acpi_mmio_device *dev, unsigned n, const uint8_t *raw,
		       size_t rawlen)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		dev[i] = (struct acpi_mmio_device){ LAYOUT_VIRTIO_MMIO_BASE + i * LAYOUT_VIRTIO_MMIO_SIZE,
						    LAYOUT_VIRTIO_MMIO_SIZE,
						    LAYOUT_VIRTIO_GSI_BASE + i % 8 };
		if ((size_t)(i + 1) * FZ_DEV_REC <= rawlen) {
			dev[i].base = fz_le64(raw + i * FZ_DEV_REC);
			dev[i].size = fz_le32(raw + i * FZ_DEV_REC + 8);
			dev[i].gsi = fz_le32(raw + i * FZ_DEV_REC + 12);
		}
	}
}

static void fz_acpi(const uint8_t *hdr, const uint8_t *raw, size_t rawlen)
{
	struct acpi_mmio_device dev[256];
	struct acpi_config cfg = { .vcpus = hdr[12], .virtio = dev, .nvirtio = hdr[13] };
	size_t cap = fz_le32(hdr + 16) % (FZ_ACPI_MAX_CAP + 1), used = 0;
	uint8_t *buf = malloc(cap ? cap : 1);
	struct guest_memory mem;
	uint64_t rsdp = 0;
	int ret;

	if (!buf)
		__builtin_trap();
	fz_devices(dev, cfg.nvirtio, raw, rawlen);
	ret = acpi_build_tables(buf, cap, LAYOUT_ACPI_START, &cfg, &used);
	FZ_CHECK(ret == 0 || ret == -EINVAL || ret == -ENOSPC || ret == -E2BIG);
	if (ret == 0)
		fz_check_tables(buf, cap, used, &cfg);
	free(buf);
	fz_make_memory(&mem, hdr[0]);
	ret = acpi_build(&mem, &cfg, &rsdp);
	FZ_CHECK(ret != 0 || rsdp == LAYOUT_ACPI_START);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t rawlen;

	if (size < FZ_HDR)
		return 0;
	rawlen = (data[14] & 1) ? (size_t)data[13] * FZ_DEV_REC : 0;
	if (rawlen > size - FZ_HDR)
		rawlen = size - FZ_HDR;
	fz_acpi(data, data + FZ_HDR, rawlen);
	fz_boot(data, data + FZ_HDR + rawlen, size - FZ_HDR - rawlen);
	return 0;
}
