/* runtime_config.c: one vm_config per container: runtime.yaml (kernel, initrd, sizes) plus the spec (root, mounts, process). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../vmm/config_value.h"
#include "../vmm/layout.h"
#include "internal.h"

#define OCI_ROOT_TAG "oci-root"
/* With a command, one virtio-mmio slot carries the stdio (vmm/config_job.c). */
#define OCI_MAX_SHARES (LAYOUT_VIRTIO_MAX_DEVICES - 1U)

struct rc_ctx {
	const struct oci_spec *spec;
	const char *bundle;
	struct vm_config *cfg;
	char *err;
	size_t errlen;
};

static int rc_fail(struct rc_ctx *c, const char *fmt, ...) PRINTF_LIKE(2, 3);

static int rc_fail(struct rc_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const char *oci_runtime_config_path(void)
{
	const char *env = getenv(OCI_RUNTIME_CONFIG_ENV);

	return env && *env ? env : OCI_RUNTIME_CONFIG_DEFAULT;
}

/* The file gives the machine; the container's own command, env, cwd and root replace its. */
static int rc_load(struct rc_ctx *c)
{
	const char *path = oci_runtime_config_path();
	struct config_error cerr = { { 0 } };
	struct vm_config *cfg = c->cfg;

	if (access(path, R_OK) < 0)
		return rc_fail(c, "runtime configuration %s: %s (it names the guest kernel and "
			       "initrd: see RUNTIME MODE in microvm(1); %s= picks another file)",
			       path, strerror(errno), OCI_RUNTIME_CONFIG_ENV);
	if (config_load_file(path, cfg, &cerr) < 0)
		return rc_fail(c, "%s", cerr.msg);
	config_strv_clear(&cfg->command);
	config_strv_clear(&cfg->env);
	free(cfg->workdir);
	free(cfg->root_tag);
	cfg->workdir = NULL;
	cfg->root_tag = NULL;
	return 0;
}

/* A path from the spec: absolute, or relative to the bundle. */
static char *rc_bundle_path(const char *bundle, const char *path)
{
	char *out;

	if (path[0] == '/')
		return strdup(path);
	if (asprintf(&out, "%s/%s", bundle, path) < 0)
		return NULL;
	return out;
}

static int rc_add_share(struct rc_ctx *c, const char *tag, const char *path, const char *mount,
			bool readonly)
{
	struct vm_config *cfg = c->cfg;
	struct share_config *s;

	if (cfg->nshares >= OCI_MAX_SHARES)
		return rc_fail(c, "too many host directories: a microVM shares at most %u (the "
			       "root file system and %u bind mounts of directories)",
			       OCI_MAX_SHARES, OCI_MAX_SHARES - 1);
	if (config_find_share(cfg, tag))
		return rc_fail(c, "%s: the share tag '%s' is the runtime's: use another in %s",
			       oci_runtime_config_path(), tag, oci_runtime_config_path());
	s = &cfg->shares[cfg->nshares++];
	config_share_init(s);
	s->readonly = readonly;
	s->tag = strdup(tag);
	s->path = rc_bundle_path(c->bundle, path);
	s->mount = mount ? strdup(mount) : NULL;
	if (!s->tag || !s->path || (mount && !s->mount))
		return rc_fail(c, "out of memory");
	return 0;
}

/* The guest init mounts its own /proc, /sys, /dev (with /dev/pts and /dev/shm). */
static bool rc_guest_owned(const char *dest)
{
	static const char *const owned[] = { "/proc", "/sys", "/dev" };
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(owned); i++) {
		n = strlen(owned[i]);
		if (strncmp(dest, owned[i], n) == 0 && (dest[n] == '\0' || dest[n] == '/'))
			return true;
	}
	return strcmp(dest, "/") == 0;
}

/* A bind mount of a host directory becomes a share mounted at its destination. */
static int rc_mount(struct rc_ctx *c, const struct oci_mount *m, unsigned index)
{
	struct config_why why;
	struct stat st;
	char tag[24], *src;
	int r;

	if (!m->bind || !m->source) {
		oci_debug("mount %s (%s): skipped, the guest init mounts its own", m->destination,
			  m->type ? m->type : "no type");
		return 0;
	}
	if (config_check_guest_path(m->destination, &why) < 0)
		return rc_fail(c, "mounts: %s: %s", m->destination, why.msg);
	if (rc_guest_owned(m->destination)) {
		oci_debug("mount %s: skipped, the guest init owns it", m->destination);
		return 0;
	}
	src = rc_bundle_path(c->bundle, m->source);
	if (!src)
		return rc_fail(c, "out of memory");
	r = stat(src, &st);
	free(src);
	if (r < 0)
		return rc_fail(c, "mounts: %s: source %s: %s", m->destination, m->source,
			       strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		/* virtio-fs shares directories; /etc/hosts and friends stay the image's. */
		oci_debug("mount %s: skipped, %s is not a directory", m->destination, m->source);
		return 0;
	}
	snprintf(tag, sizeof(tag), "oci-mount%u", index);
	return rc_add_share(c, tag, m->source, m->destination, m->readonly);
}

