/* elf_pvh.c: load an ELF64 vmlinux at its physical addresses and start it through its PVH entry note. */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "boot_internal.h"

#define ELF_MAX_PHDRS 64U
#define ELF_MAX_NOTE_BYTES (1U << 20) /* vmlinux has ~500 bytes of notes */

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry layout");
_Static_assert(BOOT_PVH_MEMMAP_OFFSET + BOOT_E820_MAX * sizeof(struct hvm_memmap_table_entry) <=
		       LAYOUT_ZERO_PAGE_ADDR - LAYOUT_PVH_INFO_ADDR, "PVH structures fit their page");

struct elf_image {
	Elf64_Ehdr ehdr;
	Elf64_Phdr phdr[ELF_MAX_PHDRS];
	struct boot_range footprint; /* hull of the PT_LOAD segments */
	uint64_t entry;              /* 32-bit PVH entry point */
};

/* The file holds [off, off + len): written so that nothing can overflow. */
static int elf_in_file(const struct boot_ctx *ctx, uint64_t off, uint64_t len)
{
	return off <= ctx->file_size && ctx->file_size - off >= len;
}

static int elf_check_ehdr(struct boot_ctx *ctx, const uint8_t *head, size_t len,
			  struct elf_image *img)
{
	const Elf64_Ehdr *e = &img->ehdr;

	if (len < sizeof(*e))
		return boot_fail(ctx, -ENOEXEC, "ELF file truncated inside its header");
	memcpy(&img->ehdr, head, sizeof(*e));
	if (e->e_ident[EI_CLASS] != ELFCLASS64 || e->e_ident[EI_DATA] != ELFDATA2LSB ||
	    e->e_ident[EI_VERSION] != EV_CURRENT || e->e_version != EV_CURRENT)
		return boot_fail(ctx, -ENOEXEC, "not a little-endian ELF64 version 1 file");
	if (e->e_machine != EM_X86_64 || e->e_type != ET_EXEC)
		return boot_fail(ctx, -ENOEXEC, "ELF file is not an x86-64 executable");
	if (e->e_phentsize != sizeof(Elf64_Phdr) || e->e_phnum == 0 || e->e_phnum > ELF_MAX_PHDRS)
		return boot_fail(ctx, -ENOEXEC, "ELF program header table is malformed (%u x %u bytes)",
				 e->e_phnum, e->e_phentsize);
	if (!elf_in_file(ctx, e->e_phoff, (uint64_t)e->e_phnum * sizeof(Elf64_Phdr)))
		return boot_fail(ctx, -ENOEXEC, "ELF program headers lie beyond the end of the file");
	return 0;
}

static int elf_check_load(struct boot_ctx *ctx, unsigned i, const Elf64_Phdr *p)
{
	uint64_t low_end = gm_low_ram_end(ctx->mem);

	if (p->p_filesz > p->p_memsz)
		return boot_fail(ctx, -ENOEXEC, "ELF segment %u: p_filesz exceeds p_memsz", i);
	if (!elf_in_file(ctx, p->p_offset, p->p_filesz))
		return boot_fail(ctx, -ENOEXEC, "ELF segment %u: data lies beyond the end of the file", i);
	if (p->p_paddr < LAYOUT_HIMEM_START)
		return boot_fail(ctx, -ENOEXEC, "ELF segment %u at 0x%llx is below 1 MiB, where the boot "
				 "structures are", i, (unsigned long long)p->p_paddr);
	if (p->p_paddr >= low_end || low_end - p->p_paddr < p->p_memsz)
		return boot_fail(ctx, -E2BIG, "ELF segment %u at 0x%llx (+0x%llx) lies beyond RAM, which "
				 "ends at 0x%llx below 4 GiB", i, (unsigned long long)p->p_paddr,
				 (unsigned long long)p->p_memsz, (unsigned long long)low_end);
	return 0;
}

static int elf_check_segments(struct boot_ctx *ctx, struct elf_image *img)
{
	struct boot_range *hull = &img->footprint;
	unsigned i, loads = 0;
	int ret;

	hull->start = UINT64_MAX;
	hull->end = 0;
	for (i = 0; i < img->ehdr.e_phnum; i++) {
		const Elf64_Phdr *p = &img->phdr[i];

		if (p->p_type != PT_LOAD)
			continue;
		ret = elf_check_load(ctx, i, p);
		if (ret)
			return ret;
		if (p->p_paddr < hull->start)
			hull->start = p->p_paddr;
		if (p->p_paddr + p->p_memsz > hull->end)
			hull->end = p->p_paddr + p->p_memsz;
		loads++;
	}
	if (loads == 0)
		return boot_fail(ctx, -ENOEXEC, "ELF file has no PT_LOAD segment");
	return 0;
}

