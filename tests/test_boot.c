/* test_boot.c: kernel loading (bzImage, PVH ELF), e820 map, initrd placement, GDT, page tables, entry state. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw */
#endif
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../boot/boot.h"
#include "../boot/boot_internal.h"
#include "../vmm/layout.h"
#include "../vmm/memory.h"

#define MIB (1ULL << 20)
#define GUEST_SIZE (64 * MIB)
#define REAL_KERNEL "/var/cache/microvm/kernel-6.1.0-57/boot/vmlinuz-6.1.0-57-amd64"

/* Synthetic bzImage: one setup sector after the boot sector, then an 8 KiB "kernel". */
#define BZ_SETUP 1024
#define BZ_PAYLOAD 8192
#define BZ_SIZE (BZ_SETUP + BZ_PAYLOAD)
#define BZ_PREF (16 * MIB)
#define BZ_HDR(field) (0x1f1 + offsetof(struct setup_header, field))

/* Synthetic vmlinux: ehdr, PT_LOAD + PT_NOTE, notes at 0x100, one page of text at 0x1000. */
#define ELF_NOTES 0x100
#define ELF_TEXT 0x1000
#define ELF_SIZE 0x2000
#define ELF_PADDR (2 * MIB)
#define ELF_ENTRY (ELF_PADDR + 0x10)
#define ELF_PH(i, field) (sizeof(Elf64_Ehdr) + (i) * sizeof(Elf64_Phdr) + offsetof(Elf64_Phdr, field))
#define ELF_PVH_NOTE (ELF_NOTES + 24 + 36) /* after a Xen "linux" note and a GNU build-id */

/*
 * Test guest code for both entries: eax = esi (64-bit; PVH patches it to ebx);
 * "48 83 c0 01" is add $1,%rax in 64-bit mode but dec+add (no change) in 32-bit mode,
 * so the value written to port 0x10 also proves the CPU mode; a store at 60 MiB proves
 * the address translation.
 */
static const uint8_t guest_code64[] = { 0x89, 0xf0, 0x48, 0x83, 0xc0, 0x01, 0xc7, 0x04, 0x25,
	0x00, 0x00, 0xc0, 0x03, 0x78, 0x56, 0x34, 0x12, 0x66, 0xba, 0x10, 0x00, 0xef, 0xf4 };
#define GUEST_STORE_ADDR 0x3c00000ULL

static char tmpdir[64];

static const char *tpath(const char *name)
{
	static char paths[4][128];
	static unsigned next;
	char *p = paths[next++ % 4];

	snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
	return p;
}

static const char *write_file(const char *name, const void *data, size_t len)
{
	const char *path = tpath(name);
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static const char *sparse_file(const char *name, uint64_t size)
{
	const char *path = tpath(name);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
	return path;
}

/* Page-aligned anonymous memory, so that KVM can map it too; gm_destroy unmaps it. */
static uint8_t *guest_new(struct guest_memory *mem, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	gm_init_from_buffer(mem, p, size);
	return p;
}

static void make_bzimage(uint8_t *buf)
{
	struct setup_header h;
	unsigned i;

	memset(buf, 0, BZ_SIZE);
	memset(&h, 0, sizeof(h));
	h.setup_sects = BZ_SETUP / 512 - 1;
	h.boot_flag = 0xaa55;
	h.jump = (uint16_t)(0xeb | ((0x1f1 + sizeof(h) - 0x202) << 8)); /* header ends at 0x268 */
	memcpy(&h.header, "HdrS", 4);
	h.version = 0x020f;
	h.loadflags = LOADED_HIGH;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h.cmdline_size = 2047;
	h.pref_address = BZ_PREF;
	h.init_size = (uint32_t)MIB;
	h.syssize = BZ_PAYLOAD / 16;
	memcpy(buf + 0x1f1, &h, sizeof(h));
	for (i = 0; i < BZ_PAYLOAD; i++)
		buf[BZ_SETUP + i] = (uint8_t)(i * 13 + 5);
	memcpy(buf + BZ_SETUP + 0x200, guest_code64, sizeof(guest_code64));
}

static void put_note(uint8_t *p, const char *name, uint32_t type, const void *desc, uint32_t dlen)
{
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = dlen, .n_type = type };

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + sizeof(nh), name, 4);
	memcpy(p + sizeof(nh) + 4, desc, dlen);
}

