/* config.c: defaults, loading from a file or string, whole-config validation, freeing. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"
#include "config_value.h"
#include "config_internal.h"
#include "config_yaml.h"

/* A config file is a handful of lines; anything this big is a mistake. */
#define CONFIG_MAX_FILE_BYTES (1U << 20)
/* Paths in messages are shortened to fit err->msg beside the position and the problem. */
#define PATH_QUOTE_BYTES 300

/* Not heap memory: config_set_string and config_free know not to free it. */
static char default_cmdline[] = CONFIG_DEFAULT_CMDLINE;

bool config_is_default_cmdline(const char *s)
{
	return s == default_cmdline;
}

void config_init(struct vm_config *cfg)
{
	*cfg = (struct vm_config){
		.vcpus = CONFIG_DEFAULT_VCPUS,
		.memory_bytes = CONFIG_DEFAULT_MEMORY,
		.cmdline = default_cmdline,
		.console = CONSOLE_STDIO,
	};
}

void config_share_init(struct share_config *s)
{
	*s = (struct share_config){ .queues = 1, .cache = CACHE_AUTO, .serve_on_vcpu = true };
}

bool config_serves_on_vcpu(const struct vm_config *cfg)
{
	unsigned i;

	for (i = 0; i < cfg->nshares; i++)
		if (cfg->shares[i].serve_on_vcpu)
			return true;
	return false;
}

void config_free(struct vm_config *cfg)
{
	unsigned i;

	for (i = 0; i < cfg->nshares && i < CONFIG_MAX_SHARES; i++) {
		free(cfg->shares[i].tag);
		free(cfg->shares[i].path);
		free(cfg->shares[i].mount);
	}
	config_strv_clear(&cfg->command);
	config_strv_clear(&cfg->env);
	free(cfg->workdir);
	free(cfg->root_tag);
	free(cfg->process.groups);
	free(cfg->process.rlimits);
	free(cfg->process.hostname);
	if (!config_is_default_cmdline(cfg->cmdline))
		free(cfg->cmdline);
	free(cfg->source);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->console_path);
	config_init(cfg);
}

int config_load_string(const char *name, const char *text, size_t len, struct vm_config *cfg,
		       struct config_error *err)
{
	if (config_set_string(&cfg->source, name) < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
		return -ENOMEM;
	}
	return config_yaml_parse(cfg->source, NULL, text, len, cfg, err);
}

static int read_whole_file(const char *path, char **text, size_t *len, struct config_error *err)
{
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_FILE_BYTES) {
		snprintf(err->msg, sizeof(err->msg), "%s: not a regular file of at most %u bytes",
			 path, CONFIG_MAX_FILE_BYTES);
		close(fd);
		return -EINVAL;
	}
	*text = malloc((size_t)st.st_size + 1);
	if (!*text) {
		r = -ENOMEM;
		goto out;
	}
	n = read(fd, *text, (size_t)st.st_size + 1);
	if (n < 0) {
		r = -errno;
		free(*text);
		goto out;
	}
	*len = (size_t)n > (size_t)st.st_size ? (size_t)st.st_size : (size_t)n;
out:
	if (r < 0)
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path, strerror(-r));
	if (fd >= 0)
		close(fd);
	return r;
}

/* Relative paths in the file mean "next to the file", not "next to the caller". */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return NULL;
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int config_load_file(const char *path, struct vm_config *cfg, struct config_error *err)
{
	char *text = NULL, *dir = dir_of(path);
	size_t len = 0;
	int r;

	if ((strchr(path, '/') && !dir) || config_set_string(&cfg->source, path) < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", path);
		free(dir);
		return -ENOMEM;
	}
	r = read_whole_file(path, &text, &len, err);
	if (r == 0)
		r = config_yaml_parse(path, dir, text, len, cfg, err);
	free(dir);
	free(text);
	return r;
}

/* "file:line:col: " for values from the file, "--flag: " for values from the command line. */
int config_fail_at(const struct vm_config *cfg, struct config_pos pos, const char *flag,
		   struct config_error *err, const char *fmt, ...)
{
	size_t n = 0;
	va_list ap;

	if (pos.line && cfg->source)
		n = (size_t)snprintf(err->msg, sizeof(err->msg), "%s:%u:%u: ", cfg->source,
				     pos.line, pos.column);
	else if (flag)
		n = (size_t)snprintf(err->msg, sizeof(err->msg), "%s: ", flag);
	if (n >= sizeof(err->msg))
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* 0 if path names an existing file of the wanted kind, else a description of the problem. */
static const char *file_problem(const char *path, mode_t kind)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return strerror(errno);
	if ((st.st_mode & S_IFMT) != kind)
		return kind == S_IFDIR ? "not a directory" : "not a regular file";
	return NULL;
}

static int check_file(const struct vm_config *cfg, const char *key, const char *flag,
		      const char *path, struct config_pos pos, mode_t kind,
		      struct config_error *err)
{
	const char *problem = file_problem(path, kind);
	char q[PATH_QUOTE_BYTES];

	if (!problem)
		return 0;
	config_quote(path, q, sizeof(q));
	if (pos.line && cfg->source)
		return config_fail_at(cfg, pos, flag, err, "%s: %s: %s", key, q, problem);
	return config_fail_at(cfg, pos, flag, err, "%s: %s", q, problem);
}

/* The log file may not exist yet, but its directory must, and it must not be a directory. */
static int check_console(const struct vm_config *cfg, struct config_error *err)
{
	const char *key = cfg->console_pos.line ? "console: " : "";
	char q[PATH_QUOTE_BYTES];
	struct stat st;
	char *dir;
	int r = 0;

	if (cfg->console != CONSOLE_FILE)
		return 0;
	config_quote(cfg->console_path, q, sizeof(q));
	if (stat(cfg->console_path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return config_fail_at(cfg, cfg->console_pos, "--console", err,
				       "%s%s: is a directory", key, q);
		return 0;
	}
	dir = dir_of(cfg->console_path);
	if (dir && file_problem(dir, S_IFDIR))
		r = config_fail_at(cfg, cfg->console_pos, "--console", err, "%s%s: %s", key, q,
			    file_problem(dir, S_IFDIR));
	free(dir);
	return r;
}

static int check_kernel_given(const struct vm_config *cfg, struct config_error *err)
{
	if (cfg->kernel)
		return 0;
	if (cfg->top_pos.line)
		return config_fail_at(cfg, cfg->top_pos, NULL, err, "missing required key 'kernel'");
	snprintf(err->msg, sizeof(err->msg),
		 "no kernel: give --kernel PATH or 'kernel:' in the --config file");
	return -EINVAL;
}

int config_validate(const struct vm_config *cfg, struct config_error *err)
{
	unsigned i;
	int r;

	r = check_kernel_given(cfg, err);
	if (r == 0)
		r = check_file(cfg, "kernel", "--kernel", cfg->kernel, cfg->kernel_pos, S_IFREG,
			       err);
	if (r == 0 && cfg->initrd)
		r = check_file(cfg, "initrd", "--initrd", cfg->initrd, cfg->initrd_pos, S_IFREG,
			       err);
	for (i = 0; r == 0 && i < cfg->nshares; i++) {
		char key[32];

		snprintf(key, sizeof(key), "shares[%u].path", i);
		r = check_file(cfg, key, "shares", cfg->shares[i].path, cfg->shares[i].path_pos,
			       S_IFDIR, err);
	}
	if (r == 0)
		r = check_console(cfg, err);
	if (r == 0)
		r = config_validate_job(cfg, err);
	return r;
}
