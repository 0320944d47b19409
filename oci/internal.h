/* internal.h: what the runtime-mode files share: options, log, JSON reading, spec, state, console. */
#ifndef MICROVM_OCI_INTERNAL_H
#define MICROVM_OCI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <sys/types.h>
#include <yaml.h>
#include "../vmm/config.h"
#include "../vmm/util.h"

/* The runtime spec version this runtime speaks (what containerd 1.6 and runc 1.1 write). */
#define OCI_SPEC_VERSION "1.0.2-dev"
/* runc uses /run/runc; ours is separate so the two never read each other's state. */
#define OCI_DEFAULT_ROOT "/run/microvm"
#define OCI_RUNTIME_CONFIG_DEFAULT "/etc/microvm/runtime.yaml"
#define OCI_RUNTIME_CONFIG_ENV "MICROVM_RUNTIME_CONFIG"
/* Annotations in config.json that size the VM (override runtime.yaml). */
#define OCI_ANNOTATION_VCPUS "io.microvm.vcpus"
#define OCI_ANNOTATION_MEMORY "io.microvm.memory"
/* Files in <root>/<id>/. */
#define OCI_STATE_FILE "state.json"
#define OCI_FIFO_FILE "exec.fifo"
#define OCI_EXEC_SOCK_FILE "exec.sock" /* the VMM serves `exec` here (exec_wire.h) */
#define OCI_MAX_ID 1024U
#define OCI_MAX_PATH 4096U
#define OCI_ERR_MAX 512U

/* runc's global options; strings point into argv. */
struct oci_globals {
	const char *root;
	const char *log_path; /* NULL: messages go to stderr only */
	bool log_json;	      /* --log-format json (containerd reads the last "error") */
	bool debug;
	bool systemd_cgroup; /* accepted; the VM is one process, no cgroup is made */
};

