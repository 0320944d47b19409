/* run.c: the start-up script (VM, memory, devices, ACPI, kernel, vCPUs), the wait, and teardown. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "../boot/acpi.h"
#include "../boot/boot.h"
#include "cpuid.h"
#include "layout.h"
#include "machine.h"
#include "run.h"
#include "sandbox.h"
#include "seccomp.h"
#include "shares.h"
#include "terminal.h"
#include "vcpu.h"
#include "vm.h"

static void machine_serial_irq(void *ctx)
{
	vm_pulse_irq(ctx, LAYOUT_COM1_IRQ);
}

static void machine_poweroff(void *ctx)
{
	log_info("guest powered off through the ACPI sleep control register");
	vm_request_stop(ctx, VM_STOP_POWEROFF);
}

static void machine_reset_acpi(void *ctx)
{
	log_info("guest reset through the ACPI reset register");
	vm_request_stop(ctx, VM_STOP_RESET);
}

static void machine_reset_i8042(void *ctx)
{
	log_info("guest reset through the i8042 controller");
	vm_request_stop(ctx, VM_STOP_RESET);
}

static void machine_command_ended(void *ctx)
{
	vm_request_stop(ctx, VM_STOP_REPORTED);
}

static void machine_panicked(void *ctx)
{
	log_info("the guest kernel reported a panic (pvpanic)");
	vm_request_stop(ctx, VM_STOP_PANIC);
}

int machine_open_console_file(struct machine *m, const char *path)
{
	m->console_out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (m->console_out_fd >= 0)
		return 0;
	snprintf(m->err, sizeof(m->err), "cannot open console file %s: %s", path,
		 strerror(errno));
	return -errno;
}

static int machine_open_console(struct machine *m, const struct vm_config *cfg)
{
	m->console_out_fd = -1;
	m->console_in_fd = -1;
	if (m->command_mode)
		return run_job_console(m, cfg);
	switch (cfg->console) {
	case CONSOLE_STDIO:
		m->console_out_fd = STDOUT_FILENO;
		m->console_in_fd = STDIN_FILENO;
		return 0;
	case CONSOLE_FILE:
		return machine_open_console_file(m, cfg->console_path);
	default:
		return 0;
	}
}

static int machine_add_pio(struct machine *m, uint64_t base, uint64_t len, const char *name,
			   void *dev, bus_read_fn rd, bus_write_fn wr)
{
	struct bus_range r = { .base = base, .len = len, .name = name, .opaque = dev,
			       .read = rd, .write = wr };

	return bus_register(&m->vm.pio, &r);
}

static int machine_add_devices(struct machine *m)
{
	int ret;

	ret = uart_init(&m->uart, m->console_out_fd, machine_serial_irq, &m->vm);
	if (ret)
		return ret;
	if (m->command_mode)
		m->uart.tail = &m->tail;
	i8042_init(&m->kbc, machine_reset_i8042, &m->vm);
	acpi_pm_init(&m->pm, machine_poweroff, machine_reset_acpi, &m->vm);
	status_port_init(&m->status, machine_command_ended, &m->vm);
	pvpanic_init(&m->panic, machine_panicked, &m->vm);
	ret = machine_add_pio(m, LAYOUT_COM1_PORT, UART_REGISTER_SPAN, "com1", &m->uart,
			      uart_bus_read, uart_bus_write);
	if (ret == 0)
		ret = machine_add_pio(m, LAYOUT_I8042_DATA_PORT,
				      LAYOUT_I8042_CMD_PORT - LAYOUT_I8042_DATA_PORT + 1, "i8042",
				      &m->kbc, i8042_bus_read, i8042_bus_write);
	if (ret == 0)
		ret = machine_add_pio(m, LAYOUT_ACPI_SLEEP_CTL_PORT, ACPI_PM_PORT_SPAN, "acpi-pm",
				      &m->pm, acpi_pm_bus_read, acpi_pm_bus_write);
	if (ret == 0)
		ret = machine_add_pio(m, MICROVM_STATUS_PORT, MICROVM_STATUS_PORT_SPAN, "status",
				      &m->status, status_port_bus_read, status_port_bus_write);
	if (ret == 0)
		ret = machine_add_pio(m, MICROVM_PVPANIC_PORT, 1, "pvpanic", &m->panic,
				      pvpanic_bus_read, pvpanic_bus_write);
	return ret;
}

static int machine_load_guest(struct machine *m, const struct vm_config *cfg,
			      struct boot_cpu_state *entry)
{
	struct acpi_config acpi = { .vcpus = cfg->vcpus, .virtio = m->virtio,
				    .nvirtio = m->nvirtio };
	struct boot_request req = { .kernel_path = cfg->kernel, .initrd_path = cfg->initrd,
				    .initrd_extra = m->job.data, .initrd_extra_len = m->job.len };
	char *cmdline;
	int ret;

	ret = acpi_build(&m->vm.mem, &acpi, &req.rsdp_addr);
	if (ret) {
		snprintf(m->err, sizeof(m->err), "cannot build ACPI tables: %s", strerror(-ret));
		return ret;
	}
	cmdline = shares_kernel_cmdline(m->virtio, m->nvirtio, cfg->cmdline);
	if (!cmdline)
		return -ENOMEM;
	req.cmdline = cmdline;
	ret = boot_load(&m->vm.mem, &req, entry, m->err, sizeof(m->err));
	free(cmdline);
	return ret;
}

static int machine_create_vcpus(struct machine *m, const struct boot_cpu_state *entry)
{
	struct kvm_cpuid2 *cpuid;
	int ret;

	ret = cpuid_get_supported(m->vm.kvm_fd, &cpuid);
	if (ret)
		return ret;
	m->vm.vcpus = calloc(m->vm.nvcpus, sizeof(*m->vm.vcpus));
	if (!m->vm.vcpus)
		ret = -ENOMEM;
	while (ret == 0 && m->vcpus_created < m->vm.nvcpus) {
		ret = vcpu_create(&m->vm, m->vcpus_created, cpuid, &m->vm.vcpus[m->vcpus_created]);
		m->vcpus_created++;
	}
	free(cpuid);
	/* Only the boot processor starts at the kernel; the others wait for INIT/SIPI. */
	if (ret == 0)
		ret = vcpu_set_boot_state(&m->vm.vcpus[0], entry);
	if (ret)
		snprintf(m->err, sizeof(m->err), "cannot set up vCPUs: %s", strerror(-ret));
	return ret;
}

