/* boot_internal.h: private helpers shared by the bzImage and PVH loaders (files, initrd, e820, CPU tables). */
#ifndef MICROVM_BOOT_INTERNAL_H
#define MICROVM_BOOT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <asm/bootparam.h>
#include "boot.h"
#include "../vmm/layout.h"

#define BOOT_PAGE_SIZE 0x1000ULL
/* Size of the first read of the kernel file: enough for the ELF header and the setup header. */
#define BOOT_HEAD_BYTES 4096
/* e820 types of the boot protocol (also used by the PVH memory map). */
#define BOOT_E820_RAM 1U
#define BOOT_E820_RESERVED 2U
/* Up to 4 regions, the first split around the EBDA hole: 6 entries suffice. */
#define BOOT_E820_MAX 8U

/* GDT selectors: the Linux boot protocol names __BOOT_CS 0x10 and __BOOT_DS 0x18. */
#define BOOT_GDT_ENTRIES 4U
#define BOOT_CS_SELECTOR 0x10U
#define BOOT_DS_SELECTOR 0x18U

/* PVH boot ABI (Xen public/arch-x86/hvm/start_info.h and public/elfnote.h). */
#define XEN_ELFNOTE_PHYS32_ENTRY 18U
#define XEN_HVM_START_MAGIC_VALUE 0x336ec578U

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	/* Version 1 and later. */
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* Where the PVH structures sit inside the page at LAYOUT_PVH_INFO_ADDR. */
#define BOOT_PVH_MODLIST_OFFSET 0x40ULL
#define BOOT_PVH_MEMMAP_OFFSET 0x80ULL

/* One boot_load call: the inputs every step needs and where its error text goes. */
struct boot_ctx {
	struct guest_memory *mem;
	const struct boot_request *req;
	int fd;             /* the kernel file */
	uint64_t file_size; /* of the kernel file */
	char *err;
	size_t errlen;
};

/* Guest-physical range [start, end) the kernel occupies while it boots. */
struct boot_range {
	uint64_t start;
	uint64_t end;
};

/* What was loaded besides the kernel. */
struct boot_initrd {
	uint64_t gpa;
	uint64_t size; /* 0: none */
};

/* boot.c */
int boot_fail(struct boot_ctx *ctx, int rc, const char *fmt, ...) PRINTF_LIKE(3, 4) MUST_CHECK;
int boot_pread(int fd, void *buf, uint64_t len, uint64_t off) MUST_CHECK;
int boot_file_to_guest(struct boot_ctx *ctx, int fd, uint64_t off, uint64_t gpa,
		       uint64_t len, const char *what) MUST_CHECK;

/* boot_params.c */
int boot_e820_build(const struct guest_memory *mem, struct boot_e820_entry *map,
		    unsigned max, unsigned *n) MUST_CHECK;
int boot_initrd_addr(uint64_t size, uint64_t limit, const struct boot_range *kernel,
		     uint64_t *gpa) MUST_CHECK;
int boot_load_initrd(struct boot_ctx *ctx, uint64_t limit, const struct boot_range *kernel,
		     struct boot_initrd *initrd) MUST_CHECK;
int boot_write_cmdline(struct boot_ctx *ctx, uint64_t max_len) MUST_CHECK;

/* cpu_state.c */
void boot_gdt_entries(enum boot_entry_mode mode, uint64_t gdt[BOOT_GDT_ENTRIES]);
int boot_write_gdt(struct guest_memory *mem, enum boot_entry_mode mode) MUST_CHECK;
int boot_write_page_tables(struct guest_memory *mem) MUST_CHECK;

/* bzimage.c and elf_pvh.c: head holds the first head_len bytes of the file. */
int boot_bzimage_load(struct boot_ctx *ctx, const uint8_t *head, size_t head_len,
		      struct boot_cpu_state *entry) MUST_CHECK;
int boot_elf_load(struct boot_ctx *ctx, const uint8_t *head, size_t head_len,
		  struct boot_cpu_state *entry) MUST_CHECK;

#endif
