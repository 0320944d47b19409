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

enum cache_mode { CACHE_NEVER, CACHE_AUTO, CACHE_ALWAYS };

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
	struct config_pos path_pos;
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
	/* --seccomp=off, for debugging only: no thread loads its filter (vmm/seccomp.c). */
	bool seccomp_off;
	/* Positions for the whole-config checks in config_validate. */
	struct config_pos top_pos; /* the top-level mapping: "kernel" missing */
	struct config_pos kernel_pos;
	struct config_pos initrd_pos;
	struct config_pos console_pos;
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

#endif
