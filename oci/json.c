/* json.c: reading JSON through libyaml's document API (JSON is YAML), and writing JSON strings. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

int oci_json_parse(struct oci_json *j, const char *text, size_t len, char *err, size_t errlen)
{
	yaml_parser_t p;
	int ok;

	j->loaded = false;
	if (!yaml_parser_initialize(&p)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	ok = yaml_parser_load(&p, &j->doc);
	if (!ok) {
		snprintf(err, errlen, "line %zu column %zu: %s", p.problem_mark.line + 1,
			 p.problem_mark.column + 1, p.problem ? p.problem : "cannot parse");
		yaml_parser_delete(&p);
		return -EINVAL;
	}
	yaml_parser_delete(&p);
	j->loaded = true;
	if (!yaml_document_get_root_node(&j->doc)) {
		snprintf(err, errlen, "empty document");
		return -EINVAL;
	}
	return 0;
}

void oci_json_free(struct oci_json *j)
{
	if (j->loaded)
		yaml_document_delete(&j->doc);
	j->loaded = false;
}

yaml_node_t *oci_json_root(struct oci_json *j)
{
	return j->loaded ? yaml_document_get_root_node(&j->doc) : NULL;
}

yaml_node_t *oci_json_get(struct oci_json *j, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pair;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	/* The last of duplicate keys wins, as in Go's encoding/json. */
	for (pair = map->data.mapping.pairs.top; pair-- > map->data.mapping.pairs.start;) {
		yaml_node_t *k = yaml_document_get_node(&j->doc, pair->key);

		if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(&j->doc, pair->value);
	}
	return NULL;
}

size_t oci_json_len(const yaml_node_t *seq)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return 0;
	return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

yaml_node_t *oci_json_item(struct oci_json *j, yaml_node_t *seq, size_t i)
{
	if (i >= oci_json_len(seq))
		return NULL;
	return yaml_document_get_node(&j->doc, seq->data.sequence.items.start[i]);
}

const char *oci_json_str(const yaml_node_t *node)
{
	if (!node || node->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)node->data.scalar.value;
}

/* A JSON literal (true, 12) is a plain scalar; "12" in quotes is a string. */
static const char *oci_json_plain(const yaml_node_t *node)
{
	if (!node || node->type != YAML_SCALAR_NODE ||
	    node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return NULL;
	return (const char *)node->data.scalar.value;
}

int oci_json_bool(const yaml_node_t *node, bool *value)
{
	const char *t = oci_json_plain(node);

	if (t && strcmp(t, "true") == 0)
		*value = true;
	else if (t && strcmp(t, "false") == 0)
		*value = false;
	else
		return -EINVAL;
	return 0;
}

int oci_json_u64(const yaml_node_t *node, uint64_t max, uint64_t *value)
{
	const char *t = oci_json_plain(node);
	unsigned long long v;
	char *end;

	if (!t || *t < '0' || *t > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(t, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*value = v;
	return 0;
}

void oci_json_write_string(FILE *out, const char *s)
{
	const unsigned char *p;

	fputc('"', out);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

int oci_read_file(const char *path, size_t max, char **text, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if ((uint64_t)st.st_size > max)
		r = -EFBIG;
	else if (!(*text = malloc((size_t)st.st_size + 1)))
		r = -ENOMEM;
	if (r == 0) {
		n = read(fd, *text, (size_t)st.st_size);
		if (n < 0) {
			r = -errno;
			free(*text);
		} else {
			(*text)[n] = '\0';
			*len = (size_t)n;
		}
	}
	close(fd);
	return r;
}
