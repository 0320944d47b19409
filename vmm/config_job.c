/* config_job.c: the command-mode part of the configuration: string lists and whole-config checks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "../guest/protocol.h"
#include "config_internal.h"
#include "config_value.h"
#include "layout.h"

int config_strv_push(struct config_strv *list, const char *s, unsigned max)
{
	char **grown;
	char *copy;

	if (list->n >= max)
		return -E2BIG;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	/* Room for a NULL terminator, so the list can be used as an argv. */
	grown = realloc(list->v, (list->n + 2) * sizeof(*grown));
	if (!grown) {
		free(copy);
		return -ENOMEM;
	}
	grown[list->n++] = copy;
	grown[list->n] = NULL;
	list->v = grown;
	return 0;
}

void config_strv_clear(struct config_strv *list)
{
	unsigned i;

	for (i = 0; i < list->n; i++)
		free(list->v[i]);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

const struct share_config *config_find_share(const struct vm_config *cfg, const char *tag)
{
	unsigned i;

	for (i = 0; i < cfg->nshares; i++)
		if (cfg->shares[i].tag && strcmp(cfg->shares[i].tag, tag) == 0)
			return &cfg->shares[i];
	return NULL;
}

/* cache: immutable is a promise about a tree the guest cannot change either. */
static int check_share_modes(const struct vm_config *cfg, struct config_error *err)
{
	unsigned i;

	for (i = 0; i < cfg->nshares; i++) {
		const struct share_config *s = &cfg->shares[i];

		if (s->cache == CACHE_IMMUTABLE && !s->readonly)
			return config_fail_at(cfg, s->cache_pos, "shares", err,
					      "shares[%u].cache: immutable needs readonly: true "
					      "(a writable share changes under the guest's cache)", i);
		if (s->mount && !cfg->command.n)
			return config_fail_at(cfg, s->mount_pos, "shares", err,
					      "shares[%u].mount: only used with a command "
					      "(command: or words after --)", i);
	}
	return 0;
}

static int check_root(const struct vm_config *cfg, struct config_error *err)
{
	const struct share_config *root;
	char q[48];

	if (!cfg->root_tag)
		return 0;
	config_quote(cfg->root_tag, q, sizeof(q));
	root = config_find_share(cfg, cfg->root_tag);
	if (!root)
		return config_fail_at(cfg, cfg->root_pos, "--root", err,
				      "root: no share has the tag '%s'", q);
	if (root->mount)
		return config_fail_at(cfg, root->mount_pos, "--root", err,
				      "shares[%u].mount: the root share is mounted on /, not "
				      "elsewhere", (unsigned)(root - cfg->shares));
	if (!cfg->command.n)
		return config_fail_at(cfg, cfg->root_pos, "--root", err,
				      "root: only used with a command (command: or words after --)");
	return 0;
}

/* The guest init needs its initrd, and the stdio device needs a virtio-mmio slot. */
static int check_command_mode(const struct vm_config *cfg, struct config_error *err)
{
	if (!cfg->command.n) {
		if (cfg->env.n || cfg->workdir)
			return config_fail_at(cfg, cfg->workdir_pos, "--env/--workdir", err,
					      "env and workdir are only used with a command "
					      "(command: or words after --)");
		return 0;
	}
	if (!cfg->initrd)
		return config_fail_at(cfg, cfg->command_pos, "--", err,
				      "a command needs an initrd with microvm-init "
				      "(build one with microvm-initramfs)");
	if (cfg->nshares + 1 > LAYOUT_VIRTIO_MAX_DEVICES)
		return config_fail_at(cfg, cfg->command_pos, "--", err,
				      "with a command at most %u shares are allowed (one "
				      "virtio-mmio slot carries its stdio)",
				      LAYOUT_VIRTIO_MAX_DEVICES - 1);
	return 0;
}

int config_validate_job(const struct vm_config *cfg, struct config_error *err)
{
	int r = check_share_modes(cfg, err);

	if (r == 0)
		r = check_root(cfg, err);
	if (r == 0)
		r = check_command_mode(cfg, err);
	return r;
}