static uint64_t elf_align(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

/* 1: found the entry, 0: not in this note segment, <0: malformed. */
static int elf_scan_notes(struct boot_ctx *ctx, const uint8_t *buf, uint64_t len,
			  uint64_t align, uint64_t *entry)
{
	uint64_t off = 0, name, desc;
	Elf64_Nhdr nh;
	uint32_t v32;

	while (len - off >= sizeof(nh)) {
		memcpy(&nh, buf + off, sizeof(nh));
		name = off + sizeof(nh);
		desc = name + elf_align(nh.n_namesz, align);
		if (desc > len || len - desc < nh.n_descsz)
			return boot_fail(ctx, -ENOEXEC, "ELF note at offset %llu runs past its segment",
					 (unsigned long long)off);
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    memcmp(buf + name, "Xen", 4) == 0) {
			/* Linux emits the entry with _ASM_PTR (8 bytes); Xen's ABI says 4. */
			if (nh.n_descsz == 4) {
				memcpy(&v32, buf + desc, 4);
				*entry = v32;
			} else if (nh.n_descsz == 8) {
				memcpy(entry, buf + desc, 8);
			} else {
				return boot_fail(ctx, -ENOEXEC, "PVH entry note has %u bytes", nh.n_descsz);
			}
			return 1;
		}
		off = desc + elf_align(nh.n_descsz, align);
		if (off > len) /* the last note's padding may be cut off */
			off = len;
	}
	return 0;
}

static int elf_note_segment(struct boot_ctx *ctx, unsigned i, const Elf64_Phdr *p,
			    uint64_t *entry)
{
	uint8_t *buf;
	int ret;

	if (!elf_in_file(ctx, p->p_offset, p->p_filesz))
		return boot_fail(ctx, -ENOEXEC, "ELF note segment %u lies beyond the end of the file", i);
	if (p->p_filesz > ELF_MAX_NOTE_BYTES)
		return boot_fail(ctx, -ENOEXEC, "ELF note segment %u is implausibly large", i);
	buf = malloc(p->p_filesz ? p->p_filesz : 1);
	if (!buf)
		return boot_fail(ctx, -ENOMEM, "out of memory reading ELF notes");
	ret = boot_pread(ctx->fd, buf, p->p_filesz, p->p_offset);
	if (ret)
		ret = boot_fail(ctx, ret, "reading ELF notes: %s", strerror(-ret));
	else
		ret = elf_scan_notes(ctx, buf, p->p_filesz, p->p_align == 8 ? 8 : 4, entry);
	free(buf);
	return ret;
}

static int elf_entry_in_segment(const struct elf_image *img)
{
	unsigned i;

	for (i = 0; i < img->ehdr.e_phnum; i++) {
		const Elf64_Phdr *p = &img->phdr[i];

		if (p->p_type == PT_LOAD && img->entry >= p->p_paddr &&
		    img->entry - p->p_paddr < p->p_filesz)
			return 1;
	}
	return 0;
}

static int elf_find_entry(struct boot_ctx *ctx, struct elf_image *img)
{
	unsigned i;
	int ret = 0;

	for (i = 0; i < img->ehdr.e_phnum && ret == 0; i++)
		if (img->phdr[i].p_type == PT_NOTE)
			ret = elf_note_segment(ctx, i, &img->phdr[i], &img->entry);
	if (ret < 0)
		return ret;
	if (ret == 0)
		return boot_fail(ctx, -ENOEXEC, "ELF kernel has no PVH entry note "
				 "(XEN_ELFNOTE_PHYS32_ENTRY); build it with CONFIG_PVH=y");
	if (!elf_entry_in_segment(img))
		return boot_fail(ctx, -ENOEXEC, "PVH entry 0x%llx is outside the loaded segments",
				 (unsigned long long)img->entry);
	return 0;
}