static void make_elf(uint8_t *buf)
{
	Elf64_Ehdr e = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			 .e_entry = ELF_PADDR, .e_phoff = sizeof(Elf64_Ehdr),
			 .e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 2 };
	Elf64_Phdr ph[2] = {
		{ .p_type = PT_LOAD, .p_offset = ELF_TEXT, .p_vaddr = 0xffffffff80000000ULL + ELF_PADDR,
		  .p_paddr = ELF_PADDR, .p_filesz = 0x1000, .p_memsz = 0x3000, .p_align = 0x1000 },
		{ .p_type = PT_NOTE, .p_offset = ELF_NOTES, .p_filesz = 24 + 36 + 24, .p_align = 4 },
	};
	uint64_t entry = ELF_ENTRY;
	uint8_t build_id[20];

	memset(buf, 0, ELF_SIZE);
	memcpy(e.e_ident, ELFMAG, SELFMAG);
	e.e_ident[EI_CLASS] = ELFCLASS64;
	e.e_ident[EI_DATA] = ELFDATA2LSB;
	e.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(buf, &e, sizeof(e));
	memcpy(buf + sizeof(e), ph, sizeof(ph));
	memset(build_id, 0xab, sizeof(build_id));
	put_note(buf + ELF_NOTES, "Xen", 6, "linux", 6); /* 12 + 4 + 8 = 24 bytes */
	put_note(buf + ELF_NOTES + 24, "GNU", 3, build_id, sizeof(build_id)); /* 36 bytes */
	put_note(buf + ELF_PVH_NOTE, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry, 8);
	memset(buf + ELF_TEXT, 0x90, 0x1000);
	memcpy(buf + ELF_TEXT + 0x10, guest_code64, sizeof(guest_code64));
	buf[ELF_TEXT + 0x10 + 1] = 0xd8; /* mov %ebx,%eax: PVH passes the start info in ebx */
}

static int load(struct guest_memory *mem, const char *kernel, const char *initrd,
		const char *cmdline, struct boot_cpu_state *entry, char *err)
{
	struct boot_request req = { .kernel_path = kernel, .initrd_path = initrd,
				    .cmdline = cmdline, .rsdp_addr = LAYOUT_ACPI_START };

	return boot_load(mem, &req, entry, err, 256);
}

static void check_e820_small(const struct boot_e820_entry *m, unsigned n, uint64_t ram)
{
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(m[0].addr, 0);
	ck_assert_uint_eq(m[0].size, LAYOUT_EBDA_START);
	ck_assert_uint_eq(m[0].type, BOOT_E820_RAM);
	ck_assert_uint_eq(m[1].addr, LAYOUT_EBDA_START);
	ck_assert_uint_eq(m[1].size, MIB - LAYOUT_EBDA_START);
	ck_assert_uint_eq(m[1].type, BOOT_E820_RESERVED);
	ck_assert_uint_eq(m[2].addr, MIB);
	ck_assert_uint_eq(m[2].size, ram - MIB);
	ck_assert_uint_eq(m[2].type, BOOT_E820_RAM);
}

START_TEST(e820_small_ram)
{
	struct boot_e820_entry map[BOOT_E820_MAX];
	struct guest_memory mem;
	unsigned n;

	guest_new(&mem, GUEST_SIZE);
	ck_assert_int_eq(boot_e820_build(&mem, map, BOOT_E820_MAX, &n), 0);
	check_e820_small(map, n, GUEST_SIZE);
	ck_assert_int_eq(boot_e820_build(&mem, map, 2, &n), -E2BIG);
	gm_destroy(&mem);
}
END_TEST

START_TEST(e820_ram_above_4g)
{
	static uint8_t dummy[16]; /* the map reads only gpa and size */
	struct guest_memory mem = { .nregions = 2 };
	struct boot_e820_entry map[BOOT_E820_MAX];
	unsigned n;

	/* Regions listed high first: the map must still come out sorted. */
	mem.region[0] = (struct guest_region){ LAYOUT_MMIO_HOLE_END, 2ULL << 30, dummy };
	mem.region[1] = (struct guest_region){ 0, LAYOUT_MMIO_HOLE_START, dummy };
	ck_assert_int_eq(boot_e820_build(&mem, map, BOOT_E820_MAX, &n), 0);
	ck_assert_uint_eq(n, 4);
	check_e820_small(map, 3, LAYOUT_MMIO_HOLE_START);
	ck_assert_uint_eq(map[3].addr, 4ULL << 30);
	ck_assert_uint_eq(map[3].size, 2ULL << 30);
	ck_assert_uint_eq(map[3].type, BOOT_E820_RAM);
}
END_TEST

/* Walk the guest's 4-level tables like the MMU: 2 MiB pages expected at the PD level. */
static uint64_t walk(const uint8_t *g, uint64_t va)
{
	const uint64_t mask = 0x000ffffffffff000ULL;
	uint64_t pml4e, pdpte, pde;

	memcpy(&pml4e, g + LAYOUT_PML4_ADDR + ((va >> 39) & 511) * 8, 8);
	if (!(pml4e & 1))
		return UINT64_MAX;
	memcpy(&pdpte, g + (pml4e & mask) + ((va >> 30) & 511) * 8, 8);
	if (!(pdpte & 1) || (pdpte & 0x80))
		return UINT64_MAX;
	memcpy(&pde, g + (pdpte & mask) + ((va >> 21) & 511) * 8, 8);
	if ((pde & 0x83) != 0x83)
		return UINT64_MAX;
	return (pde & mask & ~0x1fffffULL) | (va & 0x1fffff);
}

