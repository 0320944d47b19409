/* cpuid.h: the CPUID table each vCPU gets: KVM's supported set with our topology and APIC ids. */
#ifndef MICROVM_CPUID_H
#define MICROVM_CPUID_H

#include <linux/kvm.h>
#include "util.h"

/* KVM_GET_SUPPORTED_CPUID into a new table (free() it). */
int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out) MUST_CHECK;
/* Adjust a copy of the supported table for vCPU index of nvcpus (one core each, one package). */
void cpuid_set_topology(struct kvm_cpuid2 *cpuid, unsigned index, unsigned nvcpus);

#endif