/* Signals that stop the VM are read from a signalfd by the main thread only. */
static int machine_block_signals(struct machine *m)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (m->command_mode) { /* forwarded to the command (run_job_signal) */
		sigaddset(&set, SIGQUIT);
		sigaddset(&set, SIGUSR2);
		sigaddset(&set, SIGWINCH);
	}
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	m->signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
	return m->signal_fd < 0 ? -errno : 0;
}

static void machine_read_signal(struct machine *m)
{
	struct signalfd_siginfo info;

	if (read(m->signal_fd, &info, sizeof(info)) != sizeof(info))
		return;
	if (m->command_mode && run_job_signal(m, (int)info.ssi_signo))
		return;
	m->stop_signal = (int)info.ssi_signo;
	vm_request_stop(&m->vm, VM_STOP_SIGNAL);
}

/* Move console input into the UART as its FIFO has room. */
static void machine_read_console(struct machine *m)
{
	uint8_t buf[UART_RX_FIFO_SIZE];
	unsigned space = uart_rx_space(&m->uart);
	ssize_t n;

	if (space == 0)
		return;
	n = read(m->console_in_fd, buf, space);
	if (n > 0)
		uart_receive(&m->uart, buf, (unsigned)n);
	else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		m->console_in_fd = -1; /* end of input: the guest just sees no more bytes */
}

