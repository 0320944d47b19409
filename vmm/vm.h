/* vm.h: one KVM virtual machine: its file descriptors, RAM, buses, vCPUs and stop state. */
#ifndef MICROVM_VM_H
#define MICROVM_VM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "bus.h"
#include "coalesced_mmio.h"
#include "memory.h"
#include "util.h"

struct vcpu;

/* Why the VM stopped; the first reason recorded wins. */
enum vm_stop_reason {
	VM_RUNNING = 0,
	VM_STOP_POWEROFF, /* ACPI S5 or KVM_SYSTEM_EVENT_SHUTDOWN */
	VM_STOP_RESET,    /* i8042 0xFE, ACPI reset register, triple fault */
	VM_STOP_SIGNAL,   /* the VMM was asked to stop (SIGTERM, SIGINT, SIGHUP) */
	VM_STOP_ERROR,    /* a vCPU failed (entry failure, internal error, ioctl error) */
	VM_STOP_REPORTED, /* microvm-init reported how the command ended (status port) */
	VM_STOP_PANIC,    /* the guest kernel reported a panic (pvpanic) */
	VM_STOP_TIMEOUT,  /* the configured timeout expired */
};

struct vm {
	int kvm_fd;
	int vm_fd;
	int vcpu_mmap_size;
	struct guest_memory mem;
	struct bus pio;  /* read-only once vCPUs run */
	struct bus mmio; /* read-only once vCPUs run */
	struct coalesced_mmio coalesced; /* writes KVM queues instead of exiting */
	unsigned nvcpus;
	struct vcpu *vcpus;
	_Atomic int stop_reason; /* enum vm_stop_reason, set once by vm_request_stop */
	int stop_eventfd;        /* signalled by vm_request_stop; the main thread waits on it */
	/*
	 * KVM_RUN failed with EFAULT (a guest access to memory with no valid host page, e.g.
	 * a hole in a DAX window): the hook may fix the cause and returns how many ranges it
	 * changed; 0 (or no hook) stops the VM. Set before vCPUs run.
	 */
	unsigned (*efault_repair)(void *ctx);
	void *efault_ctx;
};

/*
 * Open /dev/kvm and check the API version and capabilities we rely on.
 * On failure a one-line reason naming the cause is written to err.
 */
int vm_open_kvm(struct vm *vm, char *err, size_t errlen) MUST_CHECK;
/* Create the VM with ram_bytes of RAM, the in-kernel irqchip and PIT. */
int vm_create(struct vm *vm, uint64_t ram_bytes, char *err, size_t errlen) MUST_CHECK;
/* Record why the VM stops (first caller wins), wake the main thread and kick vCPUs. */
void vm_request_stop(struct vm *vm, enum vm_stop_reason reason);
enum vm_stop_reason vm_stop_reason(const struct vm *vm);
/* Drive an interrupt line of the in-kernel irqchip. */
int vm_set_irq_line(struct vm *vm, unsigned gsi, int level) MUST_CHECK;
/* Raise then lower: one edge, for edge-triggered lines. */
void vm_pulse_irq(struct vm *vm, unsigned gsi);
/* Close everything vm_open_kvm/vm_create made; safe on a partly built VM. */
void vm_destroy(struct vm *vm);

#endif
