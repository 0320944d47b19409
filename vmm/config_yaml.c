/* config_yaml.c: reads a YAML document into struct vm_config, errors as file:line:column. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "config_value.h"
#include "config_yaml.h"
#include "config_yaml_internal.h"

int cy_fail(struct yctx *c, const yaml_node_t *node, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	n = (size_t)snprintf(c->err->msg, sizeof(c->err->msg), "%s:%zu:%zu: ", c->name,
			     node->start_mark.line + 1, node->start_mark.column + 1);
	if (n >= sizeof(c->err->msg))
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err->msg + n, sizeof(c->err->msg) - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

struct config_pos cy_pos_of(const yaml_node_t *node)
{
	return (struct config_pos){ (unsigned)node->start_mark.line + 1,
				    (unsigned)node->start_mark.column + 1 };
}

const char *cy_type_name(const yaml_node_t *node)
{
	return node->type == YAML_MAPPING_NODE ? "a mapping" : "a list";
}

/* A plain empty scalar, "~" or "null": YAML's null, as in "initrd:" with nothing after. */
bool cy_is_null(const yaml_node_t *node)
{
	const char *s = (const char *)node->data.scalar.value;

	return node->type == YAML_SCALAR_NODE && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
		!strcmp(s, "NULL"));
}

/* The text of a scalar value; anything else is a type error naming expect. */
int cy_scalar(struct yctx *c, const char *what, const char *expect, yaml_node_t *node,
		  const char **text)
{
	if (node->type != YAML_SCALAR_NODE)
		return cy_fail(c, node, "%s: expected %s, got %s", what, expect, cy_type_name(node));
	if (cy_is_null(node))
		return cy_fail(c, node, "%s: expected %s, got an empty value", what, expect);
	*text = (const char *)node->data.scalar.value;
	/* Double-quoted "\0" would silently cut the value short in C. */
	if (strlen(*text) != node->data.scalar.length)
		return cy_fail(c, node, "%s: contains a NUL byte", what);
	return 0;
}

/* Store text as a path, joined to the config file's directory if relative. */
static int set_path(struct yctx *c, char **dst, const char *text)
{
	size_t len;
	char *joined;
	int r;

	if (!c->base_dir || text[0] == '/')
		return config_set_string(dst, text);
	len = strlen(c->base_dir) + strlen(text) + 2;
	joined = malloc(len);
	if (!joined)
		return -ENOMEM;
	snprintf(joined, len, "%s/%s", c->base_dir, text);
	r = config_set_string(dst, joined);
	free(joined);
	return r;
}

static const struct key_spec *find_key(const struct key_spec *specs, size_t n, const char *k)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(specs[i].name, k) == 0)
			return &specs[i];
	return NULL;
}

/* Dispatch each key of a mapping to its handler; prefix names the mapping in messages. */
static int walk_mapping(struct yctx *c, yaml_node_t *map, const char *prefix,
			const struct key_spec *specs, size_t nspecs)
{
	unsigned seen_line[MAX_KEYS] = { 0 };
	yaml_node_pair_t *pair;

	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = yaml_document_get_node(c->doc, pair->key);
		yaml_node_t *value = yaml_document_get_node(c->doc, pair->value);
		const struct key_spec *spec;
		const char *k;
		char what[64], q[48];
		int r;

		if (key->type != YAML_SCALAR_NODE)
			return cy_fail(c, key, "%s%skeys must be plain words, got %s", prefix,
				    *prefix ? ": " : "", cy_type_name(key));
		k = (const char *)key->data.scalar.value;
		/* "kernel\0x" must not pass for "kernel". */
		if (strlen(k) != key->data.scalar.length)
			return cy_fail(c, key, "%s%skeys may not contain a NUL byte", prefix,
				    *prefix ? ": " : "");
		config_quote(k, q, sizeof(q));
		spec = find_key(specs, nspecs, k);
		if (!spec)
			return cy_fail(c, key, "%s%sunknown key '%s'", prefix, *prefix ? ": " : "", q);
		if (seen_line[spec - specs])
			return cy_fail(c, key, "%s%sduplicate key '%s' (first at line %u)", prefix,
				    *prefix ? ": " : "", q, seen_line[spec - specs]);
		seen_line[spec - specs] = (unsigned)key->start_mark.line + 1;
		snprintf(what, sizeof(what), "%s%s%s", prefix, *prefix ? "." : "", k);
		r = spec->fn(c, what, value);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Messages for a missing key point at the mapping that lacks it. */
static bool has_key(struct yctx *c, yaml_node_t *map, const char *name)
{
	yaml_node_pair_t *pair;

	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = yaml_document_get_node(c->doc, pair->key);

		if (key->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)key->data.scalar.value, name) == 0)
			return true;
	}
	return false;
}