START_TEST(page_tables_identity_map_4g)
{
	struct guest_memory mem, tiny;
	uint64_t e, va;
	uint8_t *g = guest_new(&mem, GUEST_SIZE);

	memset(g + LAYOUT_PML4_ADDR, 0xff, 0x7000); /* stale data must be cleared */
	ck_assert_int_eq(boot_write_page_tables(&mem), 0);
	memcpy(&e, g + LAYOUT_PML4_ADDR, 8);
	ck_assert_uint_eq(e, LAYOUT_PDPT_ADDR | 3);
	memcpy(&e, g + LAYOUT_PML4_ADDR + 8, 8);
	ck_assert_uint_eq(e, 0);
	memcpy(&e, g + LAYOUT_PDPT_ADDR + 3 * 8, 8);
	ck_assert_uint_eq(e, (LAYOUT_PD_ADDR + 0x3000) | 3);
	memcpy(&e, g + LAYOUT_PDPT_ADDR + 4 * 8, 8);
	ck_assert_uint_eq(e, 0); /* nothing above 4 GiB */
	memcpy(&e, g + LAYOUT_PD_ADDR, 8);
	ck_assert_uint_eq(e, 0x83); /* present, writable, 2 MiB */
	memcpy(&e, g + LAYOUT_PD_ADDR + 2047 * 8, 8);
	ck_assert_uint_eq(e, 0xffe00000ULL | 0x83);
	for (va = 0; va < (4ULL << 30); va += 0x3ffff001ULL)
		ck_assert_uint_eq(walk(g, va), va);
	ck_assert_uint_eq(walk(g, 0xffffffffULL), 0xffffffffULL);
	ck_assert_uint_eq(walk(g, 4ULL << 30), UINT64_MAX);
	guest_new(&tiny, 0x8000);
	ck_assert_int_eq(boot_write_page_tables(&tiny), -EFAULT);
	gm_destroy(&tiny);
	gm_destroy(&mem);
}
END_TEST

START_TEST(gdt_entries_per_mode)
{
	struct guest_memory mem;
	uint64_t gdt[BOOT_GDT_ENTRIES], idt;
	uint8_t *g = guest_new(&mem, GUEST_SIZE);

	ck_assert_int_eq(boot_write_gdt(&mem, BOOT_ENTRY_LONG_MODE_64), 0);
	memcpy(gdt, g + LAYOUT_GDT_ADDR, sizeof(gdt));
	ck_assert_uint_eq(gdt[0], 0);
	ck_assert_uint_eq(gdt[1], 0);
	ck_assert_uint_eq(gdt[2], 0x00af9b000000ffffULL); /* 64-bit code, selector 0x10 */
	ck_assert_uint_eq(gdt[3], 0x00cf93000000ffffULL); /* flat data, selector 0x18 */
	memcpy(&idt, g + LAYOUT_IDT_ADDR, 8);
	ck_assert_uint_eq(idt, 0);
	ck_assert_int_eq(boot_write_gdt(&mem, BOOT_ENTRY_PVH_32), 0);
	memcpy(gdt, g + LAYOUT_GDT_ADDR, sizeof(gdt));
	ck_assert_uint_eq(gdt[2], 0x00cf9b000000ffffULL); /* 32-bit code */
	ck_assert_uint_eq(gdt[3], 0x00cf93000000ffffULL);
	gm_destroy(&mem);
}
END_TEST

static void check_flat(const struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	ck_assert_uint_eq(s->selector, sel);
	ck_assert_uint_eq(s->base, 0);
	ck_assert_uint_eq(s->limit, 0xffffffffU);
	ck_assert_uint_eq(s->type, type);
	ck_assert_uint_eq(s->present, 1);
	ck_assert_uint_eq(s->s, 1);
	ck_assert_uint_eq(s->dpl, 0);
	ck_assert_uint_eq(s->g, 1);
	ck_assert_uint_eq(s->unusable, 0);
}

START_TEST(sregs_long_mode)
{
	struct boot_cpu_state entry = { .mode = BOOT_ENTRY_LONG_MODE_64 };
	struct kvm_sregs s;

	memset(&s, 0x5a, sizeof(s));
	s.apic_base = 0xfee00900;
	boot_setup_sregs(&entry, &s);
	ck_assert_uint_eq(s.cr0, 0x80000011ULL); /* PG | ET | PE */
	ck_assert_uint_eq(s.cr4, 0x20);         /* PAE */
	ck_assert_uint_eq(s.cr3, LAYOUT_PML4_ADDR);
	ck_assert_uint_eq(s.efer, 0x500);       /* LMA | LME */
	check_flat(&s.cs, 0x10, 11);
	ck_assert_uint_eq(s.cs.l, 1);
	ck_assert_uint_eq(s.cs.db, 0);
	check_flat(&s.ds, 0x18, 3);
	check_flat(&s.ss, 0x18, 3);
	check_flat(&s.es, 0x18, 3);
	ck_assert_uint_eq(s.ds.db, 1);
	ck_assert_uint_eq(s.tr.present, 1);
	ck_assert_uint_eq(s.tr.type, 11);
	ck_assert_uint_eq(s.gdt.base, LAYOUT_GDT_ADDR);
	ck_assert_uint_eq(s.gdt.limit, 31);
	ck_assert_uint_eq(s.idt.base, LAYOUT_IDT_ADDR);
	ck_assert_uint_eq(s.apic_base, 0xfee00900); /* untouched */
}
END_TEST

