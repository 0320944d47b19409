/* boot.h: load a Linux kernel (bzImage or ELF vmlinux with a PVH note) and describe the entry CPU state. */
#ifndef MICROVM_BOOT_H
#define MICROVM_BOOT_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>
#include "../vmm/memory.h"
#include "../vmm/util.h"

struct boot_request {
	const char *kernel_path;
	const char *initrd_path; /* NULL: no initrd */
	/*
	 * Bytes appended to the initrd at the next 4-byte boundary (Linux unpacks
	 * concatenated cpio archives): microvm-init's job. NULL/0: none.
	 */
	const void *initrd_extra;
	size_t initrd_extra_len;
	const char *cmdline;     /* final command line, already including virtio_mmio.device= */
	uint64_t rsdp_addr;      /* guest-physical RSDP written by acpi_build, 0 if none */
};

enum boot_entry_mode {
	BOOT_ENTRY_LONG_MODE_64, /* bzImage 64-bit entry: paging on, RSI = zero page */
	BOOT_ENTRY_PVH_32,       /* PVH: 32-bit protected mode, paging off, EBX = hvm_start_info */
};

/* What the boot vCPU must look like on its first KVM_RUN. */
struct boot_cpu_state {
	enum boot_entry_mode mode;
	uint64_t rip;
	uint64_t rsi;
	uint64_t rbx;
	uint64_t rsp;
};

/*
 * Load the kernel and initrd into guest memory, write the GDT, page tables, zero page
 * (or hvm_start_info), e820 map and command line. Errors: -ENOEXEC for a file that is
 * not a kernel, -E2BIG when something does not fit, -errno of open/read; a one-line
 * reason is written to err.
 */
int boot_load(struct guest_memory *mem, const struct boot_request *req,
	      struct boot_cpu_state *entry, char *err, size_t errlen) MUST_CHECK;

/* Special and general registers of the boot vCPU for the entry mode. */
void boot_setup_sregs(const struct boot_cpu_state *entry, struct kvm_sregs *sregs);
void boot_setup_regs(const struct boot_cpu_state *entry, struct kvm_regs *regs);

#endif
