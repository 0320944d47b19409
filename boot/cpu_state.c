/* cpu_state.c: GDT, identity page tables and the boot vCPU's registers for each entry mode. */
#include <errno.h>
#include <string.h>
#include <asm/processor-flags.h>
#include "boot_internal.h"

/* EFER bits are not in the uapi headers. */
#define BOOT_EFER_LME (1ULL << 8)
#define BOOT_EFER_LMA (1ULL << 10)

#define PTE_PRESENT (1ULL << 0)
#define PTE_WRITE (1ULL << 1)
#define PTE_PAGE_SIZE (1ULL << 7) /* in a PD entry: this maps a 2 MiB page */
#define PD_PAGES 4U              /* one PD per GiB */
#define PD_ENTRIES 512U

/* GDT access/flags words: G and D/B or L in the high nibble, P DPL S TYPE in the low byte. */
#define GDT_CODE64 0xa09bU /* G, L, present, code execute/read accessed */
#define GDT_CODE32 0xc09bU /* G, D, present, code execute/read accessed */
#define GDT_DATA 0xc093U   /* G, B, present, data read/write accessed */

/* The PVH ABI asks for a TR with a 32-bit TSS of limit 0x67; 64-bit entry accepts the same. */
#define TSS_LIMIT 0x67U
#define TSS_TYPE_BUSY 11U

static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000U) << 32) | ((uint64_t)(flags & 0xf0ffU) << 40) |
	       ((uint64_t)(limit & 0x000f0000U) << 32) | ((uint64_t)(base & 0x00ffffffU) << 16) |
	       (uint64_t)(limit & 0x0000ffffU);
}

/*
 * Entries 0 and 1 are null; 2 and 3 are the boot protocol's __BOOT_CS and __BOOT_DS.
 * Both modes are 4 GiB flat; PVH needs a 32-bit code segment, bzImage a 64-bit one.
 */
void boot_gdt_entries(enum boot_entry_mode mode, uint64_t gdt[BOOT_GDT_ENTRIES])
{
	uint16_t code = mode == BOOT_ENTRY_LONG_MODE_64 ? GDT_CODE64 : GDT_CODE32;

	gdt[0] = 0;
	gdt[1] = 0;
	gdt[BOOT_CS_SELECTOR / 8] = gdt_entry(code, 0, 0xfffff);
	gdt[BOOT_DS_SELECTOR / 8] = gdt_entry(GDT_DATA, 0, 0xfffff);
}

int boot_write_gdt(struct guest_memory *mem, enum boot_entry_mode mode)
{
	uint64_t gdt[BOOT_GDT_ENTRIES];
	uint64_t idt = 0; /* no handlers: any early exception is a triple fault, i.e. a reset */
	int ret;

	boot_gdt_entries(mode, gdt);
	ret = gm_write(mem, LAYOUT_GDT_ADDR, gdt, sizeof(gdt));
	if (ret == 0)
		ret = gm_write(mem, LAYOUT_IDT_ADDR, &idt, sizeof(idt));
	return ret;
}

/* Identity-map [0, 4 GiB) with 2 MiB pages: PML4[0] -> PDPT[0..3] -> 4 PDs. */
int boot_write_page_tables(struct guest_memory *mem)
{
	uint64_t *pml4 = gm_translate(mem, LAYOUT_PML4_ADDR, BOOT_PAGE_SIZE);
	uint64_t *pdpt = gm_translate(mem, LAYOUT_PDPT_ADDR, BOOT_PAGE_SIZE);
	uint64_t *pd = gm_translate(mem, LAYOUT_PD_ADDR, PD_PAGES * BOOT_PAGE_SIZE);
	uint64_t i;

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, BOOT_PAGE_SIZE);
	memset(pdpt, 0, BOOT_PAGE_SIZE);
	pml4[0] = LAYOUT_PDPT_ADDR | PTE_PRESENT | PTE_WRITE;
	for (i = 0; i < PD_PAGES; i++)
		pdpt[i] = (LAYOUT_PD_ADDR + i * BOOT_PAGE_SIZE) | PTE_PRESENT | PTE_WRITE;
	for (i = 0; i < PD_PAGES * PD_ENTRIES; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_PAGE_SIZE;
	return 0;
}

/* The hidden part of a segment register, decoded from the descriptor the GDT holds. */
static void seg_from_gdt(uint64_t e, unsigned index, struct kvm_segment *s)
{
	memset(s, 0, sizeof(*s));
	s->base = ((e >> 16) & 0xffffffULL) | (((e >> 56) & 0xffULL) << 24);
	s->limit = (uint32_t)((e & 0xffffULL) | (((e >> 48) & 0xfULL) << 16));
	s->g = (e >> 55) & 1;
	if (s->g)
		s->limit = (s->limit << 12) | 0xfffU;
	s->selector = (uint16_t)(index * 8);
	s->type = (e >> 40) & 0xf;
	s->s = (e >> 44) & 1;
	s->dpl = (e >> 45) & 3;
	s->present = (e >> 47) & 1;
	s->avl = (e >> 52) & 1;
	s->l = (e >> 53) & 1;
	s->db = (e >> 54) & 1;
	s->unusable = !s->present;
}

static void boot_setup_segments(enum boot_entry_mode mode, struct kvm_sregs *sregs)
{
	uint64_t gdt[BOOT_GDT_ENTRIES];
	struct kvm_segment data;

	boot_gdt_entries(mode, gdt);
	seg_from_gdt(gdt[BOOT_CS_SELECTOR / 8], BOOT_CS_SELECTOR / 8, &sregs->cs);
	seg_from_gdt(gdt[BOOT_DS_SELECTOR / 8], BOOT_DS_SELECTOR / 8, &data);
	sregs->ds = data;
	sregs->es = data;
	sregs->fs = data;
	sregs->gs = data;
	sregs->ss = data;
	/* VM entry needs a usable busy TSS in TR; it lives only in the register, not the GDT. */
	memset(&sregs->tr, 0, sizeof(sregs->tr));
	sregs->tr.limit = TSS_LIMIT;
	sregs->tr.type = TSS_TYPE_BUSY;
	sregs->tr.present = 1;
	sregs->gdt.base = LAYOUT_GDT_ADDR;
	sregs->gdt.limit = sizeof(gdt) - 1;
	sregs->idt.base = LAYOUT_IDT_ADDR;
	sregs->idt.limit = sizeof(uint64_t) - 1;
}

/*
 * Fields not named here (apic_base, ldt, cr2, cr8, interrupt_bitmap) keep the caller's
 * values, which should come from KVM_GET_SREGS.
 */
void boot_setup_sregs(const struct boot_cpu_state *entry, struct kvm_sregs *sregs)
{
	boot_setup_segments(entry->mode, sregs);
	if (entry->mode == BOOT_ENTRY_LONG_MODE_64) {
		sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
		sregs->cr3 = LAYOUT_PML4_ADDR;
		sregs->cr4 = X86_CR4_PAE;
		sregs->efer = BOOT_EFER_LME | BOOT_EFER_LMA;
	} else {
		/* PVH: "cr0: PE set, all other writeable bits clear; cr4: all bits clear". */
		sregs->cr0 = X86_CR0_PE;
		sregs->cr3 = 0;
		sregs->cr4 = 0;
		sregs->efer = 0;
	}
}

void boot_setup_regs(const struct boot_cpu_state *entry, struct kvm_regs *regs)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2; /* bit 1 always reads as one; IF clear as both protocols require */
	regs->rip = entry->rip;
	regs->rsi = entry->rsi;
	regs->rbx = entry->rbx;
	regs->rsp = entry->rsp;
}