START_TEST(sregs_and_regs_pvh)
{
	struct boot_cpu_state entry = { .mode = BOOT_ENTRY_PVH_32, .rip = 0x1000850,
					.rbx = LAYOUT_PVH_INFO_ADDR, .rsp = 0x8ff0 };
	struct kvm_sregs s;
	struct kvm_regs r;

	memset(&s, 0x5a, sizeof(s));
	boot_setup_sregs(&entry, &s);
	ck_assert_uint_eq(s.cr0, 1); /* PE only, paging off */
	ck_assert_uint_eq(s.cr4, 0);
	ck_assert_uint_eq(s.efer, 0);
	check_flat(&s.cs, 0x10, 11);
	ck_assert_uint_eq(s.cs.l, 0);
	ck_assert_uint_eq(s.cs.db, 1);
	check_flat(&s.ds, 0x18, 3);
	ck_assert_uint_eq(s.tr.limit, 0x67);
	memset(&r, 0x5a, sizeof(r));
	boot_setup_regs(&entry, &r);
	ck_assert_uint_eq(r.rflags, 2);
	ck_assert_uint_eq(r.rip, 0x1000850);
	ck_assert_uint_eq(r.rbx, LAYOUT_PVH_INFO_ADDR);
	ck_assert_uint_eq(r.rsp, 0x8ff0);
	ck_assert_uint_eq(r.rsi, 0);
	ck_assert_uint_eq(r.rax, 0);
}
END_TEST

START_TEST(initrd_addr_rule)
{
	struct boot_range k = { BZ_PREF, BZ_PREF + MIB };
	uint64_t gpa = 0;

	ck_assert_int_eq(boot_initrd_addr(5000, GUEST_SIZE, &k, &gpa), 0);
	ck_assert_uint_eq(gpa, GUEST_SIZE - 0x2000); /* page-aligned, ends below the limit */
	ck_assert_int_eq(boot_initrd_addr(0x4000, BZ_PREF + MIB + 0x3000, &k, &gpa), 0);
	ck_assert_uint_eq(gpa, BZ_PREF - 0x4000);   /* top would overlap the kernel: go below */
	ck_assert_int_eq(boot_initrd_addr(15 * MIB, GUEST_SIZE, &k, &gpa), 0);
	ck_assert_uint_eq(gpa, GUEST_SIZE - 15 * MIB);
	ck_assert_int_eq(boot_initrd_addr(60 * MIB, GUEST_SIZE, &k, &gpa), -E2BIG);
	ck_assert_int_eq(boot_initrd_addr(80 * MIB, GUEST_SIZE, &k, &gpa), -E2BIG);
	ck_assert_int_eq(boot_initrd_addr(0x1000, 0x1000, &k, &gpa), -E2BIG); /* below 1 MiB */
}
END_TEST

static const struct boot_params *zero_page(const uint8_t *g)
{
	return (const struct boot_params *)(g + LAYOUT_ZERO_PAGE_ADDR);
}

START_TEST(bzimage_synthetic)
{
	static uint8_t img[BZ_SIZE], rd[5000];
	const char *cmdline = "console=ttyS0 panic=-1";
	struct boot_cpu_state entry;
	struct guest_memory mem;
	char err[256];
	uint8_t *g = guest_new(&mem, GUEST_SIZE);
	const struct boot_params *bp = zero_page(g);
	uint64_t rd_gpa = GUEST_SIZE - 0x2000;

	make_bzimage(img);
	memset(rd, 0xc7, sizeof(rd));
	ck_assert_int_eq(load(&mem, write_file("bz", img, sizeof(img)),
			      write_file("rd", rd, sizeof(rd)), cmdline, &entry, err), 0);
	ck_assert_int_eq(entry.mode, BOOT_ENTRY_LONG_MODE_64);
	ck_assert_uint_eq(entry.rip, BZ_PREF + 0x200);
	ck_assert_uint_eq(entry.rsi, LAYOUT_ZERO_PAGE_ADDR);
	ck_assert_uint_eq(entry.rsp, LAYOUT_BOOT_STACK_ADDR);
	ck_assert_mem_eq(g + BZ_PREF, img + BZ_SETUP, BZ_PAYLOAD);
	ck_assert_mem_eq(&bp->hdr.header, "HdrS", 4);
	ck_assert_uint_eq(bp->hdr.version, 0x20f);
	ck_assert_uint_eq(bp->hdr.type_of_loader, 0xff);
	ck_assert_uint_eq(bp->hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP);
	ck_assert_uint_eq(bp->hdr.heap_end_ptr, 0xde00);
	ck_assert_uint_eq(bp->hdr.code32_start, BZ_PREF);
	ck_assert_uint_eq(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE_ADDR);
	ck_assert_str_eq((const char *)g + LAYOUT_CMDLINE_ADDR, cmdline);
	ck_assert_uint_eq(bp->hdr.ramdisk_image, rd_gpa);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, sizeof(rd));
	ck_assert_uint_eq(bp->ext_ramdisk_image | bp->ext_ramdisk_size | bp->ext_cmd_line_ptr, 0);
	ck_assert_mem_eq(g + rd_gpa, rd, sizeof(rd));
	ck_assert_uint_eq(bp->acpi_rsdp_addr, LAYOUT_ACPI_START);
	ck_assert_uint_eq(bp->hdr.setup_data, 0);
	ck_assert_uint_eq(bp->sentinel, 0);
	ck_assert_uint_eq(bp->e820_entries, 3);
	check_e820_small(bp->e820_table, bp->e820_entries, GUEST_SIZE);
	ck_assert_uint_eq(walk(g, entry.rip), entry.rip); /* page tables were written too */
	gm_destroy(&mem);
}
END_TEST

