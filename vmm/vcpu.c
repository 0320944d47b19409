/* vcpu.c: vCPU creation and reset state, the per-vCPU thread and its KVM exit loop. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "cpuid.h"
#include "seccomp.h"
#include "vcpu.h"
#include "vm.h"

/* LAPIC register offsets and LVT delivery modes (Intel SDM vol. 3, 10.5.1). */
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static void vcpu_kick_handler(int sig)
{
	(void)sig; /* only there to interrupt KVM_RUN with EINTR */
}

int vcpu_init_kick_signal(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;
	return 0;
}

static int vcpu_set_cpuid(struct vcpu *vcpu, const struct kvm_cpuid2 *supported)
{
	size_t size = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *cpuid = malloc(size);
	int ret = 0;

	if (!cpuid)
		return -ENOMEM;
	memcpy(cpuid, supported, size);
	cpuid_set_topology(cpuid, vcpu->index, vcpu->vm->nvcpus);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0)
		ret = -errno;
	free(cpuid);
	return ret;
}

static void lapic_set_delivery_mode(struct kvm_lapic_state *lapic, int reg, uint32_t mode)
{
	uint32_t value;

	memcpy(&value, &lapic->regs[reg], sizeof(value));
	value = (value & ~0x700U) | (mode << 8);
	memcpy(&lapic->regs[reg], &value, sizeof(value));
}

/* LINT0 as ExtINT and LINT1 as NMI, the virtual-wire state firmware leaves behind. */
static int vcpu_set_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	lapic_set_delivery_mode(&lapic, APIC_LVT_LINT0, APIC_MODE_EXTINT);
	lapic_set_delivery_mode(&lapic, APIC_LVT_LINT1, APIC_MODE_NMI);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

/* x87 and SSE control words as after FNINIT, which a kernel entered without firmware expects. */
static int vcpu_set_fpu(struct vcpu *vcpu)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

int vcpu_create(struct vm *vm, unsigned index, const struct kvm_cpuid2 *supported,
		struct vcpu *vcpu)
{
	void *run;
	int ret;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0)
		return -errno;
	run = mmap(NULL, vm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (run == MAP_FAILED)
		return -errno;
	vcpu->run = run;
	coalesced_mmio_map_ring(&vm->coalesced, vcpu->fd); /* the VM's one ring, once */
	ret = vcpu_set_cpuid(vcpu, supported);
	if (ret == 0)
		ret = vcpu_set_lapic(vcpu);
	if (ret == 0)
		ret = vcpu_set_fpu(vcpu);
	return ret;
}

int vcpu_set_boot_state(struct vcpu *vcpu, const struct boot_cpu_state *entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	boot_setup_sregs(entry, &sregs);
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	memset(&regs, 0, sizeof(regs));
	boot_setup_regs(entry, &regs);
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t i;

	/* String I/O (rep ins/outs) arrives as count back-to-back elements. */
	for (i = 0; i < run->io.count; i++, data += run->io.size) {
		bool claimed;

		if (run->io.direction == KVM_EXIT_IO_OUT)
			claimed = bus_write(&vcpu->vm->pio, run->io.port, data, run->io.size);
		else
			claimed = bus_read(&vcpu->vm->pio, run->io.port, data, run->io.size);
		if (!claimed)
			log_debug("vcpu%u: unclaimed port %s 0x%x", vcpu->index,
				  run->io.direction == KVM_EXIT_IO_OUT ? "write" : "read",
				  run->io.port);
	}
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t len = run->mmio.len;

	if (len > sizeof(run->mmio.data))
		return;
	if (run->mmio.is_write ? !bus_write(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len)
			       : !bus_read(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len))
		log_debug("vcpu%u: unclaimed MMIO %s 0x%llx", vcpu->index,
			  run->mmio.is_write ? "write" : "read",
			  (unsigned long long)run->mmio.phys_addr);
}