/* ---- top-level keys ---- */

static int key_vcpus(struct yctx *c, const char *what, yaml_node_t *v)
{
	struct config_why why;
	const char *t;

	if (cy_scalar(c, what, "an integer", v, &t) < 0)
		return -EINVAL;
	if (config_parse_vcpus(t, &c->cfg->vcpus, &why) < 0)
		return cy_fail(c, v, "%s: %s", what, why.msg);
	return 0;
}

static int key_memory(struct yctx *c, const char *what, yaml_node_t *v)
{
	struct config_why why;
	const char *t;

	if (cy_scalar(c, what, "a size", v, &t) < 0)
		return -EINVAL;
	if (config_parse_memory(t, &c->cfg->memory_bytes, &why) < 0)
		return cy_fail(c, v, "%s: %s", what, why.msg);
	return 0;
}

static int path_value(struct yctx *c, const char *what, yaml_node_t *v, char **dst)
{
	struct config_why why;
	const char *t;

	if (cy_scalar(c, what, "a path", v, &t) < 0)
		return -EINVAL;
	if (config_check_path(t, &why) < 0)
		return cy_fail(c, v, "%s: %s", what, why.msg);
	return set_path(c, dst, t);
}

static int key_kernel(struct yctx *c, const char *what, yaml_node_t *v)
{
	c->cfg->kernel_pos = cy_pos_of(v);
	return path_value(c, what, v, &c->cfg->kernel);
}

static int key_initrd(struct yctx *c, const char *what, yaml_node_t *v)
{
	if (cy_is_null(v)) {
		free(c->cfg->initrd);
		c->cfg->initrd = NULL;
		return 0;
	}
	c->cfg->initrd_pos = cy_pos_of(v);
	return path_value(c, what, v, &c->cfg->initrd);
}

static int key_cmdline(struct yctx *c, const char *what, yaml_node_t *v)
{
	struct config_why why;
	const char *t;

	if (cy_scalar(c, what, "a string", v, &t) < 0)
		return -EINVAL;
	if (config_check_cmdline(t, &why) < 0)
		return cy_fail(c, v, "%s: %s", what, why.msg);
	return config_set_string(&c->cfg->cmdline, t);
}

static int key_console_file(struct yctx *c, const char *what, yaml_node_t *v)
{
	c->cfg->console = CONSOLE_FILE;
	c->cfg->console_pos = cy_pos_of(v);
	return path_value(c, what, v, &c->cfg->console_path);
}

static const struct key_spec console_keys[] = {
	{ "file", key_console_file },
};

static int key_console(struct yctx *c, const char *what, yaml_node_t *v)
{
	struct config_why why;
	const char *t, *path;

	c->cfg->console_set = true;
	if (v->type == YAML_MAPPING_NODE) {
		if (!has_key(c, v, "file"))
			return cy_fail(c, v, "%s: missing required key 'file'", what);
		return walk_mapping(c, v, what, console_keys, ARRAY_SIZE(console_keys));
	}
	if (cy_scalar(c, what, "stdio, none, file:PATH or a mapping", v, &t) < 0)
		return -EINVAL;
	if (config_parse_console(t, &c->cfg->console, &path, &why) < 0)
		return cy_fail(c, v, "%s: %s", what, why.msg);
	free(c->cfg->console_path);
	c->cfg->console_path = NULL;
	if (!path)
		return 0;
	c->cfg->console_pos = cy_pos_of(v);
	return set_path(c, &c->cfg->console_path, path);
}

/* ---- share keys ---- */

static int key_tag(struct yctx *c, const char *what, yaml_node_t *v)
{
	struct share_config *s = c->share;
	unsigned i, idx = (unsigned)(s - c->cfg->shares);
	struct config_why why;
	char q[48];
	const char *t;

	if (cy_scalar(c, what, "a string", v, &t) < 0)
		return -EINVAL;
	if (config_check_tag(t, &why) < 0)
		return cy_fail(c, v, "%s: %s", what, why.msg);
	for (i = 0; i < idx; i++) {
		if (c->cfg->shares[i].tag && strcmp(c->cfg->shares[i].tag, t) == 0) {
			config_quote(t, q, sizeof(q));
			return cy_fail(c, v, "%s: duplicate tag '%s' (first at line %u)", what, q,
				    c->tag_line[i]);
		}
	}
	c->tag_line[idx] = (unsigned)v->start_mark.line + 1;
	return config_set_string(&s->tag, t);
}