/* A patch of the synthetic image or a truncation, and what boot_load must answer. */
struct mutation {
	const char *what;
	size_t off;
	unsigned width; /* 0: truncate the file to off bytes */
	uint64_t value;
	int expect;
};

static void apply(uint8_t *img, size_t *len, const struct mutation *m)
{
	if (m->width == 0)
		*len = m->off;
	else
		memcpy(img + m->off, &m->value, m->width);
}

static const struct mutation bz_mutations[] = {
	{ "bad boot_flag", BZ_HDR(boot_flag), 2, 0, -ENOEXEC },
	{ "protocol 2.11", BZ_HDR(version), 2, 0x020b, -ENOEXEC },
	{ "no XLF_KERNEL_64", BZ_HDR(xloadflags), 2, 0, -ENOEXEC },
	{ "zImage", BZ_HDR(loadflags), 1, 0, -ENOEXEC },
	{ "header truncated", 0x210, 0, 0, -ENOEXEC },
	{ "setup truncated", 0x300, 0, 0, -ENOEXEC },
	{ "payload truncated", BZ_SETUP + 0x1000, 0, 0, -ENOEXEC },
	{ "pref_address low", BZ_HDR(pref_address), 8, 0x1000, -ENOEXEC },
	{ "pref_address huge", BZ_HDR(pref_address), 8, 0xfffffffffffff000ULL, -ENOEXEC },
	{ "kernel_alignment 3", BZ_HDR(kernel_alignment), 4, 3, -ENOEXEC },
	{ "init_size beyond RAM", BZ_HDR(init_size), 4, 64 * MIB, -E2BIG },
	{ "runs beyond RAM", BZ_HDR(pref_address), 8, 63 * MIB, -E2BIG },
	{ "initrd_addr_max tiny", BZ_HDR(initrd_addr_max), 4, 0xfffff, -E2BIG },
	{ "cmdline_size short", BZ_HDR(cmdline_size), 4, 5, -E2BIG },
};

START_TEST(bzimage_rejects)
{
	static uint8_t img[BZ_SIZE], rd[64];
	const struct mutation *m = &bz_mutations[_i];
	struct boot_cpu_state entry;
	struct guest_memory mem;
	size_t len = sizeof(img);
	char err[256];

	guest_new(&mem, GUEST_SIZE);
	make_bzimage(img);
	apply(img, &len, m);
	ck_assert_msg(load(&mem, write_file("bz", img, len), write_file("rd", rd, sizeof(rd)),
			   "console=ttyS0", &entry, err) == m->expect, "%s", m->what);
	ck_assert_msg(err[0] != '\0', "%s: no message", m->what);
	gm_destroy(&mem);
}
END_TEST

START_TEST(bzimage_initrd_placement)
{
	static uint8_t img[BZ_SIZE], rd[0x4000];
	uint32_t max = (uint32_t)(BZ_PREF + MIB + 0x3000 - 1);
	struct boot_cpu_state entry;
	struct guest_memory mem;
	char err[256];
	uint8_t *g = guest_new(&mem, GUEST_SIZE);

	make_bzimage(img);
	memcpy(img + BZ_HDR(initrd_addr_max), &max, 4);
	ck_assert_int_eq(load(&mem, write_file("bz", img, sizeof(img)), write_file("rd", rd,
			 sizeof(rd)), "", &entry, err), 0);
	/* Top of [1 MiB, initrd_addr_max] overlaps the kernel's init_size: placed below it. */
	ck_assert_uint_eq(zero_page(g)->hdr.ramdisk_image, BZ_PREF - sizeof(rd));
	max = 48 * MIB - 1;
	memcpy(img + BZ_HDR(initrd_addr_max), &max, 4);
	ck_assert_int_eq(load(&mem, write_file("bz", img, sizeof(img)), tpath("rd"), "", &entry,
			      err), 0);
	ck_assert_uint_eq(zero_page(g)->hdr.ramdisk_image, 48 * MIB - sizeof(rd));
	make_bzimage(img);
	ck_assert_int_eq(load(&mem, write_file("bz", img, sizeof(img)),
			      sparse_file("big", 70 * MIB), "", &entry, err), -E2BIG);
	ck_assert_int_eq(load(&mem, tpath("bz"), sparse_file("big", 60 * MIB), "", &entry, err),
			 -E2BIG);
	ck_assert_int_eq(load(&mem, tpath("bz"), tpath("missing"), "", &entry, err), -ENOENT);
	ck_assert_int_eq(load(&mem, tpath("bz"), tmpdir, "", &entry, err), -EINVAL);
	gm_destroy(&mem);
}
END_TEST

