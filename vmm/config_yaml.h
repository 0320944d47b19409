/* config_yaml.h: reads a YAML document into struct vm_config, errors as file:line:column. */
#ifndef MICROVM_CONFIG_YAML_H
#define MICROVM_CONFIG_YAML_H

#include <stddef.h>
#include "config.h"

/*
 * Parse text (len bytes, need not be NUL-terminated) into cfg. name prefixes every message;
 * relative paths are joined to base_dir unless it is NULL. Checks types, ranges, unknown and
 * duplicate keys, and duplicate tags, and records the positions config_validate needs.
 * 0, -EINVAL (err filled) or -ENOMEM.
 */
int config_yaml_parse(const char *name, const char *base_dir, const char *text, size_t len,
		      struct vm_config *cfg, struct config_error *err) MUST_CHECK;

#endif