static void machine_wait(struct machine *m)
{
	while (vm_stop_reason(&m->vm) == VM_RUNNING) {
		bool want_input = m->console_in_fd >= 0 && uart_rx_space(&m->uart) > 0;
		struct pollfd fds[3 + RUN_EXEC_MAX_POLL] = {
			{ .fd = m->vm.stop_eventfd, .events = POLLIN },
			{ .fd = m->signal_fd, .events = POLLIN },
			{ .fd = want_input ? m->console_in_fd : -1, .events = POLLIN },
		};
		unsigned nexec = run_exec_poll(m, fds + 3); /* runtime mode's exec requests */
		/* With a full FIFO, look again shortly rather than spin on readable input. */
		int timeout = (m->console_in_fd >= 0 && !want_input) ? 10 : -1;
		int until_deadline = run_job_poll_timeout(m);

		if (until_deadline == 0) {
			vm_request_stop(&m->vm, VM_STOP_TIMEOUT);
			break;
		}
		if (until_deadline > 0 && (timeout < 0 || until_deadline < timeout))
			timeout = until_deadline;
		if (poll(fds, 3 + nexec, timeout) < 0 && errno != EINTR)
			break;
		if (fds[1].revents & POLLIN)
			machine_read_signal(m);
		if (fds[2].revents & (POLLIN | POLLHUP | POLLERR))
			machine_read_console(m);
		run_exec_serve(m, fds + 3, nexec);
	}
}

/*
 * The main thread's filter, last in start-up: it covers machine_wait and the teardown.
 * The workers loaded theirs when shares_create made them; each vCPU loads its own.
 */
static int machine_load_main_filter(struct machine *m, const struct vm_config *cfg)
{
	int ret;

	if (cfg->seccomp_off) {
		log_info("seccomp filters are off (--seccomp=off): for debugging only");
		return 0;
	}
	ret = seccomp_install(SECCOMP_ROLE_MAIN, "main");
	if (ret)
		snprintf(m->err, sizeof(m->err), "cannot load the seccomp filter: %s",
			 strerror(-ret));
	return ret;
}

/*
 * Every virtio-mmio device's window and interrupt, known before any is created: the
 * shares in config order, then (command mode) the stdio device. ACPI and the kernel
 * command line name them before the sandbox hides the host's files.
 */
static void machine_plan_virtio(struct machine *m, const struct vm_config *cfg)
{
	unsigned i, n = cfg->nshares + (m->command_mode ? 1 : 0);

	for (i = 0; i < n && i < LAYOUT_VIRTIO_MAX_DEVICES; i++)
		m->virtio[i] = (struct acpi_mmio_device){
			.base = LAYOUT_VIRTIO_MMIO_BASE + i * LAYOUT_VIRTIO_MMIO_SIZE,
			.size = LAYOUT_VIRTIO_MMIO_SIZE,
			.gsi = LAYOUT_VIRTIO_GSI_BASE + i,
		};
	m->nvirtio = i;
}

/*
 * The private mount namespace and the capability drop (vmm/sandbox.c): while the process
 * still has one thread, after the kernel and initrd were read, before the shared
 * directories are opened.
 */
static int machine_isolate(struct machine *m, const struct vm_config *cfg)
{
	struct sandbox_config sc;

	sandbox_config_from_vm(cfg, true, &sc);
	return sandbox_enter(&m->sandbox, &sc, m->err, sizeof(m->err));
}

static int machine_create_shares(struct machine *m, const struct vm_config *cfg)
{
	const char *dirs[CONFIG_MAX_SHARES];
	unsigned i;

	for (i = 0; i < cfg->nshares; i++)
		dirs[i] = sandbox_share_path(&m->sandbox, i);
	return shares_create(&m->shares, cfg, dirs, &m->vm, m->err, sizeof(m->err));
}

