/* fuzz_config.c: libFuzzer target: the YAML config loader, validation and freeing, on any text. */
/*
 * The input is the file's text, not NUL-terminated (libFuzzer's buffer ends exactly at
 * its last byte, so AddressSanitizer catches a read past len). Checked beyond memory
 * safety and leaks: every failure comes with a message (the user must be told what is
 * wrong), every message is NUL-terminated, and a config that loads either validates or
 * says why not, and frees to the defaults.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "../../vmm/config.h"

#define FZ_CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static void fz_check_message(const struct config_error *err, int ret)
{
	FZ_CHECK(ret <= 0);
	FZ_CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
	if (ret < 0)
		FZ_CHECK(err->msg[0] != '\0');
}

/* Values a successful load promises, whatever the text said. */
static void fz_check_loaded(const struct vm_config *cfg)
{
	unsigned i;

	FZ_CHECK(cfg->vcpus >= 1 && cfg->vcpus <= CONFIG_MAX_VCPUS);
	FZ_CHECK(cfg->memory_bytes >= CONFIG_MIN_MEMORY && cfg->memory_bytes <= CONFIG_MAX_MEMORY);
	FZ_CHECK(cfg->nshares <= CONFIG_MAX_SHARES);
	FZ_CHECK(cfg->cmdline != NULL);
	for (i = 0; i < cfg->nshares; i++) {
		const struct share_config *s = &cfg->shares[i];

		FZ_CHECK(s->tag && s->path);
		FZ_CHECK(strlen(s->tag) <= CONFIG_MAX_TAG_BYTES);
		FZ_CHECK(s->queues >= 1 && s->queues <= CONFIG_MAX_SHARE_QUEUES);
		FZ_CHECK(s->dax_window <= CONFIG_MAX_DAX_WINDOW);
	}
	FZ_CHECK(cfg->command.n <= CONFIG_MAX_COMMAND_WORDS && cfg->env.n <= CONFIG_MAX_ENV);
	FZ_CHECK(cfg->timeout_ms <= CONFIG_MAX_TIMEOUT_MS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_error err;
	struct vm_config cfg;
	int ret;

	config_init(&cfg);
	err.msg[0] = '\0';
	ret = config_load_string("fuzz.yaml", (const char *)data, size, &cfg, &err);
	fz_check_message(&err, ret);
	if (ret == 0) {
		fz_check_loaded(&cfg);
		err.msg[0] = '\0';
		ret = config_validate(&cfg, &err);
		fz_check_message(&err, ret);
	}
	config_free(&cfg);
	FZ_CHECK(cfg.kernel == NULL && cfg.nshares == 0 && cfg.source == NULL);
	return 0;
}
