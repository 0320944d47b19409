/* run_job.c: command mode: the job for microvm-init, the hidden console, the timeout and the exit status. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "machine.h"
#include "run.h"
#include "terminal.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The command owns stdin and stdout, so the kernel console never reads input and never
 * writes to stdout: with console: stdio (or -v) it goes to stderr, with a file to the
 * file, otherwise nowhere. The tail is always kept, to show why a boot failed.
 */
int run_job_console(struct machine *m, const struct vm_config *cfg)
{
	m->console_in_fd = -1;
	m->console_out_fd = -1;
	if (cfg->console_set && cfg->console == CONSOLE_FILE)
		return machine_open_console_file(m, cfg->console_path);
	if ((cfg->console_set && cfg->console == CONSOLE_STDIO) || log_verbosity() > 0)
		m->console_out_fd = STDERR_FILENO;
	return 0;
}

int run_job_prepare(struct machine *m, const struct vm_config *cfg)
{
	int ret = job_build_cpio(cfg, log_verbosity() > 0, &m->job);

	if (ret) {
		snprintf(m->err, sizeof(m->err), "cannot build the job for the guest: %s",
			 ret == -E2BIG ? "command and environment are larger than 1 MiB" :
					 strerror(-ret));
		return ret;
	}
	return 0;
}