static int key_path(struct yctx *c, const char *what, yaml_node_t *v)
{
	c->share->path_pos = cy_pos_of(v);
	return path_value(c, what, v, &c->share->path);
}

static int key_queues(struct yctx *c, const char *what, yaml_node_t *v)
{
	struct config_why why;
	const char *t;

	if (cy_scalar(c, what, "an integer", v, &t) < 0)
		return -EINVAL;
	if (config_parse_queues(t, &c->share->queues, &why) < 0)
		return cy_fail(c, v, "%s: %s", what, why.msg);
	return 0;
}

static int share_bool(struct yctx *c, const char *what, yaml_node_t *v, bool *value)
{
	struct config_why why;
	const char *t;

	if (cy_scalar(c, what, "true or false", v, &t) < 0)
		return -EINVAL;
	if (config_parse_bool(t, value, &why) < 0)
		return cy_fail(c, v, "%s: %s", what, why.msg);
	return 0;
}

static int key_readonly(struct yctx *c, const char *what, yaml_node_t *v)
{
	return share_bool(c, what, v, &c->share->readonly);
}

static int key_serve_on_vcpu(struct yctx *c, const char *what, yaml_node_t *v)
{
	return share_bool(c, what, v, &c->share->serve_on_vcpu);
}

static int key_cache(struct yctx *c, const char *what, yaml_node_t *v)
{
	struct config_why why;
	const char *t;

	if (cy_scalar(c, what, "never, auto, always or immutable", v, &t) < 0)
		return -EINVAL;
	c->share->cache_pos = cy_pos_of(v);
	if (config_parse_cache(t, &c->share->cache, &why) < 0)
		return cy_fail(c, v, "%s: %s", what, why.msg);
	return 0;
}

static int key_dax_window(struct yctx *c, const char *what, yaml_node_t *v)
{
	struct config_why why;
	const char *t;

	if (cy_scalar(c, what, "a size", v, &t) < 0)
		return -EINVAL;
	if (config_parse_dax_window(t, &c->share->dax_window, &why) < 0)
		return cy_fail(c, v, "%s: %s", what, why.msg);
	return 0;
}

static const struct key_spec share_keys[] = {
	{ "tag", key_tag },
	{ "path", key_path },
	{ "queues", key_queues },
	{ "readonly", key_readonly },
	{ "cache", key_cache },
	{ "dax_window", key_dax_window },
	{ "serve_on_vcpu", key_serve_on_vcpu },
	{ "mount", cy_key_mount },
};

static int read_share(struct yctx *c, yaml_node_t *item, unsigned idx)
{
	static const char *const required[] = { "tag", "path" };
	struct share_config *s = &c->cfg->shares[idx];
	char prefix[24];
	unsigned i;

	snprintf(prefix, sizeof(prefix), "shares[%u]", idx);
	if (item->type != YAML_MAPPING_NODE)
		return cy_fail(c, item, "%s: expected a mapping with tag and path, got %s", prefix,
			    item->type == YAML_SCALAR_NODE ? "a scalar" : "a list");
	for (i = 0; i < ARRAY_SIZE(required); i++)
		if (!has_key(c, item, required[i]))
			return cy_fail(c, item, "%s: missing required key '%s'", prefix, required[i]);
	config_share_init(s);
	/* Counted before it is filled so that config_free releases a half-read share. */
	c->cfg->nshares = idx + 1;
	c->share = s;
	return walk_mapping(c, item, prefix, share_keys, ARRAY_SIZE(share_keys));
}

static int key_shares(struct yctx *c, const char *what, yaml_node_t *v)
{
	yaml_node_item_t *it;
	unsigned idx = 0;
	int r;

	if (cy_is_null(v))
		return 0; /* "shares:" with every entry commented out */
	if (v->type != YAML_SEQUENCE_NODE)
		return cy_fail(c, v, "%s: expected a list, got %s", what,
			    v->type == YAML_SCALAR_NODE ? "a scalar" : "a mapping");
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++, idx++) {
		yaml_node_t *item = yaml_document_get_node(c->doc, *it);

		if (idx == CONFIG_MAX_SHARES)
			return cy_fail(c, item, "%s: at most %u shares are allowed", what,
				    CONFIG_MAX_SHARES);
		r = read_share(c, item, idx);
		if (r < 0)
			return r;
	}
	return 0;
}