START_TEST(bzimage_cmdline_and_rsdp_limits)
{
	static uint8_t img[BZ_SIZE];
	static char longline[3000];
	uint16_t v = 0x020d; /* 2.13: no acpi_rsdp_addr field yet */
	struct boot_cpu_state entry;
	struct guest_memory mem;
	char err[256];
	uint8_t *g = guest_new(&mem, GUEST_SIZE);

	make_bzimage(img);
	memset(longline, 'x', sizeof(longline) - 1);
	ck_assert_int_eq(load(&mem, write_file("bz", img, sizeof(img)), NULL, longline, &entry,
			      err), -E2BIG);
	ck_assert_ptr_nonnull(strstr(err, "command line"));
	longline[2047] = '\0'; /* exactly cmdline_size */
	ck_assert_int_eq(load(&mem, tpath("bz"), NULL, longline, &entry, err), 0);
	ck_assert_uint_eq(zero_page(g)->hdr.ramdisk_image, 0);
	ck_assert_uint_eq(zero_page(g)->acpi_rsdp_addr, LAYOUT_ACPI_START);
	memcpy(img + BZ_HDR(version), &v, 2);
	ck_assert_int_eq(load(&mem, write_file("bz", img, sizeof(img)), NULL, NULL, &entry, err), 0);
	ck_assert_uint_eq(zero_page(g)->acpi_rsdp_addr, 0);
	ck_assert_uint_eq(g[LAYOUT_CMDLINE_ADDR], 0);
	gm_destroy(&mem);
}
END_TEST

START_TEST(not_a_kernel)
{
	struct boot_cpu_state entry;
	struct guest_memory mem;
	char err[256];

	guest_new(&mem, GUEST_SIZE);
	ck_assert_int_eq(load(&mem, write_file("text", "hello, world\n", 13), NULL, "", &entry,
			      err), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "neither"));
	ck_assert_int_eq(load(&mem, write_file("empty", "", 0), NULL, "", &entry, err), -ENOEXEC);
	ck_assert_int_eq(load(&mem, tmpdir, NULL, "", &entry, err), -ENOEXEC);
	ck_assert_int_eq(load(&mem, tpath("absent"), NULL, "", &entry, err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "absent"));
	gm_destroy(&mem);
}
END_TEST

START_TEST(elf_pvh_synthetic)
{
	static uint8_t img[ELF_SIZE], rd[0x3000];
	struct hvm_memmap_table_entry mm[3];
	struct hvm_modlist_entry mod;
	struct hvm_start_info si;
	struct boot_cpu_state entry;
	struct guest_memory mem;
	uint64_t gdt2;
	char err[256];
	uint8_t *g = guest_new(&mem, GUEST_SIZE);

	make_elf(img);
	memset(g + ELF_PADDR, 0xaa, 0x3000); /* the bss part must be zeroed */
	memset(rd, 0x3c, sizeof(rd));
	ck_assert_int_eq(load(&mem, write_file("elf", img, sizeof(img)),
			      write_file("rd", rd, sizeof(rd)), "root=/dev/ram0", &entry, err), 0);
	ck_assert_int_eq(entry.mode, BOOT_ENTRY_PVH_32);
	ck_assert_uint_eq(entry.rip, ELF_ENTRY);
	ck_assert_uint_eq(entry.rbx, LAYOUT_PVH_INFO_ADDR);
	ck_assert_mem_eq(g + ELF_PADDR, img + ELF_TEXT, 0x1000);
	ck_assert_uint_eq(g[ELF_PADDR + 0x1000], 0);
	ck_assert_uint_eq(g[ELF_PADDR + 0x2fff], 0);
	memcpy(&si, g + LAYOUT_PVH_INFO_ADDR, sizeof(si));
	ck_assert_uint_eq(si.magic, 0x336ec578);
	ck_assert_uint_eq(si.version, 1);
	ck_assert_uint_eq(si.cmdline_paddr, LAYOUT_CMDLINE_ADDR);
	ck_assert_str_eq((const char *)g + LAYOUT_CMDLINE_ADDR, "root=/dev/ram0");
	ck_assert_uint_eq(si.rsdp_paddr, LAYOUT_ACPI_START);
	ck_assert_uint_eq(si.nr_modules, 1);
	memcpy(&mod, g + si.modlist_paddr, sizeof(mod));
	ck_assert_uint_eq(mod.paddr, GUEST_SIZE - sizeof(rd));
	ck_assert_uint_eq(mod.size, sizeof(rd));
	ck_assert_mem_eq(g + mod.paddr, rd, sizeof(rd));
	ck_assert_uint_eq(si.memmap_entries, 3);
	memcpy(mm, g + si.memmap_paddr, sizeof(mm));
	ck_assert_uint_eq(mm[1].addr, LAYOUT_EBDA_START);
	ck_assert_uint_eq(mm[1].type, BOOT_E820_RESERVED);
	ck_assert_uint_eq(mm[2].addr + mm[2].size, GUEST_SIZE);
	ck_assert_uint_eq(mm[2].type, BOOT_E820_RAM);
	memcpy(&gdt2, g + LAYOUT_GDT_ADDR + 16, 8);
	ck_assert_uint_eq(gdt2, 0x00cf9b000000ffffULL);
	gm_destroy(&mem);
}
END_TEST