static int rc_process(struct rc_ctx *c)
{
	const struct oci_spec *s = c->spec;
	struct vm_config *cfg = c->cfg;
	struct config_why why;
	unsigned i;

	for (i = 0; i < s->args.n; i++)
		if (config_strv_push(&cfg->command, s->args.v[i], CONFIG_MAX_COMMAND_WORDS) < 0)
			return rc_fail(c, "process.args: out of memory");
	for (i = 0; i < s->env.n; i++) {
		if (config_check_env(s->env.v[i], &why) < 0)
			return rc_fail(c, "process.env: %s", why.msg);
		if (config_strv_push(&cfg->env, s->env.v[i], CONFIG_MAX_ENV) < 0)
			return rc_fail(c, "process.env: out of memory");
	}
	if (s->cwd && s->cwd[0]) {
		if (config_check_guest_path(s->cwd, &why) < 0)
			return rc_fail(c, "process.cwd: %s", why.msg);
		if (config_set_string(&cfg->workdir, s->cwd) < 0)
			return rc_fail(c, "out of memory");
	}
	return 0;
}

/* user, groups, terminal, rlimits, hostname: the guest init applies them. */
static int rc_settings(struct rc_ctx *c)
{
	const struct oci_spec *s = c->spec;
	struct config_process *p = &c->cfg->process;

	p->user_set = s->user_set;
	p->uid = s->uid;
	p->gid = s->gid;
	p->terminal = s->terminal;
	if (s->ngroups) {
		p->groups = calloc(s->ngroups, sizeof(*p->groups));
		if (!p->groups)
			return rc_fail(c, "out of memory");
		memcpy(p->groups, s->groups, s->ngroups * sizeof(*p->groups));
		p->ngroups = s->ngroups;
	}
	if (s->nrlimits) {
		p->rlimits = calloc(s->nrlimits, sizeof(*p->rlimits));
		if (!p->rlimits)
			return rc_fail(c, "out of memory");
		memcpy(p->rlimits, s->rlimits, s->nrlimits * sizeof(*p->rlimits));
		p->nrlimits = s->nrlimits;
	}
	if (s->hostname && s->hostname[0] && config_set_string(&p->hostname, s->hostname) < 0)
		return rc_fail(c, "out of memory");
	return 0;
}

/* Annotations first; else a memory limit (docker run -m) sizes the VM's RAM. */
static int rc_sizes(struct rc_ctx *c)
{
	const char *vcpus = oci_spec_annotation(c->spec, OCI_ANNOTATION_VCPUS);
	const char *memory = oci_spec_annotation(c->spec, OCI_ANNOTATION_MEMORY);
	uint64_t limit = c->spec->memory_limit;
	struct config_why why;

	if (vcpus && config_parse_vcpus(vcpus, &c->cfg->vcpus, &why) < 0)
		return rc_fail(c, "annotation %s: %s", OCI_ANNOTATION_VCPUS, why.msg);
	if (memory && config_parse_memory(memory, &c->cfg->memory_bytes, &why) < 0)
		return rc_fail(c, "annotation %s: %s", OCI_ANNOTATION_MEMORY, why.msg);
	if (!memory && limit > 0 && limit <= CONFIG_MAX_MEMORY) {
		limit = (limit + (1ULL << 20) - 1) & ~((1ULL << 20) - 1);
		c->cfg->memory_bytes = limit < CONFIG_MIN_MEMORY ? CONFIG_MIN_MEMORY : limit;
	}
	return 0;
}

int oci_build_vm_config(const struct oci_spec *spec, const char *bundle, struct vm_config *cfg,
			char *err, size_t errlen)
{
	struct rc_ctx c = { spec, bundle, cfg, err, errlen };
	struct config_error cerr = { { 0 } };
	unsigned i;
	int r;

	config_init(cfg);
	r = rc_load(&c);
	if (r == 0)
		r = rc_add_share(&c, OCI_ROOT_TAG, spec->root_path, NULL, spec->root_readonly);
	if (r == 0 && config_set_string(&cfg->root_tag, OCI_ROOT_TAG) < 0)
		r = rc_fail(&c, "out of memory");
	for (i = 0; r == 0 && i < spec->nmounts; i++)
		r = rc_mount(&c, &spec->mounts[i], i);
	if (r == 0)
		r = rc_process(&c);
	if (r == 0)
		r = rc_settings(&c);
	if (r == 0)
		r = rc_sizes(&c);
	if (r == 0 && config_validate(cfg, &cerr) < 0)
		r = rc_fail(&c, "%s", cerr.msg);
	return r;
}