/* The control pipe: non-blocking, so a guest that stops reading cannot stall microvm. */
static int run_job_control_pipe(struct machine *m)
{
	if (pipe2(m->control_fd, O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(m->control_fd[1], F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/*
 * With exec served (runtime mode), the events port and the exec slots' spare ports come
 * after the four: ids RUN_EXEC_FIRST_PORT on (run_exec.c).
 */
static int run_job_create_console(struct machine *m, const struct vm_config *cfg)
{
	const struct vcon_port_config ports[] = {
		{ MICROVM_PORT_STDIN, STDIN_FILENO, VCON_TO_GUEST },
		{ MICROVM_PORT_STDOUT, STDOUT_FILENO, VCON_FROM_GUEST },
		{ MICROVM_PORT_STDERR, STDERR_FILENO, VCON_FROM_GUEST },
		{ MICROVM_PORT_CONTROL, m->control_fd[0], VCON_TO_GUEST },
		{ MICROVM_PORT_EVENTS, m->exec.events_fd[1], VCON_FROM_GUEST },
	};
	bool exec = m->exec.listen_fd >= 0;
	const struct vcon_config vcfg = { .ports = ports, .nports = ARRAY_SIZE(ports) - !exec,
					  .nspare = exec ? RUN_EXEC_PORTS : 0,
					  .seccomp = !cfg->seccomp_off };
	/* machine_plan_virtio put it last, after the shares (config_validate kept a slot). */
	const struct acpi_mmio_device *a = &m->virtio[cfg->nshares];
	int ret;

	ret = vcon_init(&m->stdio, &vcfg, &m->vm.mem, a->base, a->gsi);
	m->stdio_created = true; /* vcon_destroy also cleans up a failed init */
	if (ret == 0)
		ret = vmmio_register(&m->stdio.transport, &m->vm.mmio);
	if (ret == 0)
		ret = vmmio_kvm_attach(&m->stdio.transport, m->vm.vm_fd, &m->vm.coalesced);
	if (ret) {
		snprintf(m->err, sizeof(m->err), "cannot create the stdio device: %s",
			 strerror(-ret));
		return ret;
	}
	return 0;
}

/*
 * Runtime mode: the control pipe also carries exec requests (up to MICROVM_EXEC_MAX_BYTES
 * each), so it is made large; run_exec.c sends one only when it fits whole.
 */
static void run_job_size_control_pipe(struct machine *m)
{
	int size = fcntl(m->control_fd[1], F_SETPIPE_SZ, RUN_EXEC_CONTROL_PIPE);

	if (size < 0) {
		log_info("exec: the control pipe keeps its default size: %s", strerror(errno));
		size = fcntl(m->control_fd[1], F_GETPIPE_SZ);
	}
	m->exec.control_cap = size > 0 ? (size_t)size : 0;
}

int run_job_create_stdio(struct machine *m, const struct vm_config *cfg)
{
	int ret = run_exec_init(m);

	if (ret == 0)
		ret = run_job_control_pipe(m);
	if (ret)
		return ret;
	if (m->exec.listen_fd >= 0)
		run_job_size_control_pipe(m);
	return run_job_create_console(m, cfg);
}

void run_job_destroy_stdio(struct machine *m)
{
	unsigned i;

	/* Output first, then the exec helpers still waiting: their processes end with the VM. */
	if (m->stdio_created)
		vcon_drain(&m->stdio);
	run_exec_destroy(m);
	if (m->stdio_created)
		vcon_destroy(&m->stdio);
	m->stdio_created = false;
	for (i = 0; i < 2; i++)
		if (m->control_fd[i] >= 0)
			close(m->control_fd[i]);
	m->control_fd[0] = m->control_fd[1] = -1;
}

/* One control line (guest/protocol.h); dropped if the pipe is full: it is advisory. */
static void run_job_control(struct machine *m, const char *line)
{
	if (m->control_fd[1] < 0 || write(m->control_fd[1], line, strlen(line)) < 0)
		log_debug("control line not sent: %s", line);
}

static void run_job_send_winsize(struct machine *m)
{
	struct winsize ws;
	char line[MICROVM_CONTROL_LINE_MAX];

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
		return;
	snprintf(line, sizeof(line), "winsize %u %u\n", ws.ws_row, ws.ws_col);
	run_job_control(m, line);
}

bool run_job_signal(struct machine *m, int sig)
{
	char line[MICROVM_CONTROL_LINE_MAX];
	bool terminating = sig == SIGINT || sig == SIGTERM || sig == SIGHUP;

	if (sig == SIGWINCH) {
		run_job_send_winsize(m);
		return true;
	}
	if (sig <= 0 || sig >= NSIG || (terminating && m->forwarded[sig] >= 2))
		return false;
	/* Before microvm-init runs there is no command to forward to: a hung boot stops. */
	if (terminating && !status_port_ready(&m->status))
		return false;
	m->forwarded[sig]++;
	log_info("forwarding signal %d to the command", sig);
	snprintf(line, sizeof(line), "signal %d\n", sig);
	run_job_control(m, line);
	return true;
}

int run_job_enter_terminal(struct machine *m)
{
	int ret = terminal_enter_raw(STDIN_FILENO);

	if (ret == 0)
		run_job_send_winsize(m);
	return ret;
}

void run_job_arm_timeout(struct machine *m, uint64_t timeout_ms)
{
	m->timeout_ms = timeout_ms;
	m->deadline_ms = timeout_ms ? now_ms() + timeout_ms : 0;
}

int run_job_poll_timeout(const struct machine *m)
{
	uint64_t now;

	if (!m->deadline_ms)
		return -1;
	now = now_ms();
	if (now >= m->deadline_ms)
		return 0;
	return m->deadline_ms - now > 60000 ? 60000 : (int)(m->deadline_ms - now);
}

/* The guest's last console lines, so that a failed boot explains itself. */
static void run_job_show_tail(const struct machine *m)
{
	char *text = malloc(CONSOLE_TAIL_BYTES + 1);
	size_t n;

	if (!text || m->console_out_fd >= 0) { /* already shown as it came */
		free(text);
		return;
	}
	n = console_tail_copy(&m->tail, text, CONSOLE_TAIL_BYTES + 1);
	if (n) {
		fprintf(stderr, "microvm: the guest's last console output:\n");
		fwrite(text, 1, n, stderr);
		if (text[n - 1] != '\n')
			fputc('\n', stderr);
	}
	free(text);
}

static int run_job_reported_status(const struct machine *m)
{
	unsigned kind = 0, value = 0;

	if (!status_port_final(&m->status, &kind, &value))
		return -1;
	switch (kind) {
	case STATUS_EXITED:
		return (int)(value & 0xff);
	case STATUS_KILLED:
		return 128 + (int)(value & 0x7f);
	default:
		log_error("the guest init could not set up the command (see its message above)");
		run_job_show_tail(m);
		return RUN_EXIT_NO_STATUS;
	}
}

/* The guest stopped on its own without a final report: a panic or a failed boot. */
static int run_job_unreported(const struct machine *m)
{
	if (pvpanic_seen(&m->panic) || console_tail_contains(&m->tail, "Kernel panic - not syncing")) {
		log_error("the guest kernel panicked");
		run_job_show_tail(m);
		return RUN_EXIT_GUEST_PANIC;
	}
	log_error("the guest stopped before reporting the command's status (%s)",
		  status_port_ready(&m->status) ? "microvm-init was running" :
						   "microvm-init never ran: boot failure");
	run_job_show_tail(m);
	return RUN_EXIT_NO_STATUS;
}

int run_job_exit_status(struct machine *m)
{
	int status;

	switch (vm_stop_reason(&m->vm)) {
	case VM_STOP_REPORTED:
		status = run_job_reported_status(m);
		return status >= 0 ? status : RUN_EXIT_NO_STATUS;
	case VM_STOP_POWEROFF:
	case VM_STOP_RESET:
	case VM_STOP_PANIC:
		return run_job_unreported(m);
	case VM_STOP_SIGNAL:
		return 128 + m->stop_signal;
	default:
		return RUN_EXIT_VMM_ERROR;
	}
}