static const struct mutation elf_mutations[] = {
	{ "truncated ehdr", 40, 0, 0, -ENOEXEC },
	{ "ELFCLASS32", EI_CLASS, 1, ELFCLASS32, -ENOEXEC },
	{ "i386", offsetof(Elf64_Ehdr, e_machine), 2, EM_386, -ENOEXEC },
	{ "ET_DYN", offsetof(Elf64_Ehdr, e_type), 2, ET_DYN, -ENOEXEC },
	{ "phoff beyond file", offsetof(Elf64_Ehdr, e_phoff), 8, ELF_SIZE - 8, -ENOEXEC },
	{ "phoff overflow", offsetof(Elf64_Ehdr, e_phoff), 8, UINT64_MAX - 8, -ENOEXEC },
	{ "phnum huge", offsetof(Elf64_Ehdr, e_phnum), 2, 0xffff, -ENOEXEC },
	{ "phentsize", offsetof(Elf64_Ehdr, e_phentsize), 2, 32, -ENOEXEC },
	{ "segment past EOF", ELF_PH(0, p_offset), 8, ELF_SIZE - 0x800, -ENOEXEC },
	{ "segment offset overflow", ELF_PH(0, p_offset), 8, UINT64_MAX - 0x10, -ENOEXEC },
	{ "filesz > memsz", ELF_PH(0, p_memsz), 8, 0x800, -ENOEXEC },
	{ "segment below 1 MiB", ELF_PH(0, p_paddr), 8, 0x8000, -ENOEXEC },
	{ "segment beyond RAM", ELF_PH(0, p_paddr), 8, GUEST_SIZE - 0x1000, -E2BIG },
	{ "segment paddr overflow", ELF_PH(0, p_paddr), 8, UINT64_MAX - 0xfff, -E2BIG },
	{ "memsz huge", ELF_PH(0, p_memsz), 8, UINT64_MAX, -E2BIG },
	{ "no PT_LOAD", ELF_PH(0, p_type), 4, PT_NULL, -ENOEXEC },
	{ "notes past EOF", ELF_PH(1, p_offset), 8, ELF_SIZE - 8, -ENOEXEC },
	{ "notes huge", ELF_PH(1, p_filesz), 8, UINT64_MAX, -ENOEXEC },
	{ "note namesz huge", ELF_NOTES, 4, 0xfffffff0U, -ENOEXEC },
	{ "note descsz huge", ELF_NOTES + 4, 4, 0xffffffffU, -ENOEXEC },
	{ "no PVH note", ELF_PVH_NOTE + 8, 4, 19, -ENOEXEC },
	{ "PVH note 2 bytes", ELF_PVH_NOTE + 4, 4, 2, -ENOEXEC },
	{ "entry outside segments", ELF_PVH_NOTE + 16, 8, 0x900000, -ENOEXEC },
	{ "entry in bss", ELF_PVH_NOTE + 16, 8, ELF_PADDR + 0x2000, -ENOEXEC },
};

START_TEST(elf_rejects_hostile)
{
	static uint8_t img[ELF_SIZE];
	const struct mutation *m = &elf_mutations[_i];
	struct boot_cpu_state entry;
	struct guest_memory mem;
	size_t len = sizeof(img);
	char err[256];
	uint8_t *g = guest_new(&mem, GUEST_SIZE);

	make_elf(img);
	apply(img, &len, m);
	ck_assert_msg(load(&mem, write_file("elf", img, len), NULL, "x", &entry, err) == m->expect,
		      "%s: %s", m->what, err);
	ck_assert_msg(err[0] != '\0', "%s: no message", m->what);
	/* Everything is validated before the guest is written. */
	ck_assert_uint_eq(g[ELF_PADDR + 0x10], 0);
	ck_assert_uint_eq(g[LAYOUT_CMDLINE_ADDR], 0);
	gm_destroy(&mem);
}
END_TEST

START_TEST(real_bzimage)
{
	static uint8_t expect[4096];
	struct boot_cpu_state entry;
	struct guest_memory mem;
	const struct boot_params *bp;
	uint64_t setup;
	char err[256];
	uint8_t *g;
	FILE *f;

	if (access(REAL_KERNEL, R_OK) != 0) {
		fprintf(stderr, "SKIP real_bzimage: %s not present\n", REAL_KERNEL);
		return;
	}
	g = guest_new(&mem, GUEST_SIZE);
	/* Debian's init_size (~64 MiB) from 16 MiB does not fit in 64 MiB. */
	ck_assert_int_eq(load(&mem, REAL_KERNEL, NULL, "", &entry, err), -E2BIG);
	ck_assert_ptr_nonnull(strstr(err, "init_size"));
	gm_destroy(&mem);
	g = guest_new(&mem, 256 * MIB);
	bp = zero_page(g);
	ck_assert_int_eq(load(&mem, REAL_KERNEL, sparse_file("rd", MIB), "console=ttyS0", &entry,
			      err), 0);
	ck_assert_uint_ge(bp->hdr.version, 0x20c);
	ck_assert_uint_eq(entry.rip, bp->hdr.pref_address + 0x200);
	ck_assert_uint_eq(bp->hdr.ramdisk_image, 255 * MIB);
	ck_assert_uint_ge(bp->hdr.ramdisk_image, bp->hdr.pref_address + bp->hdr.init_size);
	ck_assert_uint_eq(bp->e820_entries, 3);
	setup = ((uint64_t)(bp->hdr.setup_sects ? bp->hdr.setup_sects : 4) + 1) * 512;
	f = fopen(REAL_KERNEL, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, (long)setup, SEEK_SET), 0);
	ck_assert_uint_eq(fread(expect, 1, sizeof(expect), f), sizeof(expect));
	fclose(f);
	ck_assert_mem_eq(g + bp->hdr.pref_address, expect, sizeof(expect));
	gm_destroy(&mem);
}
END_TEST

