/* config_value.h: parsing and range checks of single values, shared by YAML and the CLI. */
#ifndef MICROVM_CONFIG_VALUE_H
#define MICROVM_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"

/*
 * Each parser takes the value's text and, on error, writes into why what is wrong without
 * saying where ("expected an integer 1..64, got 'abc'"); the caller prefixes the place
 * ("vm.yaml:2:8: vcpus: " or "--vcpus: "). All return 0 or -EINVAL.
 */
struct config_why {
	char msg[256];
};

int config_parse_vcpus(const char *text, unsigned *vcpus, struct config_why *why) MUST_CHECK;
int config_parse_memory(const char *text, uint64_t *bytes, struct config_why *why) MUST_CHECK;
/* "stdio", "none" or "file:PATH"; *path points into text for CONSOLE_FILE, else NULL. */
int config_parse_console(const char *text, enum console_kind *kind, const char **path,
			 struct config_why *why) MUST_CHECK;
int config_check_cmdline(const char *text, struct config_why *why) MUST_CHECK;
/* A path value: non-empty. */
int config_check_path(const char *text, struct config_why *why) MUST_CHECK;
int config_parse_queues(const char *text, unsigned *queues, struct config_why *why) MUST_CHECK;
int config_parse_bool(const char *text, bool *value, struct config_why *why) MUST_CHECK;
int config_parse_cache(const char *text, enum cache_mode *mode, struct config_why *why) MUST_CHECK;
int config_parse_dax_window(const char *text, uint64_t *bytes, struct config_why *why) MUST_CHECK;
/* "30", "30s", "500ms", "2m", "1h" -> milliseconds, 1 ms .. a year. */
int config_parse_timeout(const char *text, uint64_t *ms, struct config_why *why) MUST_CHECK;
/* Absolute, no TAB or newline (the guest init's job format). */
int config_check_guest_path(const char *text, struct config_why *why) MUST_CHECK;
/* NAME=VALUE, NAME non-empty. */
int config_check_env(const char *text, struct config_why *why) MUST_CHECK;
/* 1..CONFIG_MAX_TAG_BYTES printable ASCII characters other than space. */
int config_check_tag(const char *text, struct config_why *why) MUST_CHECK;

/* Copy text into out for a message: unprintable bytes as '?', "..." if cut short. */
void config_quote(const char *text, char *out, size_t outlen);
/* Replace *dst (freeing the old string unless it is the built-in default) with a copy. */
int config_set_string(char **dst, const char *src) MUST_CHECK;
/* True when s is the built-in default command line, which is not heap memory. */
bool config_is_default_cmdline(const char *s);

#endif
