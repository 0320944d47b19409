/* config.h: the typed VM configuration that vm.yaml and command-line overrides fill. */
#ifndef MICROVM_CONFIG_H
#define MICROVM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util.h"

/* All defaults in one place. */
#define CONFIG_DEFAULT_VCPUS 1U
#define CONFIG_MAX_VCPUS 64U
#define CONFIG_DEFAULT_MEMORY (256ULL << 20)
#define CONFIG_MIN_MEMORY (32ULL << 20)
#define CONFIG_MAX_MEMORY (1ULL << 40)
#define CONFIG_DEFAULT_CMDLINE "console=ttyS0 quiet panic=-1"
#define CONFIG_MAX_SHARES 8U
#define CONFIG_MAX_SHARE_QUEUES 16U
#define CONFIG_MAX_TAG_BYTES 36U
#define CONFIG_MAX_DAX_WINDOW (64ULL << 30)
#define CONFIG_DAX_ALIGN (2ULL << 20) /* DAX mappings use 2 MiB granules */
#define CONFIG_MEMORY_ALIGN 4096ULL    /* KVM memory slots are page-granular */

enum console_kind {
	CONSOLE_STDIO, /* guest serial <-> our stdin/stdout (raw mode on a tty) */
	CONSOLE_FILE,  /* guest serial output appended to console_path; no input */
	CONSOLE_NONE,  /* output discarded */
};

/*
 * IMMUTABLE: like ALWAYS, and the host promises the tree will not change while the VM
 * runs, so nothing the guest learnt ever expires (read-only shares only).
 */
enum cache_mode { CACHE_NEVER, CACHE_AUTO, CACHE_ALWAYS, CACHE_IMMUTABLE };

#define CONFIG_MAX_COMMAND_WORDS 4096U
#define CONFIG_MAX_ENV 4096U
#define CONFIG_MAX_TIMEOUT_MS (365ULL * 24 * 3600 * 1000)

/*
 * Where a value was written in the YAML file, 1-based, so that config_validate, which runs
 * after command-line overrides, can still name file:line:column. line 0: the value came
 * from the command line or is a default.
 */
struct config_pos {
	unsigned line;
	unsigned column;
};

struct share_config {
	char *tag;
	char *path;
	unsigned queues;
	bool readonly;
	enum cache_mode cache;
	uint64_t dax_window; /* bytes; 0 = no DAX */
	bool serve_on_vcpu;  /* quick requests served on the notifying vCPU (default true) */
	char *mount;	     /* command mode: where the guest init mounts it; NULL: not */
	struct config_pos path_pos;
	struct config_pos cache_pos;
	struct config_pos mount_pos;
};

/* A list of strings (argv, environment), NULL-terminated for execve-like use. */
struct config_strv {
	char **v;
	unsigned n;
};

/* One resource limit for the command (OCI process.rlimits). */
struct config_rlimit {
	char name[24]; /* "RLIMIT_NOFILE" */
	uint64_t soft, hard;
};

/*
 * How the command runs beyond argv/env/cwd: filled by the OCI runtime from config.json
 * (no vm.yaml keys). Zeroed: as root, no extra groups, no terminal.
 */
struct config_process {
	bool user_set;
	uint32_t uid, gid;
	uint32_t *groups; /* additional gids, malloc'd */
	unsigned ngroups;
	bool terminal;
	struct config_rlimit *rlimits; /* malloc'd */
	unsigned nrlimits;
	char *hostname;
};

struct vm_config {
	char *source; /* file the config came from, for messages; NULL if none */
	unsigned vcpus;
	uint64_t memory_bytes;
	char *kernel;
	char *initrd; /* NULL: none */
	char *cmdline; /* may be the built-in default: release only with config_free */
	enum console_kind console;
	char *console_path; /* CONSOLE_FILE only */
	struct share_config shares[CONFIG_MAX_SHARES];
	unsigned nshares;
	bool console_set; /* console: or --console given (command mode hides it otherwise) */
	/* --seccomp=off, for debugging only: no thread loads its filter (vmm/seccomp.c). */
	bool seccomp_off;
	/*
	 * Command mode (command.n > 0): microvm-init in the initrd runs the command with env
	 * and workdir, the root share (root_tag) as / and the shares with a mount point
	 * mounted; microvm exits with the command's status.
	 */
	struct config_strv command;
	struct config_strv env;
	char *workdir;	     /* NULL: / */
	char *root_tag;	     /* NULL: the initramfs stays the root */
	struct config_process process;
	uint64_t timeout_ms; /* 0: none */
	/* Positions for the whole-config checks in config_validate. */
	struct config_pos top_pos; /* the top-level mapping: "kernel" missing */
	struct config_pos kernel_pos;
	struct config_pos initrd_pos;
	struct config_pos console_pos;
	struct config_pos command_pos;
	struct config_pos root_pos;
	struct config_pos workdir_pos;
};

/* One error message, already "file:line:column: what is wrong". */
struct config_error {
	char msg[512];
};

/* Defaults for everything; kernel stays NULL (required). */
void config_init(struct vm_config *cfg);
/*
 * Parse path into cfg (initialised by config_init), checking every value's type and range
 * as it is read; relative paths in the file resolve against the file's directory.
 * -EINVAL / -errno. Call config_validate after command-line overrides.
 */
int config_load_file(const char *path, struct vm_config *cfg, struct config_error *err) MUST_CHECK;
/* Same, from a string (tests, fuzzing); name is used in messages; paths stay as written. */
int config_load_string(const char *name, const char *text, size_t len,
		       struct vm_config *cfg, struct config_error *err) MUST_CHECK;
/* Checks that need the whole config: kernel given, files exist. */
int config_validate(const struct vm_config *cfg, struct config_error *err) MUST_CHECK;
/* "256M", "1G", "1073741824" -> bytes. -EINVAL on junk or overflow. */
int config_parse_size(const char *text, uint64_t *bytes) MUST_CHECK;
void config_free(struct vm_config *cfg);
/* A share's defaults: one queue, cache auto, writable, quick requests on the vCPU. */
void config_share_init(struct share_config *s);
/* Does any share serve quick requests on the vCPU threads (their seccomp role)? */
bool config_serves_on_vcpu(const struct vm_config *cfg);
/* Append a copy of s to list. -ENOMEM, or -E2BIG past max entries. */
int config_strv_push(struct config_strv *list, const char *s, unsigned max) MUST_CHECK;
void config_strv_clear(struct config_strv *list);
/* The share with this tag, or NULL. */
const struct share_config *config_find_share(const struct vm_config *cfg, const char *tag);

#endif