/* --- log.c: errors for the caller (stderr and the --log file, as runc writes them) --- */
int oci_log_open(const struct oci_globals *g) MUST_CHECK;
void oci_log_close(void);
void oci_error(const char *fmt, ...) PRINTF_LIKE(1, 2);
void oci_debug(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* --- json.c: JSON in (libyaml: JSON is YAML) and out --- */
struct oci_json {
	yaml_document_t doc;
	bool loaded;
};
/* Parse text; on error err says where. 0, -EINVAL or -ENOMEM. */
int oci_json_parse(struct oci_json *j, const char *text, size_t len, char *err,
		   size_t errlen) MUST_CHECK;
void oci_json_free(struct oci_json *j);
yaml_node_t *oci_json_root(struct oci_json *j);
/* The value of key in a mapping node; NULL if node is not a mapping or has no such key. */
yaml_node_t *oci_json_get(struct oci_json *j, yaml_node_t *map, const char *key);
/* The i-th item of a sequence node, or NULL. */
yaml_node_t *oci_json_item(struct oci_json *j, yaml_node_t *seq, size_t i);
size_t oci_json_len(const yaml_node_t *seq); /* 0 unless a sequence */
/* A scalar's text, or NULL when node is absent or not a scalar. */
const char *oci_json_str(const yaml_node_t *node);
/* Plain (unquoted) scalars only: true/false, decimal integers within max. -EINVAL. */
int oci_json_bool(const yaml_node_t *node, bool *value) MUST_CHECK;
int oci_json_u64(const yaml_node_t *node, uint64_t max, uint64_t *value) MUST_CHECK;
/* Write s as a JSON string (quoted, escaped). */
void oci_json_write_string(FILE *out, const char *s);
/* Read a whole regular file of at most max bytes (NUL-terminated). 0 or -errno. */
int oci_read_file(const char *path, size_t max, char **text, size_t *len) MUST_CHECK;

/* --- spec.c: the parts of config.json that a microVM honours --- */
struct oci_mount {
	char *destination;
	char *source;
	char *type;
	bool bind;     /* type bind, or options bind / rbind */
	bool readonly; /* options ro */
};

struct oci_annotation {
	char *key;
	char *value;
};

struct oci_spec {
	char *oci_version;
	char *root_path; /* as written: absolute, or relative to the bundle */
	bool root_readonly;
	struct config_strv args;
	struct config_strv env;
	char *cwd;
	bool user_set;
	uint32_t uid, gid;
	uint32_t *groups;
	unsigned ngroups;
	bool terminal;
	unsigned short console_rows, console_cols; /* process.consoleSize; 0: not given */
	struct config_rlimit *rlimits;
	unsigned nrlimits;
	char *hostname;
	struct oci_mount *mounts;
	unsigned nmounts;
	struct oci_annotation *annotations;
	unsigned nannotations;
	uint64_t memory_limit; /* linux.resources.memory.limit; 0: none */
};

/* Read <bundle>/config.json. On error a one-line reason is in err. */
int oci_spec_load(const char *bundle, struct oci_spec *spec, char *err,
		  size_t errlen) MUST_CHECK;
int oci_spec_parse(const char *text, size_t len, struct oci_spec *spec, char *err,
		   size_t errlen) MUST_CHECK;
void oci_spec_free(struct oci_spec *spec);
/* runc exec --process FILE: a lone process object into spec's process fields. */
int oci_process_parse(const char *text, size_t len, struct oci_spec *spec, char *err,
		      size_t errlen) MUST_CHECK;
const char *oci_spec_annotation(const struct oci_spec *spec, const char *key);

/* --- runtime_config.c: runtime.yaml plus the spec -> one vm_config --- */
const char *oci_runtime_config_path(void);
/* cfg is initialised here; free it with config_free even on failure. */
int oci_build_vm_config(const struct oci_spec *spec, const char *bundle, struct vm_config *cfg,
			char *err, size_t errlen) MUST_CHECK;

/* --- state.c: <root>/<id>/state.json and the container's status --- */
enum oci_status { OCI_CREATED, OCI_RUNNING, OCI_STOPPED };

struct oci_state {
	char *id;
	char *oci_version;
	char *bundle;
	char *rootfs;
	char *created; /* RFC 3339 with nanoseconds, UTC, as runc prints it */
	pid_t pid;
	unsigned long long start_time; /* /proc/<pid>/stat field 22: tells a reused pid */
	struct oci_annotation *annotations;
	unsigned nannotations;
};

/* runc's rule: [A-Za-z0-9_+.-]+, not "." or "..". */
int oci_check_id(const char *id, char *err, size_t errlen) MUST_CHECK;
/* "<root>/<id>" into out. -ENAMETOOLONG. */
int oci_state_dir(const struct oci_globals *g, const char *id, char *out,
		  size_t outlen) MUST_CHECK;
int oci_state_write(const char *dir, const struct oci_state *st) MUST_CHECK;
/* -ENOENT when the container does not exist. */
int oci_state_read(const char *dir, struct oci_state *st) MUST_CHECK;
void oci_state_free(struct oci_state *st);
enum oci_status oci_state_status(const char *dir, const struct oci_state *st);
const char *oci_status_name(enum oci_status s);
/* runc's `state` output. */
void oci_state_print(FILE *out, const struct oci_state *st, enum oci_status s);
/* Remove the files create made and the directory. 0 or -errno. */
int oci_state_remove(const char *dir) MUST_CHECK;
/* Start time of a live process, 0 when it is gone or a zombie. */
unsigned long long oci_process_start_time(pid_t pid);
/* "2024-01-02T03:04:05.123456789Z", now. */
void oci_now_rfc3339(char *out, size_t outlen);

/* --- console.c: the pseudo-terminal of process.terminal --- */
/*
 * Create a pty, send its master over the unix socket at path with SCM_RIGHTS (as runc
 * does, with the master's name as the message) and return the slave in *slave. 0/-errno.
 */
int oci_console_send(const char *path, int *slave, char *err, size_t errlen) MUST_CHECK;
/* In the new session: make slave the controlling terminal and fds 0, 1 and 2. */
int oci_console_attach(int slave) MUST_CHECK;

/* --- signals.c --- */
/* "9", "KILL", "SIGKILL", "kill" -> 9, as runc kill accepts them. -EINVAL. */
int oci_parse_signal(const char *text, int *sig) MUST_CHECK;

/* --- lifecycle.c and query.c: the commands; each returns the exit status --- */
struct oci_create_opts {
	const char *bundle; /* default: the current directory */
	const char *pid_file;
	const char *console_socket;
};
int oci_cmd_create(const struct oci_globals *g, const char *id, const struct oci_create_opts *o);
/* runc exec's options (exec.c); strings point into argv. */
struct oci_exec_opts {
	const char *process; /* --process FILE: the whole process; else args and the flags */
	const char *pid_file;
	const char *console_socket;
	const char *cwd;
	const char *user; /* "UID[:GID]" */
	bool detach;
	bool tty;
	char **env; /* --env NAME=VALUE, in order */
	unsigned nenv;
	char **gids; /* --additional-gids GID[,GID...], in order */
	unsigned ngids;
	char **args;
	unsigned nargs;
};
int oci_cmd_exec(const struct oci_globals *g, const char *id, const struct oci_exec_opts *o);
/* Send proc to the VMM whose state is in dir and stand for it (exec.c). */
int oci_exec_run(const char *dir, const struct oci_spec *proc, const struct oci_exec_opts *o);
int oci_cmd_start(const struct oci_globals *g, const char *id);
int oci_cmd_kill(const struct oci_globals *g, const char *id, const char *signal);
int oci_cmd_delete(const struct oci_globals *g, const char *id, bool force);
int oci_cmd_state(const struct oci_globals *g, const char *id);
int oci_cmd_ps(const struct oci_globals *g, const char *id, bool json, char **ps_args,
	       int nargs);
int oci_cmd_features(void);

/* lifecycle_child.c: the VMM process create leaves behind. Never returns. */
struct oci_child {
	const struct vm_config *cfg;
	const char *fifo; /* wait here for start */
	int console_slave; /* -1: keep fds 0-2 */
	sigset_t parent_mask; /* the caller's signal mask, restored once handlers are reset */
};
void oci_child_run(const struct oci_child *c) __attribute__((noreturn));

#endif
