/* config_yaml_internal.h: the YAML reader's context and helpers, shared by its key tables. */
#ifndef MICROVM_CONFIG_YAML_INTERNAL_H
#define MICROVM_CONFIG_YAML_INTERNAL_H

#include <yaml.h>
#include "config.h"

#define MAX_KEYS 16 /* keys per mapping in any key table */

struct yctx {
	const char *name;
	const char *base_dir; /* NULL: paths stay as written */
	yaml_document_t *doc;
	struct vm_config *cfg;
	struct config_error *err;
	struct share_config *share; /* the share being read */
	unsigned tag_line[CONFIG_MAX_SHARES]; /* where each share's tag was written */
};

/* what: the key's full name for messages ("vcpus", "shares[1].tag"). */
typedef int (*key_fn)(struct yctx *c, const char *what, yaml_node_t *value);

struct key_spec {
	const char *name;
	key_fn fn;
};

/* "file:line:col: " of node, then the message, into c->err. Returns -EINVAL. */
int cy_fail(struct yctx *c, const yaml_node_t *node, const char *fmt, ...) PRINTF_LIKE(3, 4);
struct config_pos cy_pos_of(const yaml_node_t *node);
const char *cy_type_name(const yaml_node_t *node); /* "a mapping" or "a list" */
bool cy_is_null(const yaml_node_t *node);
/* The text of a scalar value; anything else is a type error naming expect. */
int cy_scalar(struct yctx *c, const char *what, const char *expect, yaml_node_t *node,
	      const char **text);

/* config_yaml_job.c: the command-mode keys. */
int cy_key_command(struct yctx *c, const char *what, yaml_node_t *v);
int cy_key_env(struct yctx *c, const char *what, yaml_node_t *v);
int cy_key_workdir(struct yctx *c, const char *what, yaml_node_t *v);
int cy_key_timeout(struct yctx *c, const char *what, yaml_node_t *v);
int cy_key_root(struct yctx *c, const char *what, yaml_node_t *v);
int cy_key_mount(struct yctx *c, const char *what, yaml_node_t *v); /* shares[i].mount */

#endif
