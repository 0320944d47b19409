/* cpuid.c: CPUID for vCPUs: APIC ids and a one-package, N-core topology the guest can count. */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include "cpuid.h"

#define CPUID_MAX_ENTRIES 256
#define CPUID_HYPERVISOR_BIT (1U << 31) /* leaf 1 ECX */
#define CPUID_HTT_BIT (1U << 28)        /* leaf 1 EDX: more than one logical CPU per package */
#define CPUID_CMP_LEGACY_BIT (1U << 1)  /* leaf 0x80000001 ECX (AMD) */

int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *cpuid;

	cpuid = calloc(1, sizeof(*cpuid) + CPUID_MAX_ENTRIES * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		int e = errno;

		free(cpuid);
		return -e;
	}
	*out = cpuid;
	return 0;
}

/* Bits needed to number n things: ceil(log2(n)). */
static unsigned cpuid_id_bits(unsigned n)
{
	unsigned bits = 0;

	while ((1U << bits) < n)
		bits++;
	return bits;
}

/* Leaf 0xB: level 0 is SMT (one thread per core), level 1 the cores of our one package. */
static void cpuid_set_extended_topology(struct kvm_cpuid_entry2 *e, unsigned index,
					unsigned nvcpus)
{
	e->edx = index;
	if (e->index == 0) {
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (1U << 8) | 0;
	} else if (e->index == 1) {
		e->eax = cpuid_id_bits(nvcpus);
		e->ebx = nvcpus;
		e->ecx = (2U << 8) | 1;
	} else {
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index;
	}
}

static void cpuid_set_entry(struct kvm_cpuid_entry2 *e, unsigned index, unsigned nvcpus)
{
	switch (e->function) {
	case 1:
		/* Initial APIC id, and the logical CPU count of the package. */
		e->ebx = (e->ebx & 0xffffU) | (index << 24) | ((nvcpus & 0xffU) << 16);
		e->ecx |= CPUID_HYPERVISOR_BIT;
		if (nvcpus > 1)
			e->edx |= CPUID_HTT_BIT;
		else
			e->edx &= ~CPUID_HTT_BIT;
		break;
	case 4:
		/* Cores per package - 1; caches shared by one core (no SMT). */
		e->eax = (e->eax & 0x3fffU) | ((nvcpus - 1U) << 26);
		break;
	case 0xb:
		cpuid_set_extended_topology(e, index, nvcpus);
		break;
	case 0x80000001:
		if (nvcpus > 1)
			e->ecx |= CPUID_CMP_LEGACY_BIT;
		break;
	case 0x80000008:
		/* AMD: NC = cores - 1, ApicIdSize. */
		e->ecx = (e->ecx & ~0xf0ffU) | (cpuid_id_bits(nvcpus) << 12) | (nvcpus - 1U);
		break;
	default:
		break;
	}
}

void cpuid_set_topology(struct kvm_cpuid2 *cpuid, unsigned index, unsigned nvcpus)
{
	unsigned i;

	for (i = 0; i < cpuid->nent; i++)
		cpuid_set_entry(&cpuid->entries[i], index, nvcpus);
}