static int machine_start(struct machine *m, const struct vm_config *cfg)
{
	struct boot_cpu_state entry;
	bool serves_fs = config_serves_on_vcpu(cfg);
	unsigned i;
	int ret;

	ret = machine_open_console(m, cfg);
	if (ret == 0 && m->command_mode)
		ret = run_job_prepare(m, cfg);
	if (ret == 0)
		ret = vm_create(&m->vm, cfg->memory_bytes, m->err, sizeof(m->err));
	if (ret == 0)
		ret = machine_add_devices(m);
	if (ret == 0) {
		machine_plan_virtio(m, cfg);
		/* The last reads of host paths outside the shares: kernel and initrd. */
		ret = machine_load_guest(m, cfg, &entry);
	}
	if (ret == 0)
		ret = machine_isolate(m, cfg);
	if (ret == 0)
		ret = machine_create_shares(m, cfg);
	if (ret == 0 && m->command_mode)
		ret = run_job_create_stdio(m, cfg);
	if (ret == 0)
		ret = machine_create_vcpus(m, &entry);
	if (ret == 0)
		ret = machine_block_signals(m);
	if (ret == 0)
		ret = vcpu_init_kick_signal();
	if (ret == 0 && m->console_in_fd >= 0)
		ret = terminal_enter_raw(m->console_in_fd);
	if (ret == 0 && m->command_mode && cfg->process.terminal)
		ret = run_job_enter_terminal(m);
	for (i = 0; ret == 0 && i < m->vm.nvcpus; i++) {
		m->vm.vcpus[i].seccomp = !cfg->seccomp_off; /* loaded by the thread itself */
		m->vm.vcpus[i].serves_fs = serves_fs;
		ret = vcpu_start(&m->vm.vcpus[i]);
	}
	if (ret && !m->err[0])
		snprintf(m->err, sizeof(m->err), "start-up failed: %s", strerror(-ret));
	return ret;
}

static void machine_teardown(struct machine *m)
{
	unsigned i;

	for (i = 0; i < m->vcpus_created; i++)
		vcpu_join(&m->vm.vcpus[i]);
	run_job_destroy_stdio(m); /* guest memory is still mapped: drain what it sent */
	terminal_restore();
	for (i = 0; i < m->vcpus_created; i++)
		vcpu_destroy(&m->vm.vcpus[i]);
	free(m->vm.vcpus);
	m->vm.vcpus = NULL;
	m->vm.nvcpus = 0;
	shares_destroy(&m->shares);
	uart_destroy(&m->uart);
	vm_destroy(&m->vm);
	if (m->signal_fd >= 0)
		close(m->signal_fd);
	if (m->console_out_fd > STDERR_FILENO)
		close(m->console_out_fd);
	job_blob_free(&m->job);
}

static int machine_exit_status(struct machine *m)
{
	/* The same in both modes: a timeout wins over whatever the guest was doing. */
	if (vm_stop_reason(&m->vm) == VM_STOP_TIMEOUT) {
		log_error("timeout: the guest was stopped after %llu ms",
			  (unsigned long long)m->timeout_ms);
		return RUN_EXIT_TIMEOUT;
	}
	if (m->command_mode)
		return run_job_exit_status(m);
	switch (vm_stop_reason(&m->vm)) {
	case VM_STOP_POWEROFF:
	case VM_STOP_RESET:
	case VM_STOP_PANIC:
	case VM_STOP_REPORTED:
		return RUN_EXIT_GUEST_STOPPED;
	case VM_STOP_SIGNAL:
		return 128 + m->stop_signal;
	default:
		return RUN_EXIT_VMM_ERROR;
	}
}

int run_vm(const struct vm_config *cfg)
{
	struct machine *m = calloc(1, sizeof(*m));
	int status;

	if (!m) {
		log_error("out of memory");
		return RUN_EXIT_VMM_ERROR;
	}
	m->signal_fd = -1;
	m->control_fd[0] = m->control_fd[1] = -1;
	m->command_mode = cfg->command.n > 0;
	run_job_arm_timeout(m, cfg->timeout_ms);
	/* A reader that went away must not kill us; writes then fail with EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	if (vm_open_kvm(&m->vm, m->err, sizeof(m->err)) == 0) {
		m->vm.nvcpus = cfg->vcpus;
		if (machine_start(m, cfg) == 0 && machine_load_main_filter(m, cfg) == 0)
			machine_wait(m);
		else
			vm_request_stop(&m->vm, VM_STOP_ERROR);
	} else {
		vm_request_stop(&m->vm, VM_STOP_ERROR);
	}
	machine_teardown(m);
	if (m->err[0])
		log_error("%s", m->err);
	status = machine_exit_status(m);
	free(m);
	return status;
}
