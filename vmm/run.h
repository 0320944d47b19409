/* run.h: boot and run one VM from a validated configuration; returns the process exit status. */
#ifndef MICROVM_RUN_H
#define MICROVM_RUN_H

#include "config.h"

/*
 * Exit statuses (also in microvm(1)). With a command: the command's status, or 128 + N
 * when a signal N killed it. Microvm's own outcomes sit just below 126/127 (which the
 * guest init uses, like a shell, for a command it cannot run), as docker run does.
 */
#define RUN_EXIT_GUEST_STOPPED 0 /* no command: the guest powered off or rebooted */
#define RUN_EXIT_NO_STATUS 122   /* the guest stopped before init reported the status */
#define RUN_EXIT_GUEST_PANIC 123 /* the guest kernel panicked */
#define RUN_EXIT_TIMEOUT 124     /* timeout: expired (the status timeout(1) uses) */
#define RUN_EXIT_VMM_ERROR 125   /* KVM unusable, kernel not loadable, vCPU or device failure */
/* Stopped by a signal: 128 + the signal number, as a shell reports it. */

int run_vm(const struct vm_config *cfg);

#endif
