/* spec.c: read the bundle's config.json (root, process, hostname, mounts, annotations) into struct oci_spec. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "../vmm/config_value.h"
#include "internal.h"

/* Docker's and containerd's specs are a few kilobytes; far more is not a spec. */
#define OCI_SPEC_MAX_BYTES (8U << 20)
#define OCI_MAX_GROUPS 65536U
#define OCI_MAX_RLIMITS 64U
#define OCI_MAX_MOUNTS 1024U
#define OCI_MAX_ANNOTATIONS 4096U

struct spec_ctx {
	struct oci_json j;
	struct oci_spec *spec;
	char *err;
	size_t errlen;
};

static int spec_fail(struct spec_ctx *c, const char *fmt, ...) PRINTF_LIKE(2, 3);

static int spec_fail(struct spec_ctx *c, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(c->err, c->errlen, "config.json: ");

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < c->errlen)
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* An optional string: absent (NULL kept) or a string; anything else is an error. */
static int spec_string(struct spec_ctx *c, yaml_node_t *node, const char *what, char **out)
{
	const char *t;

	if (!node)
		return 0;
	t = oci_json_str(node);
	if (!t)
		return spec_fail(c, "%s: expected a string", what);
	if (config_set_string(out, t) < 0)
		return -ENOMEM;
	return 0;
}

/* JSON null (Go writes it for a nil slice): the same as absent. */
static bool spec_is_null(const yaml_node_t *node)
{
	return node->type == YAML_SCALAR_NODE && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       strcmp((const char *)node->data.scalar.value, "null") == 0;
}

static int spec_strings(struct spec_ctx *c, yaml_node_t *seq, const char *what,
			struct config_strv *out, unsigned max)
{
	size_t i, n = oci_json_len(seq);

	if (seq && seq->type != YAML_SEQUENCE_NODE && !spec_is_null(seq))
		return spec_fail(c, "%s: expected a list of strings", what);
	for (i = 0; i < n; i++) {
		const char *t = oci_json_str(oci_json_item(&c->j, seq, i));

		if (!t)
			return spec_fail(c, "%s[%zu]: expected a string", what, i);
		if (config_strv_push(out, t, max) < 0)
			return spec_fail(c, "%s: too many entries", what);
	}
	return 0;
}

static int spec_u32(struct spec_ctx *c, yaml_node_t *node, const char *what, uint32_t *out)
{
	uint64_t v;

	if (oci_json_u64(node, UINT32_MAX, &v) < 0)
		return spec_fail(c, "%s: expected an integer 0..4294967295", what);
	*out = (uint32_t)v;
	return 0;
}

static int spec_user(struct spec_ctx *c, yaml_node_t *user)
{
	struct oci_spec *s = c->spec;
	yaml_node_t *groups = oci_json_get(&c->j, user, "additionalGids");
	size_t i, n = oci_json_len(groups);
	int r;

	if (!user)
		return 0;
	s->user_set = true;
	r = spec_u32(c, oci_json_get(&c->j, user, "uid"), "process.user.uid", &s->uid);
	if (r == 0)
		r = spec_u32(c, oci_json_get(&c->j, user, "gid"), "process.user.gid", &s->gid);
	if (r || n == 0)
		return r;
	if (n > OCI_MAX_GROUPS)
		return spec_fail(c, "process.user.additionalGids: more than %u", OCI_MAX_GROUPS);
	s->groups = calloc(n, sizeof(*s->groups));
	if (!s->groups)
		return -ENOMEM;
	for (i = 0; i < n && r == 0; i++)
		r = spec_u32(c, oci_json_item(&c->j, groups, i), "process.user.additionalGids",
			     &s->groups[i]);
	s->ngroups = (unsigned)n;
	return r;
}