/* Run the loaded guest on KVM until its first port write; 1 when KVM is unavailable. */
static int kvm_first_out(struct guest_memory *mem, const struct boot_cpu_state *entry,
			 uint32_t *value)
{
	struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[128]; } cpuid = { .c.nent = 128 };
	struct kvm_userspace_memory_region region = { .memory_size = mem->region[0].size,
		.userspace_addr = (uintptr_t)mem->region[0].host };
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, vcpu;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;

	if (kvm < 0)
		return 1;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		close(kvm);
		return 1;
	}
	ck_assert_int_eq(ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL), 0);
	ck_assert_int_eq(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region), 0);
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	ck_assert_int_ge(vcpu, 0);
	run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
		   MAP_SHARED, vcpu, 0);
	ck_assert_ptr_ne(run, MAP_FAILED);
	/* KVM refuses EFER.LME unless the guest CPUID has long mode. */
	ck_assert_int_eq(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid), 0);
	ck_assert_int_eq(ioctl(vcpu, KVM_SET_CPUID2, &cpuid), 0);
	ck_assert_int_eq(ioctl(vcpu, KVM_GET_SREGS, &sregs), 0);
	boot_setup_sregs(entry, &sregs);
	ck_assert_int_eq(ioctl(vcpu, KVM_SET_SREGS, &sregs), 0);
	boot_setup_regs(entry, &regs);
	ck_assert_int_eq(ioctl(vcpu, KVM_SET_REGS, &regs), 0);
	ck_assert_int_eq(ioctl(vcpu, KVM_RUN, 0), 0);
	ck_assert_uint_eq(run->exit_reason, KVM_EXIT_IO);
	ck_assert_uint_eq(run->io.port, 0x10);
	ck_assert_uint_eq(run->io.size, 4);
	memcpy(value, (uint8_t *)run + run->io.data_offset, 4);
	munmap(run, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0));
	close(vcpu);
	close(vm);
	close(kvm);
	return 0;
}

START_TEST(kvm_runs_both_entries)
{
	static uint8_t bz[BZ_SIZE], elf[ELF_SIZE];
	struct boot_cpu_state entry;
	struct guest_memory mem;
	uint32_t value = 0, stored;
	char err[256];
	uint8_t *g = guest_new(&mem, GUEST_SIZE);

	make_bzimage(bz);
	ck_assert_int_eq(load(&mem, write_file("bz", bz, sizeof(bz)), NULL, "", &entry, err), 0);
	if (kvm_first_out(&mem, &entry, &value) == 1) {
		fprintf(stderr, "SKIP kvm_runs_both_entries: /dev/kvm unusable\n");
		gm_destroy(&mem);
		return;
	}
	ck_assert_uint_eq(value, LAYOUT_ZERO_PAGE_ADDR + 1); /* rsi, and 64-bit mode */
	memcpy(&stored, g + GUEST_STORE_ADDR, 4);
	ck_assert_uint_eq(stored, 0x12345678);
	gm_destroy(&mem);
	g = guest_new(&mem, GUEST_SIZE);
	make_elf(elf);
	ck_assert_int_eq(load(&mem, write_file("elf", elf, sizeof(elf)), NULL, "", &entry, err), 0);
	ck_assert_int_eq(kvm_first_out(&mem, &entry, &value), 0);
	ck_assert_uint_eq(value, LAYOUT_PVH_INFO_ADDR); /* ebx, and 32-bit mode */
	memcpy(&stored, g + GUEST_STORE_ADDR, 4);
	ck_assert_uint_eq(stored, 0x12345678);
	gm_destroy(&mem);
}
END_TEST

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	Suite *s = suite_create("boot");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_boot.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, e820_small_ram);
	tcase_add_test(tc, e820_ram_above_4g);
	tcase_add_test(tc, page_tables_identity_map_4g);
	tcase_add_test(tc, gdt_entries_per_mode);
	tcase_add_test(tc, sregs_long_mode);
	tcase_add_test(tc, sregs_and_regs_pvh);
	tcase_add_test(tc, initrd_addr_rule);
	tcase_add_test(tc, bzimage_synthetic);
	tcase_add_loop_test(tc, bzimage_rejects, 0, ARRAY_SIZE(bz_mutations));
	tcase_add_test(tc, bzimage_initrd_placement);
	tcase_add_test(tc, bzimage_cmdline_and_rsdp_limits);
	tcase_add_test(tc, not_a_kernel);
	tcase_add_test(tc, elf_pvh_synthetic);
	tcase_add_loop_test(tc, elf_rejects_hostile, 0, ARRAY_SIZE(elf_mutations));
	tcase_add_test(tc, real_bzimage);
	tcase_add_test(tc, kvm_runs_both_entries);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