static int elf_load_segments(struct boot_ctx *ctx, const struct elf_image *img)
{
	uint8_t *bss;
	unsigned i;
	int ret;

	for (i = 0; i < img->ehdr.e_phnum; i++) {
		const Elf64_Phdr *p = &img->phdr[i];

		if (p->p_type != PT_LOAD)
			continue;
		ret = boot_file_to_guest(ctx, ctx->fd, p->p_offset, p->p_paddr, p->p_filesz,
					 "ELF segment");
		if (ret)
			return ret;
		/* Checked against RAM in elf_check_load, so this translation succeeds. */
		bss = gm_translate(ctx->mem, p->p_paddr, p->p_memsz);
		if (!bss)
			return boot_fail(ctx, -E2BIG, "ELF segment %u is not inside guest RAM", i);
		memset(bss + p->p_filesz, 0, p->p_memsz - p->p_filesz);
	}
	return 0;
}

static int pvh_write_memmap(struct boot_ctx *ctx, struct hvm_start_info *si)
{
	struct hvm_memmap_table_entry mm[BOOT_E820_MAX];
	struct boot_e820_entry e820[BOOT_E820_MAX];
	unsigned i, n;
	int ret;

	ret = boot_e820_build(ctx->mem, e820, BOOT_E820_MAX, &n);
	if (ret)
		return boot_fail(ctx, ret, "too many memory map entries");
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < n; i++) {
		mm[i].addr = e820[i].addr;
		mm[i].size = e820[i].size;
		mm[i].type = e820[i].type;
	}
	si->memmap_paddr = LAYOUT_PVH_INFO_ADDR + BOOT_PVH_MEMMAP_OFFSET;
	si->memmap_entries = n;
	return gm_write(ctx->mem, si->memmap_paddr, mm, n * sizeof(mm[0]));
}

static int pvh_write_start_info(struct boot_ctx *ctx, const struct boot_initrd *initrd)
{
	struct hvm_start_info si = {
		.magic = XEN_HVM_START_MAGIC_VALUE,
		.version = 1,
		.cmdline_paddr = LAYOUT_CMDLINE_ADDR,
		.rsdp_paddr = ctx->req->rsdp_addr,
	};
	struct hvm_modlist_entry mod = { .paddr = initrd->gpa, .size = initrd->size };
	int ret;

	ret = pvh_write_memmap(ctx, &si);
	if (ret == 0 && initrd->size) {
		si.nr_modules = 1;
		si.modlist_paddr = LAYOUT_PVH_INFO_ADDR + BOOT_PVH_MODLIST_OFFSET;
		ret = gm_write(ctx->mem, si.modlist_paddr, &mod, sizeof(mod));
	}
	if (ret == 0)
		ret = gm_write(ctx->mem, LAYOUT_PVH_INFO_ADDR, &si, sizeof(si));
	if (ret == 0)
		ret = boot_write_gdt(ctx->mem, BOOT_ENTRY_PVH_32);
	if (ret)
		return boot_fail(ctx, ret, "no guest RAM below 1 MiB for the PVH start info and GDT");
	return 0;
}

static int elf_parse(struct boot_ctx *ctx, const uint8_t *head, size_t head_len,
		     struct elf_image *img)
{
	int ret = elf_check_ehdr(ctx, head, head_len, img);

	if (ret)
		return ret;
	ret = boot_pread(ctx->fd, img->phdr, img->ehdr.e_phnum * sizeof(Elf64_Phdr),
			 img->ehdr.e_phoff);
	if (ret)
		return boot_fail(ctx, ret, "reading ELF program headers: %s", strerror(-ret));
	ret = elf_check_segments(ctx, img);
	if (ret == 0)
		ret = elf_find_entry(ctx, img);
	return ret;
}

int boot_elf_load(struct boot_ctx *ctx, const uint8_t *head, size_t head_len,
		  struct boot_cpu_state *entry)
{
	struct boot_initrd initrd;
	struct elf_image img;
	int ret;

	/* Everything is checked before the first byte is copied into the guest. */
	ret = elf_parse(ctx, head, head_len, &img);
	if (ret == 0)
		ret = boot_write_cmdline(ctx, LAYOUT_CMDLINE_MAX - 1);
	if (ret == 0)
		ret = elf_load_segments(ctx, &img);
	if (ret == 0)
		ret = boot_load_initrd(ctx, gm_low_ram_end(ctx->mem), &img.footprint, &initrd);
	if (ret == 0)
		ret = pvh_write_start_info(ctx, &initrd);
	if (ret)
		return ret;
	entry->mode = BOOT_ENTRY_PVH_32;
	entry->rip = img.entry;
	entry->rbx = LAYOUT_PVH_INFO_ADDR;
	return 0;
}