static int spec_rlimit(struct spec_ctx *c, yaml_node_t *item, struct config_rlimit *rl)
{
	const char *type = oci_json_str(oci_json_get(&c->j, item, "type"));

	if (!type || strlen(type) >= sizeof(rl->name) || strncmp(type, "RLIMIT_", 7) != 0)
		return spec_fail(c, "process.rlimits: type: expected RLIMIT_<NAME>");
	strcpy(rl->name, type);
	if (oci_json_u64(oci_json_get(&c->j, item, "soft"), UINT64_MAX, &rl->soft) < 0 ||
	    oci_json_u64(oci_json_get(&c->j, item, "hard"), UINT64_MAX, &rl->hard) < 0)
		return spec_fail(c, "process.rlimits: %s: soft and hard must be integers", type);
	return 0;
}

static int spec_rlimits(struct spec_ctx *c, yaml_node_t *seq)
{
	struct oci_spec *s = c->spec;
	size_t i, n = oci_json_len(seq);
	int r = 0;

	if (n == 0)
		return 0;
	if (n > OCI_MAX_RLIMITS)
		return spec_fail(c, "process.rlimits: more than %u", OCI_MAX_RLIMITS);
	s->rlimits = calloc(n, sizeof(*s->rlimits));
	if (!s->rlimits)
		return -ENOMEM;
	for (i = 0; i < n && r == 0; i++)
		r = spec_rlimit(c, oci_json_item(&c->j, seq, i), &s->rlimits[i]);
	s->nrlimits = (unsigned)n;
	return r;
}

/* process.consoleSize {height, width}: the terminal's first size (runc sets it so). */
static int spec_console_size(struct spec_ctx *c, yaml_node_t *size)
{
	uint64_t rows, cols;

	if (!size)
		return 0;
	if (oci_json_u64(oci_json_get(&c->j, size, "height"), 0xffff, &rows) < 0 ||
	    oci_json_u64(oci_json_get(&c->j, size, "width"), 0xffff, &cols) < 0)
		return spec_fail(c, "process.consoleSize: height and width must be 0..65535");
	c->spec->console_rows = (unsigned short)rows;
	c->spec->console_cols = (unsigned short)cols;
	return 0;
}

static int spec_process(struct spec_ctx *c, yaml_node_t *p)
{
	struct oci_spec *s = c->spec;
	yaml_node_t *terminal = oci_json_get(&c->j, p, "terminal");
	int r;

	if (!p || p->type != YAML_MAPPING_NODE)
		return spec_fail(c, "process: missing (the container needs a command)");
	r = spec_strings(c, oci_json_get(&c->j, p, "args"), "process.args", &s->args,
			 CONFIG_MAX_COMMAND_WORDS);
	if (r == 0 && s->args.n == 0)
		return spec_fail(c, "process.args: missing or empty");
	if (r == 0)
		r = spec_strings(c, oci_json_get(&c->j, p, "env"), "process.env", &s->env,
				 CONFIG_MAX_ENV);
	if (r == 0)
		r = spec_string(c, oci_json_get(&c->j, p, "cwd"), "process.cwd", &s->cwd);
	if (r == 0 && terminal && oci_json_bool(terminal, &s->terminal) < 0)
		r = spec_fail(c, "process.terminal: expected true or false");
	if (r == 0)
		r = spec_console_size(c, oci_json_get(&c->j, p, "consoleSize"));
	if (r == 0)
		r = spec_user(c, oci_json_get(&c->j, p, "user"));
	if (r == 0)
		r = spec_rlimits(c, oci_json_get(&c->j, p, "rlimits"));
	return r;
}