static void vcpu_handle_system_event(struct vcpu *vcpu)
{
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(vcpu->vm, VM_STOP_POWEROFF);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(vcpu->vm, VM_STOP_RESET);
		break;
	default:
		log_error("vcpu%u: system event %u", vcpu->index, vcpu->run->system_event.type);
		vm_request_stop(vcpu->vm, VM_STOP_ERROR);
	}
}

/* Handle one exit; false when the vCPU must stop. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(vcpu);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT: /* cannot happen with the in-kernel LAPIC; harmless */
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* Triple fault: what a PC does next is reset, and `reboot=t` relies on it. */
		log_info("vcpu%u: triple fault: guest reset", vcpu->index);
		vm_request_stop(vcpu->vm, VM_STOP_RESET);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu_handle_system_event(vcpu);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		log_error("vcpu%u: VM entry failed, hardware reason 0x%llx", vcpu->index,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		log_error("vcpu%u: KVM internal error, suberror %u", vcpu->index,
			  run->internal.suberror);
		break;
	default:
		log_error("vcpu%u: unexpected exit reason %u", vcpu->index, run->exit_reason);
		break;
	}
	vm_request_stop(vcpu->vm, VM_STOP_ERROR);
	return false;
}

/*
 * EFAULT: the guest touched guest-physical memory whose host page is missing (6.1 does not
 * say where). The VM's hook (the DAX windows: vmm/shares.c, devices/virtio_fs/dax.c) may
 * put memory there; then the access is retried. Nothing fixed: the VM stops as before.
 */
static bool vcpu_repair_efault(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	unsigned changed = vm->efault_repair ? vm->efault_repair(vm->efault_ctx) : 0;

	if (changed)
		log_info("vcpu%u: guest touched an unmapped part of a DAX window: %u range(s) "
			 "now read as zeros", vcpu->index, changed);
	return changed != 0;
}

/* Where the vCPU stopped, for --verbose diagnosis of a guest that hangs or fails. */
static void vcpu_log_position(struct vcpu *vcpu)
{
	struct kvm_regs regs;

	if (log_debug_enabled() && ioctl(vcpu->fd, KVM_GET_REGS, &regs) == 0)
		log_debug("vcpu%u: stopped at rip=0x%llx rsp=0x%llx", vcpu->index,
			  (unsigned long long)regs.rip, (unsigned long long)regs.rsp);
}

/* Before the first KVM_RUN: from here on the guest drives what this thread does. */
static int vcpu_enter_sandbox(struct vcpu *vcpu)
{
	char name[16];
	int ret;

	if (!vcpu->seccomp)
		return 0;
	snprintf(name, sizeof(name), "vcpu%u", vcpu->index);
	ret = seccomp_install(vcpu->serves_fs ? SECCOMP_ROLE_VCPU_VFS : SECCOMP_ROLE_VCPU, name);
	if (ret) {
		log_error("vcpu%u: cannot load the seccomp filter: %s", vcpu->index, strerror(-ret));
		vm_request_stop(vcpu->vm, VM_STOP_ERROR);
	}
	return ret;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;

	if (vcpu_enter_sandbox(vcpu))
		return NULL;
	while (vm_stop_reason(vcpu->vm) == VM_RUNNING) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->run->immediate_exit = 0;
				continue;
			}
			if (errno == EFAULT && vcpu_repair_efault(vcpu))
				continue;
			log_error("vcpu%u: KVM_RUN failed: %s", vcpu->index, strerror(errno));
			vm_request_stop(vcpu->vm, VM_STOP_ERROR);
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	vcpu_log_position(vcpu);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	char name[16];
	int ret;

	ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (ret)
		return -ret;
	vcpu->thread_started = true;
	snprintf(name, sizeof(name), "vcpu%u", vcpu->index);
	pthread_setname_np(vcpu->thread, name);
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	/* immediate_exit covers the window before the thread re-enters KVM_RUN. */
	if (vcpu->run)
		vcpu->run->immediate_exit = 1;
	if (vcpu->thread_started)
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *vcpu)
{
	if (vcpu->thread_started)
		pthread_join(vcpu->thread, NULL);
	vcpu->thread_started = false;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->vcpu_mmap_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}