static const struct key_spec top_keys[] = {
	{ "vcpus", key_vcpus },     { "memory", key_memory },   { "kernel", key_kernel },
	{ "initrd", key_initrd },   { "cmdline", key_cmdline }, { "console", key_console },
	{ "shares", key_shares },   { "command", cy_key_command }, { "env", cy_key_env },
	{ "workdir", cy_key_workdir }, { "timeout", cy_key_timeout }, { "root", cy_key_root },
};

/* ---- documents and syntax errors ---- */

/* Reader errors (bad UTF-8) carry a byte offset rather than a mark. */
static void offset_to_mark(const char *text, size_t len, size_t offset, yaml_mark_t *mark)
{
	size_t i;

	mark->line = 0;
	mark->column = 0;
	for (i = 0; i < offset && i < len; i++) {
		if (text[i] == '\n') {
			mark->line++;
			mark->column = 0;
		} else {
			mark->column++;
		}
	}
}

static int syntax_error(struct yctx *c, const yaml_parser_t *p, const char *text, size_t len)
{
	yaml_node_t at = { 0 };

	if (p->error == YAML_MEMORY_ERROR) {
		snprintf(c->err->msg, sizeof(c->err->msg), "%s: out of memory", c->name);
		return -ENOMEM;
	}
	at.start_mark = p->problem_mark;
	if (p->error == YAML_READER_ERROR)
		offset_to_mark(text, len, p->problem_offset, &at.start_mark);
	if (p->context)
		return cy_fail(c, &at, "%s (%s at line %zu, column %zu)", p->problem, p->context,
			    p->context_mark.line + 1, p->context_mark.column + 1);
	return cy_fail(c, &at, "%s", p->problem ? p->problem : "YAML syntax error");
}

static int read_root(struct yctx *c, yaml_node_t *root)
{
	if (!root) {
		yaml_node_t at = { 0 };

		return cy_fail(c, &at, "the file is empty; at least 'kernel: PATH' is required");
	}
	if (root->type != YAML_MAPPING_NODE)
		return cy_fail(c, root, "expected a mapping of keys such as 'kernel: PATH', got %s",
			    root->type == YAML_SCALAR_NODE ? "a scalar" : "a list");
	c->cfg->top_pos = cy_pos_of(root);
	return walk_mapping(c, root, "", top_keys, ARRAY_SIZE(top_keys));
}

/* A second document ("---" then more keys) would be silently ignored otherwise. */
static int check_single_document(struct yctx *c, yaml_parser_t *p, const char *text, size_t len)
{
	yaml_document_t next;
	yaml_node_t *root;
	int r = 0;

	if (!yaml_parser_load(p, &next))
		return syntax_error(c, p, text, len);
	root = yaml_document_get_root_node(&next);
	if (root)
		r = cy_fail(c, root, "only one YAML document is allowed");
	yaml_document_delete(&next);
	return r;
}

/*
 * libyaml 0.2.5 scans nested flow collections in time quadratic in their depth: 100000
 * times "{a: " takes a minute, a 1 MiB file of them ten (libyaml PR 286 and its nesting
 * limit, PR 287, came later). No configuration nests more than a few levels, so walk the
 * events first and refuse anything deeper than CONFIG_MAX_NESTING before the loader reads
 * it; the scanner looks at most 1024 characters ahead, so the walk stops early too.
 */
#define CONFIG_MAX_NESTING 32

static int check_nesting(struct yctx *c, const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	unsigned depth = 0;
	bool end = false;
	int r = 0;

	if (!yaml_parser_initialize(&p)) {
		snprintf(c->err->msg, sizeof(c->err->msg), "%s: out of memory", c->name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	/* A syntax error ends the walk: the loader reports it, with its position. */
	while (r == 0 && !end && yaml_parser_parse(&p, &ev)) {
		if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT)
			depth++;
		else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT)
			depth--;
		if (depth > CONFIG_MAX_NESTING)
			r = cy_fail(c, &(yaml_node_t){ .start_mark = ev.start_mark },
				    "nested more than %u levels deep", CONFIG_MAX_NESTING);
		end = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return r;
}

int config_yaml_parse(const char *name, const char *base_dir, const char *text, size_t len,
		      struct vm_config *cfg, struct config_error *err)
{
	struct yctx c = { .name = name, .base_dir = base_dir, .cfg = cfg, .err = err };
	yaml_parser_t parser;
	yaml_document_t doc;
	int r = check_nesting(&c, text, len);

	if (r)
		return r;
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		r = syntax_error(&c, &parser, text, len);
		yaml_parser_delete(&parser);
		return r;
	}
	c.doc = &doc;
	r = read_root(&c, yaml_document_get_root_node(&doc));
	if (r == 0)
		r = check_single_document(&c, &parser, text, len);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return r;
}