/* A bind mount is type "bind", or any type with the bind or rbind option (runc's rule). */
static int spec_mount(struct spec_ctx *c, yaml_node_t *item, struct oci_mount *m)
{
	yaml_node_t *opts = oci_json_get(&c->j, item, "options");
	size_t i, n = oci_json_len(opts);
	int r;

	r = spec_string(c, oci_json_get(&c->j, item, "destination"), "mounts.destination",
			&m->destination);
	if (r == 0 && !m->destination)
		return spec_fail(c, "mounts: an entry has no destination");
	if (r == 0)
		r = spec_string(c, oci_json_get(&c->j, item, "source"), "mounts.source", &m->source);
	if (r == 0)
		r = spec_string(c, oci_json_get(&c->j, item, "type"), "mounts.type", &m->type);
	if (r)
		return r;
	m->bind = m->type && strcmp(m->type, "bind") == 0;
	for (i = 0; i < n; i++) {
		const char *o = oci_json_str(oci_json_item(&c->j, opts, i));

		if (!o)
			return spec_fail(c, "mounts: %s: options must be strings", m->destination);
		if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0)
			m->bind = true;
		else if (strcmp(o, "ro") == 0)
			m->readonly = true;
		else if (strcmp(o, "rw") == 0)
			m->readonly = false;
	}
	return 0;
}

static int spec_mounts(struct spec_ctx *c, yaml_node_t *seq)
{
	struct oci_spec *s = c->spec;
	size_t i, n = oci_json_len(seq);
	int r = 0;

	if (n == 0)
		return 0;
	if (n > OCI_MAX_MOUNTS)
		return spec_fail(c, "mounts: more than %u", OCI_MAX_MOUNTS);
	s->mounts = calloc(n, sizeof(*s->mounts));
	if (!s->mounts)
		return -ENOMEM;
	s->nmounts = (unsigned)n;
	for (i = 0; i < n && r == 0; i++)
		r = spec_mount(c, oci_json_item(&c->j, seq, i), &s->mounts[i]);
	return r;
}

static int spec_annotations(struct spec_ctx *c, yaml_node_t *map)
{
	struct oci_spec *s = c->spec;
	yaml_node_pair_t *pair;
	size_t n;

	if (!map || map->type != YAML_MAPPING_NODE)
		return 0;
	n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if (n > OCI_MAX_ANNOTATIONS)
		return spec_fail(c, "annotations: more than %u", OCI_MAX_ANNOTATIONS);
	s->annotations = calloc(n ? n : 1, sizeof(*s->annotations));
	if (!s->annotations)
		return -ENOMEM;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		const char *k = oci_json_str(yaml_document_get_node(&c->j.doc, pair->key));
		const char *v = oci_json_str(yaml_document_get_node(&c->j.doc, pair->value));
		struct oci_annotation *a = &s->annotations[s->nannotations];

		if (!k || !v)
			return spec_fail(c, "annotations: keys and values must be strings");
		a->key = strdup(k);
		a->value = strdup(v);
		s->nannotations++;
		if (!a->key || !a->value)
			return -ENOMEM;
	}
	return 0;
}

/* linux.resources.memory.limit: the VM's memory when no annotation names one. */
static void spec_memory_limit(struct spec_ctx *c, yaml_node_t *linux_node)
{
	yaml_node_t *res = oci_json_get(&c->j, linux_node, "resources");
	yaml_node_t *mem = oci_json_get(&c->j, res, "memory");
	uint64_t v;

	/* Negative (-1: unlimited) or absent: no limit. */
	if (oci_json_u64(oci_json_get(&c->j, mem, "limit"), UINT64_MAX, &v) == 0)
		c->spec->memory_limit = v;
}

static int spec_root(struct spec_ctx *c, yaml_node_t *root)
{
	yaml_node_t *ro = oci_json_get(&c->j, root, "readonly");
	int r;

	r = spec_string(c, oci_json_get(&c->j, root, "path"), "root.path", &c->spec->root_path);
	if (r == 0 && !c->spec->root_path)
		return spec_fail(c, "root.path: missing");
	if (r == 0 && ro && oci_json_bool(ro, &c->spec->root_readonly) < 0)
		return spec_fail(c, "root.readonly: expected true or false");
	return r;
}

