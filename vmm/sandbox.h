/* sandbox.h: the VMM in a private mount namespace with only the shares, and fewer capabilities. */
#ifndef MICROVM_SANDBOX_H
#define MICROVM_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include "config.h"
#include "util.h"

#define SANDBOX_MAX_SHARES CONFIG_MAX_SHARES
/* Where share i appears once the process has its private root: "/shares/<i>". */
#define SANDBOX_SHARES_DIR "/shares"

struct sandbox_share {
	const char *path; /* the host directory, as configured */
	bool readonly;	  /* bind-mounted read-only as well as served read-only */
};

struct sandbox_config {
	bool enable; /* false: nothing at all changes (for debugging) */
	unsigned nshares;
	struct sandbox_share shares[SANDBOX_MAX_SHARES];
};

/* What sandbox_enter did; filled by it, read-only afterwards. */
struct sandbox {
	bool private_root; /* in a private mount namespace, pivoted into a tmpfs root */
	bool caps_dropped; /* effective/permitted/inheritable cut to sandbox.c's kept list */
	bool bounding_dropped; /* ... and the bounding set too (needs CAP_SETPCAP) */
	unsigned nshares;
	const char *host_path[SANDBOX_MAX_SHARES]; /* the config's strings, not copied */
	char path[SANDBOX_MAX_SHARES][32];	   /* what the process opens from now on */
};

/* The shares of a VM config; enable as given (the lead's `sandbox: off` would clear it). */
void sandbox_config_from_vm(const struct vm_config *vc, bool enable, struct sandbox_config *sc);

/*
 * Move the calling process into its sandbox (see sandbox.c for the model). Must run while
 * the process has exactly one thread: -EINVAL otherwise. A share path that does not
 * exist or is not a directory is an error naming it. Without CAP_SYS_ADMIN the mount
 * part is skipped with one log_info line and the paths stay the host's. 0 or -errno;
 * on failure a one-line reason is in err and the process must not go on to run a guest
 * (it may be half-way: in the namespace, capabilities not yet dropped).
 */
int sandbox_enter(struct sandbox *sb, const struct sandbox_config *cfg, char *err,
		  size_t errlen) MUST_CHECK;

/* The path to open share i by after sandbox_enter: "/shares/<i>" or the host path. */
const char *sandbox_share_path(const struct sandbox *sb, unsigned i);

#endif
