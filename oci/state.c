/* state.c: the container's state directory (<root>/<id>/state.json) and its status: created, running or stopped. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"

#define OCI_STATE_MAX_BYTES (1U << 20)

int oci_check_id(const char *id, char *err, size_t errlen)
{
	const char *p;

	if (!id || !*id || strlen(id) > OCI_MAX_ID || !strcmp(id, ".") || !strcmp(id, "..")) {
		snprintf(err, errlen, "invalid container id (1..%u characters, not . or ..)",
			 OCI_MAX_ID);
		return -EINVAL;
	}
	/* runc's rule: the id is a path component, and nothing that needs quoting. */
	for (p = id; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("_+.-", *p))
			continue;
		snprintf(err, errlen, "invalid container id: only letters, digits and _+.- are "
			 "allowed");
		return -EINVAL;
	}
	return 0;
}

int oci_state_dir(const struct oci_globals *g, const char *id, char *out, size_t outlen)
{
	if ((size_t)snprintf(out, outlen, "%s/%s", g->root, id) >= outlen)
		return -ENAMETOOLONG;
	return 0;
}

void oci_now_rfc3339(char *out, size_t outlen)
{
	struct timespec ts;
	struct tm tm;
	char day[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.%09ldZ", day, ts.tv_nsec);
}

static void state_write_annotations(FILE *f, const struct oci_state *st, const char *indent)
{
	unsigned i;

	fputs("{", f);
	for (i = 0; i < st->nannotations; i++) {
		fprintf(f, "%s\n%s  ", i ? "," : "", indent);
		oci_json_write_string(f, st->annotations[i].key);
		fputs(": ", f);
		oci_json_write_string(f, st->annotations[i].value);
	}
	fprintf(f, "%s}", st->nannotations ? "\n  " : "");
}

/* Our own record: what `state` prints plus the pid's start time. */
static int state_write_file(FILE *f, const struct oci_state *st)
{
	fputs("{\n  \"ociVersion\": ", f);
	oci_json_write_string(f, st->oci_version ? st->oci_version : OCI_SPEC_VERSION);
	fputs(",\n  \"id\": ", f);
	oci_json_write_string(f, st->id);
	fprintf(f, ",\n  \"pid\": %d,\n  \"pidStartTime\": %llu,\n  \"bundle\": ", (int)st->pid,
		st->start_time);
	oci_json_write_string(f, st->bundle);
	fputs(",\n  \"rootfs\": ", f);
	oci_json_write_string(f, st->rootfs ? st->rootfs : "");
	fputs(",\n  \"created\": ", f);
	oci_json_write_string(f, st->created);
	fputs(",\n  \"annotations\": ", f);
	state_write_annotations(f, st, "  ");
	fputs("\n}\n", f);
	return ferror(f) ? -EIO : 0;
}

/* Written beside and renamed over, so a reader never sees half a file. */
int oci_state_write(const char *dir, const struct oci_state *st)
{
	char tmp[OCI_MAX_PATH], path[OCI_MAX_PATH];
	FILE *f;
	int r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, OCI_STATE_FILE) >= sizeof(tmp) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, OCI_STATE_FILE) >= sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	r = state_write_file(f, st);
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

static int state_dup(struct oci_json *j, yaml_node_t *top, const char *key, char **out)
{
	const char *t = oci_json_str(oci_json_get(j, top, key));

	*out = strdup(t ? t : "");
	return *out ? 0 : -ENOMEM;
}

static int state_annotations(struct oci_json *j, yaml_node_t *map, struct oci_state *st)
{
	yaml_node_pair_t *pair;
	size_t n;

	if (!map || map->type != YAML_MAPPING_NODE)
		return 0;
	n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	st->annotations = calloc(n ? n : 1, sizeof(*st->annotations));
	if (!st->annotations)
		return -ENOMEM;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		const char *k = oci_json_str(yaml_document_get_node(&j->doc, pair->key));
		const char *v = oci_json_str(yaml_document_get_node(&j->doc, pair->value));
		struct oci_annotation *a = &st->annotations[st->nannotations];

		if (!k || !v)
			continue;
		a->key = strdup(k);
		a->value = strdup(v);
		st->nannotations++;
		if (!a->key || !a->value)
			return -ENOMEM;
	}
	return 0;
}

