/* vcpu.h: one virtual CPU: its KVM fd, shared run page, thread and exit loop. */
#ifndef MICROVM_VCPU_H
#define MICROVM_VCPU_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <linux/kvm.h>
#include "../boot/boot.h"
#include "util.h"

struct vm;

/* Interrupts KVM_RUN (vcpu_kick); also the only signal the seccomp filters let us send. */
#define VCPU_KICK_SIGNAL SIGUSR1

struct vcpu {
	struct vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run; /* shared with KVM; touched only by this vCPU's thread and kicks */
	pthread_t thread;
	bool thread_started;
	bool seccomp; /* load the vCPU seccomp filter when the thread starts (set before vcpu_start) */
	bool serves_fs; /* it may serve virtio-fs requests: the vcpu+vfs filter (vmm/seccomp.h) */
};

/* Create vCPU index and give it CPUID (from supported) and its LAPIC/FPU reset state. */
int vcpu_create(struct vm *vm, unsigned index, const struct kvm_cpuid2 *supported,
		struct vcpu *vcpu) MUST_CHECK;
/* Registers of the boot processor at the kernel's entry point. */
int vcpu_set_boot_state(struct vcpu *vcpu, const struct boot_cpu_state *entry) MUST_CHECK;
/* Start the thread running the exit loop (named "vcpuN"). */
int vcpu_start(struct vcpu *vcpu) MUST_CHECK;
/* Make KVM_RUN return soon (async-signal-safe, callable from any thread). */
void vcpu_kick(struct vcpu *vcpu);
/* Install the no-op kick signal handler; once, before any vCPU starts. */
int vcpu_init_kick_signal(void) MUST_CHECK;
void vcpu_join(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);

#endif