int oci_spec_parse(const char *text, size_t len, struct oci_spec *spec, char *err, size_t errlen)
{
	struct spec_ctx c = { .spec = spec, .err = err, .errlen = errlen };
	char why[256];
	yaml_node_t *top;
	int r;

	*spec = (struct oci_spec){ 0 };
	r = oci_json_parse(&c.j, text, len, why, sizeof(why));
	if (r) {
		snprintf(err, errlen, "config.json: %s", why);
		oci_json_free(&c.j);
		return r;
	}
	top = oci_json_root(&c.j);
	if (!top || top->type != YAML_MAPPING_NODE)
		r = spec_fail(&c, "expected a JSON object");
	if (r == 0)
		r = spec_string(&c, oci_json_get(&c.j, top, "ociVersion"), "ociVersion",
				&spec->oci_version);
	if (r == 0)
		r = spec_root(&c, oci_json_get(&c.j, top, "root"));
	if (r == 0)
		r = spec_process(&c, oci_json_get(&c.j, top, "process"));
	if (r == 0)
		r = spec_string(&c, oci_json_get(&c.j, top, "hostname"), "hostname", &spec->hostname);
	if (r == 0)
		r = spec_mounts(&c, oci_json_get(&c.j, top, "mounts"));
	if (r == 0)
		r = spec_annotations(&c, oci_json_get(&c.j, top, "annotations"));
	if (r == 0)
		spec_memory_limit(&c, oci_json_get(&c.j, top, "linux"));
	if (r == -ENOMEM)
		snprintf(err, errlen, "config.json: out of memory");
	oci_json_free(&c.j);
	return r;
}

/* exec --process FILE: the file holds the process object alone (runc's process.json). */
int oci_process_parse(const char *text, size_t len, struct oci_spec *spec, char *err,
		      size_t errlen)
{
	struct spec_ctx c = { .spec = spec, .err = err, .errlen = errlen };
	char why[256];
	int r;

	*spec = (struct oci_spec){ 0 };
	r = oci_json_parse(&c.j, text, len, why, sizeof(why));
	if (r) {
		snprintf(err, errlen, "process.json: %s", why);
		oci_json_free(&c.j);
		return r;
	}
	r = spec_process(&c, oci_json_root(&c.j));
	if (r == -ENOMEM)
		snprintf(err, errlen, "process.json: out of memory");
	oci_json_free(&c.j);
	return r;
}

int oci_spec_load(const char *bundle, struct oci_spec *spec, char *err, size_t errlen)
{
	char path[OCI_MAX_PATH];
	char *text = NULL;
	size_t len = 0;
	int r;

	*spec = (struct oci_spec){ 0 };
	if ((size_t)snprintf(path, sizeof(path), "%s/config.json", bundle) >= sizeof(path)) {
		snprintf(err, errlen, "bundle path too long");
		return -ENAMETOOLONG;
	}
	r = oci_read_file(path, OCI_SPEC_MAX_BYTES, &text, &len);
	if (r) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 r == -EFBIG ? "larger than 8 MiB" : strerror(-r));
		return r;
	}
	r = oci_spec_parse(text, len, spec, err, errlen);
	free(text);
	return r;
}

const char *oci_spec_annotation(const struct oci_spec *spec, const char *key)
{
	unsigned i;

	for (i = 0; i < spec->nannotations; i++)
		if (strcmp(spec->annotations[i].key, key) == 0)
			return spec->annotations[i].value;
	return NULL;
}

void oci_spec_free(struct oci_spec *spec)
{
	unsigned i;

	free(spec->oci_version);
	free(spec->root_path);
	config_strv_clear(&spec->args);
	config_strv_clear(&spec->env);
	free(spec->cwd);
	free(spec->groups);
	free(spec->rlimits);
	free(spec->hostname);
	for (i = 0; i < spec->nmounts; i++) {
		free(spec->mounts[i].destination);
		free(spec->mounts[i].source);
		free(spec->mounts[i].type);
	}
	free(spec->mounts);
	for (i = 0; i < spec->nannotations; i++) {
		free(spec->annotations[i].key);
		free(spec->annotations[i].value);
	}
	free(spec->annotations);
	*spec = (struct oci_spec){ 0 };
}