static int state_parse(struct oci_json *j, struct oci_state *st)
{
	yaml_node_t *top = oci_json_root(j);
	uint64_t pid = 0, start = 0;
	int r;

	if (oci_json_u64(oci_json_get(j, top, "pid"), INT32_MAX, &pid) < 0 ||
	    oci_json_u64(oci_json_get(j, top, "pidStartTime"), UINT64_MAX, &start) < 0)
		return -EINVAL;
	st->pid = (pid_t)pid;
	st->start_time = start;
	r = state_dup(j, top, "ociVersion", &st->oci_version);
	if (r == 0)
		r = state_dup(j, top, "id", &st->id);
	if (r == 0)
		r = state_dup(j, top, "bundle", &st->bundle);
	if (r == 0)
		r = state_dup(j, top, "rootfs", &st->rootfs);
	if (r == 0)
		r = state_dup(j, top, "created", &st->created);
	if (r == 0)
		r = state_annotations(j, oci_json_get(j, top, "annotations"), st);
	return r;
}

int oci_state_read(const char *dir, struct oci_state *st)
{
	char path[OCI_MAX_PATH], why[128];
	struct oci_json j = { .loaded = false };
	char *text = NULL;
	size_t len = 0;
	int r;

	*st = (struct oci_state){ 0 };
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, OCI_STATE_FILE) >= sizeof(path))
		return -ENAMETOOLONG;
	r = oci_read_file(path, OCI_STATE_MAX_BYTES, &text, &len);
	if (r)
		return r; /* -ENOENT: no such container */
	r = oci_json_parse(&j, text, len, why, sizeof(why));
	if (r == 0)
		r = state_parse(&j, st);
	oci_json_free(&j);
	free(text);
	if (r)
		oci_state_free(st);
	return r == -ENOENT ? -EIO : r; /* -ENOENT must only mean "no such container" */
}

void oci_state_free(struct oci_state *st)
{
	unsigned i;

	free(st->id);
	free(st->oci_version);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	for (i = 0; i < st->nannotations; i++) {
		free(st->annotations[i].key);
		free(st->annotations[i].value);
	}
	free(st->annotations);
	*st = (struct oci_state){ 0 };
}

/* Field 22 of /proc/<pid>/stat, counted after the ")" that ends the command name. */
unsigned long long oci_process_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X') /* exited, not yet reaped */
		return 0;
	for (field = 3, p += 2; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		start = strtoull(p, NULL, 10);
	return start;
}

enum oci_status oci_state_status(const char *dir, const struct oci_state *st)
{
	char fifo[OCI_MAX_PATH];
	unsigned long long start;

	if (st->pid <= 0)
		return OCI_STOPPED;
	start = oci_process_start_time(st->pid);
	if (start == 0 || start != st->start_time)
		return OCI_STOPPED; /* gone, a zombie, or the pid now names another process */
	snprintf(fifo, sizeof(fifo), "%s/%s", dir, OCI_FIFO_FILE);
	return access(fifo, F_OK) == 0 ? OCI_CREATED : OCI_RUNNING;
}

const char *oci_status_name(enum oci_status s)
{
	switch (s) {
	case OCI_CREATED:
		return "created";
	case OCI_RUNNING:
		return "running";
	default:
		return "stopped";
	}
}

/* runc 1.1's layout: two-space indent; pid 0 once stopped; annotations only when set. */
void oci_state_print(FILE *out, const struct oci_state *st, enum oci_status s)
{
	fputs("{\n  \"ociVersion\": ", out);
	oci_json_write_string(out, st->oci_version);
	fputs(",\n  \"id\": ", out);
	oci_json_write_string(out, st->id);
	fprintf(out, ",\n  \"pid\": %d,\n  \"status\": ", s == OCI_STOPPED ? 0 : (int)st->pid);
	oci_json_write_string(out, oci_status_name(s));
	fputs(",\n  \"bundle\": ", out);
	oci_json_write_string(out, st->bundle);
	fputs(",\n  \"rootfs\": ", out);
	oci_json_write_string(out, st->rootfs);
	fputs(",\n  \"created\": ", out);
	oci_json_write_string(out, st->created);
	if (st->nannotations) {
		fputs(",\n  \"annotations\": ", out);
		state_write_annotations(out, st, "  ");
	}
	fputs(",\n  \"owner\": \"\"\n}\n", out);
}

int oci_state_remove(const char *dir)
{
	static const char *const files[] = { OCI_FIFO_FILE, OCI_STATE_FILE, "." OCI_STATE_FILE ".tmp",
					     OCI_EXEC_SOCK_FILE };
	char path[OCI_MAX_PATH];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, files[i]) >= sizeof(path))
			return -ENAMETOOLONG;
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
	}
	return rmdir(dir) < 0 && errno != ENOENT ? -errno : 0;
}
