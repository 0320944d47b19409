/* config_value.c: parsing and range checks of single values, shared by YAML and the CLI. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "config_value.h"
#include "layout.h"

static int why_fail(struct config_why *why, const char *fmt, ...) PRINTF_LIKE(2, 3);

static int why_fail(struct config_why *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why->msg, sizeof(why->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void config_quote(const char *text, char *out, size_t outlen)
{
	size_t i, len = strlen(text), max = outlen - 1;

	/* Leave room for "..." when the text does not fit. */
	if (len > max && outlen > 4)
		max = outlen - 4;
	/* Values are echoed to a terminal: never pass escape sequences through. */
	for (i = 0; i < max && text[i]; i++)
		out[i] = isprint((unsigned char)text[i]) ? text[i] : '?';
	out[i] = '\0';
	if (len > i)
		strcpy(out + i, "...");
}

/* Strict decimal: digits only, no sign, no spaces, no overflow. */
static int parse_decimal(const char *text, uint64_t *value)
{
	uint64_t v = 0;
	const char *p;

	if (!*text)
		return -EINVAL;
	for (p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*value = v;
	return 0;
}

int config_parse_size(const char *text, uint64_t *bytes)
{
	static const char suffixes[] = "KMGT";
	size_t len = strlen(text);
	char digits[32];
	const char *s;
	unsigned shift = 0;
	uint64_t v;

	if (len == 0 || len >= sizeof(digits))
		return -EINVAL;
	memcpy(digits, text, len + 1);
	s = strchr(suffixes, toupper((unsigned char)digits[len - 1]));
	if (s) {
		shift = 10 * (unsigned)(s - suffixes + 1);
		digits[len - 1] = '\0';
	}
	if (parse_decimal(digits, &v) < 0)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*bytes = v << shift;
	return 0;
}

/* Shortest exact spelling of a size for messages: "32M", "1T", "4097". */
static const char *size_name(uint64_t bytes, char *buf, size_t len)
{
	static const char suffixes[] = "TGMK";
	unsigned i;

	for (i = 0; i < 4; i++) {
		unsigned shift = 10 * (4 - i);

		if (bytes && (bytes & ((1ULL << shift) - 1)) == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", bytes >> shift, suffixes[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%" PRIu64, bytes);
	return buf;
}

static int parse_ranged(const char *text, unsigned lo, unsigned hi, unsigned *out,
			struct config_why *why)
{
	char q[48];
	uint64_t v;

	config_quote(text, q, sizeof(q));
	if (parse_decimal(text, &v) < 0)
		return why_fail(why, "expected an integer %u..%u, got '%s'", lo, hi, q);
	if (v < lo || v > hi)
		return why_fail(why, "%s is out of range %u..%u", q, lo, hi);
	*out = (unsigned)v;
	return 0;
}

int config_parse_vcpus(const char *text, unsigned *vcpus, struct config_why *why)
{
	return parse_ranged(text, 1, CONFIG_MAX_VCPUS, vcpus, why);
}

int config_parse_queues(const char *text, unsigned *queues, struct config_why *why)
{
	return parse_ranged(text, 1, CONFIG_MAX_SHARE_QUEUES, queues, why);
}

int config_parse_memory(const char *text, uint64_t *bytes, struct config_why *why)
{
	char q[48], lo[24], hi[24], al[24];
	uint64_t v;

	config_quote(text, q, sizeof(q));
	if (config_parse_size(text, &v) < 0)
		return why_fail(why, "expected a size such as 512M or 2G, got '%s'", q);
	if (v < CONFIG_MIN_MEMORY || v > CONFIG_MAX_MEMORY)
		return why_fail(why, "%s is out of range %s..%s", q,
				size_name(CONFIG_MIN_MEMORY, lo, sizeof(lo)),
				size_name(CONFIG_MAX_MEMORY, hi, sizeof(hi)));
	if (v % CONFIG_MEMORY_ALIGN)
		return why_fail(why, "%s is not a multiple of %s", q,
				size_name(CONFIG_MEMORY_ALIGN, al, sizeof(al)));
	*bytes = v;
	return 0;
}

int config_parse_dax_window(const char *text, uint64_t *bytes, struct config_why *why)
{
	char q[48], al[24], hi[24];
	uint64_t v;

	config_quote(text, q, sizeof(q));
	if (config_parse_size(text, &v) < 0)
		return why_fail(why, "expected a size such as 0, 2M or 1G, got '%s'", q);
	if (v > CONFIG_MAX_DAX_WINDOW)
		return why_fail(why, "%s is larger than %s", q,
				size_name(CONFIG_MAX_DAX_WINDOW, hi, sizeof(hi)));
	if (v % CONFIG_DAX_ALIGN)
		return why_fail(why, "%s is not a multiple of %s", q,
				size_name(CONFIG_DAX_ALIGN, al, sizeof(al)));
	*bytes = v;
	return 0;
}

int config_parse_console(const char *text, enum console_kind *kind, const char **path,
			 struct config_why *why)
{
	char q[48];

	*path = NULL;
	if (strcmp(text, "stdio") == 0) {
		*kind = CONSOLE_STDIO;
	} else if (strcmp(text, "none") == 0) {
		*kind = CONSOLE_NONE;
	} else if (strncmp(text, "file:", 5) == 0) {
		if (text[5] == '\0')
			return why_fail(why, "file: needs a path, as in file:/var/log/vm.log");
		*kind = CONSOLE_FILE;
		*path = text + 5;
	} else {
		config_quote(text, q, sizeof(q));
		return why_fail(why, "expected stdio, none or file:PATH, got '%s'", q);
	}
	return 0;
}

int config_check_cmdline(const char *text, struct config_why *why)
{
	size_t len = strlen(text);

	/* The boot code copies it with its NUL into a fixed window of guest memory. */
	if (len >= LAYOUT_CMDLINE_MAX)
		return why_fail(why, "is %zu bytes long, at most %llu are allowed", len,
				LAYOUT_CMDLINE_MAX - 1);
	return 0;
}

int config_check_path(const char *text, struct config_why *why)
{
	if (!*text)
		return why_fail(why, "expected a path, got an empty string");
	return 0;
}

int config_parse_bool(const char *text, bool *value, struct config_why *why)
{
	char q[48];

	if (!strcasecmp(text, "true") || !strcasecmp(text, "yes")) {
		*value = true;
	} else if (!strcasecmp(text, "false") || !strcasecmp(text, "no")) {
		*value = false;
	} else {
		config_quote(text, q, sizeof(q));
		return why_fail(why, "expected true, false, yes or no, got '%s'", q);
	}
	return 0;
}

int config_parse_cache(const char *text, enum cache_mode *mode, struct config_why *why)
{
	static const char *const names[] = {
		[CACHE_NEVER] = "never", [CACHE_AUTO] = "auto", [CACHE_ALWAYS] = "always",
		[CACHE_IMMUTABLE] = "immutable",
	};
	char q[48];
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (strcmp(text, names[i]) == 0) {
			*mode = (enum cache_mode)i;
			return 0;
		}
	}
	config_quote(text, q, sizeof(q));
	return why_fail(why, "expected never, auto, always or immutable, got '%s'", q);
}

/* "30", "30s", "500ms", "2m", "1h": a positive duration of at most a year. */
int config_parse_timeout(const char *text, uint64_t *ms, struct config_why *why)
{
	static const struct { const char *suffix; uint64_t ms; } units[] = {
		{ "", 1000 }, { "s", 1000 }, { "ms", 1 }, { "m", 60000 }, { "h", 3600000 },
	};
	char *end, q[48];
	unsigned long long v;
	unsigned i;

	errno = 0;
	v = strtoull(text, &end, 10);
	for (i = 0; end != text && text[0] != '-' && errno == 0 && i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (v == 0 || v > CONFIG_MAX_TIMEOUT_MS / units[i].ms)
			break;
		*ms = v * units[i].ms;
		return 0;
	}
	config_quote(text, q, sizeof(q));
	return why_fail(why, "expected a duration such as 30, 30s, 500ms, 2m or 1h (at most "
		       "a year), got '%s'", q);
}

/* A path inside the guest: absolute, and without the TAB and newline the job format uses. */
int config_check_guest_path(const char *text, struct config_why *why)
{
	char q[48];

	config_quote(text, q, sizeof(q));
	if (text[0] != '/')
		return why_fail(why, "expected an absolute path in the guest, got '%s'", q);
	if (strpbrk(text, "\t\n"))
		return why_fail(why, "a guest path cannot contain a TAB or a newline");
	return 0;
}

/* NAME=VALUE with a non-empty NAME. */
int config_check_env(const char *text, struct config_why *why)
{
	const char *eq = strchr(text, '=');
	char q[48];

	if (eq && eq != text)
		return 0;
	config_quote(text, q, sizeof(q));
	return why_fail(why, "expected NAME=VALUE, got '%s'", q);
}

int config_check_tag(const char *text, struct config_why *why)
{
	size_t i, len = strlen(text);
	char q[48];

	/* The guest names the share by its tag in mount(8): keep it one plain word. */
	if (len == 0 || len > CONFIG_MAX_TAG_BYTES)
		return why_fail(why, "must be 1..%u bytes long, got %zu", CONFIG_MAX_TAG_BYTES, len);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c <= ' ' || c >= 0x7f) {
			config_quote(text, q, sizeof(q));
			return why_fail(why, "'%s' may only contain printable ASCII other than space",
					q);
		}
	}
	return 0;
}

int config_set_string(char **dst, const char *src)
{
	char *copy = strdup(src);

	if (!copy)
		return -ENOMEM;
	if (*dst && !config_is_default_cmdline(*dst))
		free(*dst);
	*dst = copy;
	return 0;
}
