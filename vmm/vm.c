/* vm.c: opening KVM, creating the VM with its memory slots, irqchip and PIT, stopping and teardown. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "vcpu.h"
#include "vm.h"

/* Placed in the MMIO hole, below the IOAPIC, where Firecracker and QEMU put them too. */
#define VM_IDENTITY_MAP_ADDR 0xfeffc000ULL
#define VM_TSS_ADDR 0xfeffd000ULL

static const struct {
	int cap;
	const char *name;
} vm_required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_HLT, "KVM_CAP_HLT" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
};

static int vm_check_caps(struct vm *vm, char *err, size_t errlen)
{
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(vm_required_caps); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, vm_required_caps[i].cap) <= 0) {
			snprintf(err, errlen, "KVM lacks %s, which microvm needs",
				 vm_required_caps[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

int vm_open_kvm(struct vm *vm, char *err, size_t errlen)
{
	int version;

	memset(vm, 0, sizeof(*vm));
	vm->vm_fd = -1;
	vm->stop_eventfd = -1;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;

		snprintf(err, errlen, "cannot open /dev/kvm: %s%s", strerror(e),
			 e == ENOENT ? " (no hardware virtualisation or kvm module not loaded)" : "");
		return -e;
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm has API version %d, microvm needs %d", version,
			 KVM_API_VERSION);
		return -ENOTSUP;
	}
	return vm_check_caps(vm, err, errlen);
}

static int vm_register_ram(struct vm *vm)
{
	unsigned i;

	for (i = 0; i < vm->mem.nregions; i++) {
		const struct guest_region *r = &vm->mem.region[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return -errno;
	}
	return 0;
}

static int vm_create_platform(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t identity = VM_IDENTITY_MAP_ADDR;

	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
		return -errno;
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)VM_TSS_ADDR) < 0)
		return -errno;
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return -errno;
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return -errno;
	return 0;
}

int vm_create(struct vm *vm, uint64_t ram_bytes, char *err, size_t errlen)
{
	int ret;

	vm->stop_eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_eventfd < 0)
		return -errno;
	vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0 || vm->vcpu_mmap_size <= 0) {
		ret = -errno;
		snprintf(err, errlen, "KVM_CREATE_VM failed: %s", strerror(errno));
		return ret;
	}
	coalesced_mmio_init(&vm->coalesced, vm->kvm_fd, vm->vm_fd);
	ret = gm_create(&vm->mem, ram_bytes);
	if (ret) {
		snprintf(err, errlen, "cannot allocate %llu bytes of guest RAM: %s",
			 (unsigned long long)ram_bytes, strerror(-ret));
		return ret;
	}
	ret = vm_register_ram(vm);
	if (ret == 0)
		ret = vm_create_platform(vm);
	if (ret)
		snprintf(err, errlen, "setting up the VM failed: %s", strerror(-ret));
	return ret;
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason)
{
	int expected = VM_RUNNING;
	uint64_t one = 1;
	unsigned i;

	atomic_compare_exchange_strong(&vm->stop_reason, &expected, (int)reason);
	if (write(vm->stop_eventfd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow with our few writes; nothing to do. */
	}
	for (i = 0; vm->vcpus && i < vm->nvcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
}

enum vm_stop_reason vm_stop_reason(const struct vm *vm)
{
	return (enum vm_stop_reason)atomic_load(&vm->stop_reason);
}

int vm_set_irq_line(struct vm *vm, unsigned gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

void vm_pulse_irq(struct vm *vm, unsigned gsi)
{
	/* Failure means a bad GSI, a set-up bug that the log makes visible. */
	if (vm_set_irq_line(vm, gsi, 1) || vm_set_irq_line(vm, gsi, 0))
		log_error("cannot inject interrupt %u", gsi);
}

void vm_destroy(struct vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->stop_eventfd >= 0)
		close(vm->stop_eventfd);
	gm_destroy(&vm->mem);
	coalesced_mmio_destroy(&vm->coalesced);
	vm->vm_fd = vm->kvm_fd = vm->stop_eventfd = -1;
}
