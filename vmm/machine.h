/* machine.h: everything one running VM owns besides struct vm (run.c and run_job.c). */
#ifndef MICROVM_MACHINE_H
#define MICROVM_MACHINE_H

#include <signal.h>
#include "../devices/acpi_pm/acpi_pm.h"
#include "../devices/i8042/i8042.h"
#include "../devices/pvpanic/pvpanic.h"
#include "../devices/serial/console_tail.h"
#include "../devices/serial/uart8250.h"
#include "../devices/status_port/status_port.h"
#include "../devices/virtio_console/console.h"
#include "config.h"
#include "job.h"
#include "layout.h"
#include "run_exec.h"
#include "sandbox.h"
#include "shares.h"
#include "vm.h"

struct machine {
	struct vm vm;
	struct uart8250 uart;
	struct i8042 kbc;
	struct acpi_pm pm;
	struct status_port status;
	struct pvpanic panic;
	struct shares shares;
	struct sandbox sandbox; /* the share paths to open after it (sandbox_share_path) */
	struct vcon_device stdio;  /* command mode: the command's stdin, stdout, stderr */
	bool stdio_created;
	int control_fd[2]; /* pipe: [1] microvm writes control lines, [0] feeds the port */
	unsigned forwarded[NSIG]; /* per signal: how often it was forwarded to the command */
	struct run_exec exec;     /* runtime mode: exec'd processes (run_exec.c) */
	/* Every virtio-mmio device as the DSDT and the command line name it. */
	struct acpi_mmio_device virtio[LAYOUT_VIRTIO_MAX_DEVICES];
	unsigned nvirtio;
	struct console_tail tail; /* command mode: the kernel console, kept to explain failures */
	struct job_blob job;	  /* command mode: the archive appended to the initrd */
	bool command_mode;
	unsigned vcpus_created;
	int console_out_fd; /* -1: discard */
	int console_in_fd;  /* -1: no input */
	int signal_fd;
	int stop_signal;      /* the signal that stopped us, 0 if none */
	uint64_t timeout_ms;  /* timeout: as configured; 0: none */
	uint64_t deadline_ms; /* CLOCK_MONOTONIC ms when the timeout fires; 0: none */
	char err[256];
};

/* run.c: open path for the guest's console output (append); a message in m->err on failure. */
int machine_open_console_file(struct machine *m, const char *path) MUST_CHECK;

/* run_job.c: command mode. */
/* Where the kernel console goes with a command: hidden (kept in tail) unless asked for. */
int run_job_console(struct machine *m, const struct vm_config *cfg) MUST_CHECK;
/* Build the job archive. */
int run_job_prepare(struct machine *m, const struct vm_config *cfg) MUST_CHECK;
/* The exit status of a command-mode run after the VM stopped, with a message when it failed. */
int run_job_exit_status(struct machine *m);
/* The virtio-console device with the stdin, stdout and stderr ports, after the shares. */
int run_job_create_stdio(struct machine *m, const struct vm_config *cfg) MUST_CHECK;
/* After the vCPUs stopped: write out what the guest sent, then release the device. */
void run_job_destroy_stdio(struct machine *m);
/*
 * A signal to microvm while the command runs: forwarded to it through the control port
 * (true), or false when microvm should stop: SIGINT/SIGTERM/SIGHUP before microvm-init
 * runs, or the third of one of them (a command that ignores them does not make microvm
 * unstoppable).
 */
bool run_job_signal(struct machine *m, int sig);
/* The command has a terminal: our stdin (a tty) in raw mode, its size sent now. */
int run_job_enter_terminal(struct machine *m) MUST_CHECK;
/* Start the clock of timeout: (0: none); it covers the boot too. */
void run_job_arm_timeout(struct machine *m, uint64_t timeout_ms);
/* Milliseconds until the timeout, -1 for none (a poll timeout). */
int run_job_poll_timeout(const struct machine *m);

#endif
