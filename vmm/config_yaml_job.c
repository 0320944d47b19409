/* config_yaml_job.c: the YAML keys of command mode: command, env, workdir, timeout, root, shares[].mount. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_value.h"
#include "config_yaml_internal.h"

/* Report a full list or no memory at the entry that did not fit. */
static int push_word(struct yctx *c, const char *what, yaml_node_t *at, struct config_strv *list,
		     const char *word, unsigned max)
{
	int r = config_strv_push(list, word, max);

	if (r == -E2BIG)
		return cy_fail(c, at, "%s: at most %u entries are allowed", what, max);
	if (r < 0)
		return cy_fail(c, at, "%s: out of memory", what);
	return 0;
}

/* command: [/usr/bin/python3, job.py] — an argv; a single string is one word. */
int cy_key_command(struct yctx *c, const char *what, yaml_node_t *v)
{
	yaml_node_item_t *it;
	const char *t;
	int r;

	config_strv_clear(&c->cfg->command);
	c->cfg->command_pos = cy_pos_of(v);
	if (v->type == YAML_SCALAR_NODE) {
		if (cy_scalar(c, what, "a list of words", v, &t) < 0)
			return -EINVAL;
		return push_word(c, what, v, &c->cfg->command, t, CONFIG_MAX_COMMAND_WORDS);
	}
	if (v->type != YAML_SEQUENCE_NODE)
		return cy_fail(c, v, "%s: expected a list of words, got a mapping", what);
	if (v->data.sequence.items.start == v->data.sequence.items.top)
		return cy_fail(c, v, "%s: the list is empty", what);
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *word = yaml_document_get_node(c->doc, *it);

		if (cy_scalar(c, what, "a word", word, &t) < 0)
			return -EINVAL;
		r = push_word(c, what, word, &c->cfg->command, t, CONFIG_MAX_COMMAND_WORDS);
		if (r < 0)
			return r;
	}
	return 0;
}

static int env_entry(struct yctx *c, const char *what, yaml_node_t *at, const char *entry)
{
	struct config_why why;

	if (config_check_env(entry, &why) < 0)
		return cy_fail(c, at, "%s: %s", what, why.msg);
	return push_word(c, what, at, &c->cfg->env, entry, CONFIG_MAX_ENV);
}

/* env as a mapping {NAME: VALUE}: NAME=VALUE in the file's order. */
static int env_mapping(struct yctx *c, const char *what, yaml_node_t *v)
{
	yaml_node_pair_t *pair;
	const char *name, *value;
	char *entry;
	int r;

	for (pair = v->data.mapping.pairs.start; pair < v->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
		yaml_node_t *val = yaml_document_get_node(c->doc, pair->value);

		if (cy_scalar(c, what, "a variable name", k, &name) < 0)
			return -EINVAL;
		if (strchr(name, '='))
			return cy_fail(c, k, "%s: a variable name cannot contain '='", what);
		value = "";
		if (!cy_is_null(val) && cy_scalar(c, what, "a string", val, &value) < 0)
			return -EINVAL;
		if (asprintf(&entry, "%s=%s", name, value) < 0)
			return cy_fail(c, k, "%s: out of memory", what);
		r = env_entry(c, what, k, entry);
		free(entry);
		if (r < 0)
			return r;
	}
	return 0;
}

/* env: {NAME: VALUE, ...} or [NAME=VALUE, ...]. */
int cy_key_env(struct yctx *c, const char *what, yaml_node_t *v)
{
	yaml_node_item_t *it;
	const char *t;
	int r;

	config_strv_clear(&c->cfg->env);
	if (cy_is_null(v))
		return 0;
	if (v->type == YAML_MAPPING_NODE)
		return env_mapping(c, what, v);
	if (v->type != YAML_SEQUENCE_NODE)
		return cy_fail(c, v, "%s: expected a mapping NAME: VALUE or a list of NAME=VALUE",
			       what);
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(c->doc, *it);

		if (cy_scalar(c, what, "NAME=VALUE", item, &t) < 0)
			return -EINVAL;
		r = env_entry(c, what, item, t);
		if (r < 0)
			return r;
	}
	return 0;
}

static int guest_path(struct yctx *c, const char *what, yaml_node_t *v, char **dst)
{
	struct config_why why;
	const char *t;

	if (cy_scalar(c, what, "an absolute path in the guest", v, &t) < 0)
		return -EINVAL;
	if (config_check_guest_path(t, &why) < 0)
		return cy_fail(c, v, "%s: %s", what, why.msg);
	return config_set_string(dst, t) < 0 ? cy_fail(c, v, "%s: out of memory", what) : 0;
}

int cy_key_workdir(struct yctx *c, const char *what, yaml_node_t *v)
{
	c->cfg->workdir_pos = cy_pos_of(v);
	return guest_path(c, what, v, &c->cfg->workdir);
}

int cy_key_mount(struct yctx *c, const char *what, yaml_node_t *v)
{
	c->share->mount_pos = cy_pos_of(v);
	return guest_path(c, what, v, &c->share->mount);
}

int cy_key_timeout(struct yctx *c, const char *what, yaml_node_t *v)
{
	struct config_why why;
	const char *t;

	if (cy_scalar(c, what, "a duration", v, &t) < 0)
		return -EINVAL;
	if (config_parse_timeout(t, &c->cfg->timeout_ms, &why) < 0)
		return cy_fail(c, v, "%s: %s", what, why.msg);
	return 0;
}

/* root: TAG — checked against the shares in config_validate, which sees them all. */
int cy_key_root(struct yctx *c, const char *what, yaml_node_t *v)
{
	struct config_why why;
	const char *t;

	if (cy_scalar(c, what, "a share tag", v, &t) < 0)
		return -EINVAL;
	if (config_check_tag(t, &why) < 0)
		return cy_fail(c, v, "%s: %s", what, why.msg);
	c->cfg->root_pos = cy_pos_of(v);
	return config_set_string(&c->cfg->root_tag, t) < 0 ?
		       cy_fail(c, v, "%s: out of memory", what) : 0;
}
