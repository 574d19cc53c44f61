/*
 * core/jsonpos.c - the position table of a JSON text (see jsonpos.h): an
 * iterative scanner that records where every value and key starts, and the
 * hash index that finds an entry again by JSON pointer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpos.h"

#define NO_PARENT UINT32_MAX
#define NO_KEY	  UINT32_MAX /* key_len of an array element: key_off is its index */
#define INDEX_MAX 16

struct entry {
	uint32_t parent;
	uint32_t key_off;
	uint32_t key_len;
	struct jsonpos_loc value, key;
};

struct jsonpos {
	struct entry *entries;
	size_t n, cap;
	char *keys; /* decoded member names, back to back, no terminators */
	size_t keys_len, keys_cap;
	uint32_t *slots; /* open addressing over (parent, key): entry index + 1, 0 free */
	size_t nslots;	 /* a power of two, at least twice n */
};

struct frame {
	uint32_t entry;
	uint32_t count;
	char close;
};

enum scan_state {
	ST_VALUE, /* a value starts here (after blanks) */
	ST_AFTER, /* a value ended: ',' or a closing bracket, or the end */
	ST_CHILD, /* a member name or an element follows */
	ST_DONE,
};

struct scanner {
	const char *text;
	size_t len, pos;
	struct jsonpos_loc at; /* of text[pos] */
	struct jsonpos *jp;
	struct frame *stack;
	size_t depth;
	/* the entry that the next value belongs to */
	uint32_t parent, key_off, key_len;
	struct jsonpos_loc key;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 64;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return -ENOMEM;
		ncap *= 2;
	}
	np = realloc(*p, ncap * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

static uint32_t hash_seg(uint32_t parent, const char *seg, size_t len)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 4; i++) {
		h ^= (parent >> (8 * i)) & 0xff;
		h *= 16777619u;
	}
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)seg[i];
		h *= 16777619u;
	}
	return h;
}

/* The segment of an element is its index in decimal, as in a pointer. */
static const char *entry_seg(const struct jsonpos *jp, const struct entry *e, char *buf,
			     size_t *len)
{
	if (e->key_len != NO_KEY) {
		*len = e->key_len;
		/* keys is still NULL when every key so far was "" */
		return e->key_len ? jp->keys + e->key_off : "";
	}
	*len = (size_t)snprintf(buf, INDEX_MAX, "%u", (unsigned)e->key_off);
	return buf;
}

static int index_build(struct jsonpos *jp)
{
	size_t nslots = 64;

	while (nslots < jp->n * 2)
		nslots *= 2;
	jp->slots = calloc(nslots, sizeof(*jp->slots));
	if (!jp->slots)
		return -ENOMEM;
	jp->nslots = nslots;
	for (size_t id = 1; id < jp->n; id++) {
		const struct entry *e = &jp->entries[id];
		char buf[INDEX_MAX];
		size_t len;
		const char *seg = entry_seg(jp, e, buf, &len);
		size_t i = hash_seg(e->parent, seg, len) & (nslots - 1);

		while (jp->slots[i])
			i = (i + 1) & (nslots - 1);
		jp->slots[i] = (uint32_t)id + 1;
	}
	return 0;
}

static long index_child(const struct jsonpos *jp, uint32_t parent, const char *seg, size_t len)
{
	size_t mask = jp->nslots - 1;
	size_t i;

	if (!jp->nslots)
		return -ENOENT;
	for (i = hash_seg(parent, seg, len) & mask; jp->slots[i]; i = (i + 1) & mask) {
		const struct entry *e = &jp->entries[jp->slots[i] - 1];
		char buf[INDEX_MAX];
		size_t elen;
		const char *eseg;

		if (e->parent != parent)
			continue;
		eseg = entry_seg(jp, e, buf, &elen);
		if (elen == len && memcmp(eseg, seg, len) == 0)
			return (long)jp->slots[i] - 1;
	}
	return -ENOENT;
}

static bool at_end(const struct scanner *s)
{
	return s->pos >= s->len;
}

static unsigned char peek(const struct scanner *s)
{
	return (unsigned char)s->text[s->pos];
}

static void advance(struct scanner *s)
{
	unsigned char c = peek(s);

	s->pos++;
	if (c == '\n') {
		s->at.line++;
		s->at.col = 1;
	} else if ((c & 0xc0) != 0x80) {
		/* continuation bytes belong to the character already counted */
		s->at.col++;
	}
}

static bool next_is(const struct scanner *s, unsigned char c)
{
	return !at_end(s) && peek(s) == c;
}

static void skip_blanks(struct scanner *s)
{
	while (!at_end(s)) {
		unsigned char c = peek(s);

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		advance(s);
	}
}

static int skip_scalar(struct scanner *s)
{
	size_t start = s->pos;

	while (!at_end(s)) {
		unsigned char c = peek(s);

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '-' || c == '.'))
			break;
		advance(s);
	}
	return s->pos > start ? 0 : -EINVAL;
}

static int put_bytes(struct scanner *s, const char *b, size_t n)
{
	struct jsonpos *jp = s->jp;
	int err = grow((void **)&jp->keys, &jp->keys_cap, jp->keys_len + n, 1);

	if (err)
		return err;
	memcpy(jp->keys + jp->keys_len, b, n);
	jp->keys_len += n;
	return 0;
}

static int put_utf8(struct scanner *s, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return put_bytes(s, b, n);
}

static int hex4(struct scanner *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char c;

		if (at_end(s))
			return -EINVAL;
		c = peek(s);
		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (c - 'A' + 10);
		else
			return -EINVAL;
		advance(s);
	}
	*out = v;
	return 0;
}

/* After "\u": a code point, joining a surrogate pair; a lone surrogate is
 * refused, as jansson refuses it. */
static int unicode_escape(struct scanner *s, uint32_t *cp)
{
	uint32_t lo;
	int err = hex4(s, cp);

	if (err)
		return err;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return -EINVAL;
	if (*cp < 0xd800 || *cp > 0xdbff)
		return 0;
	if (s->len - s->pos < 2 || s->text[s->pos] != '\\' || s->text[s->pos + 1] != 'u')
		return -EINVAL;
	advance(s);
	advance(s);
	err = hex4(s, &lo);
	if (err)
		return err;
	if (lo < 0xdc00 || lo > 0xdfff)
		return -EINVAL;
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return 0;
}

static int escape(struct scanner *s, bool decode)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	uint32_t cp;
	unsigned char c;
	int err;

	if (at_end(s))
		return -EINVAL;
	c = peek(s);
	advance(s);
	if (c == 'u') {
		err = unicode_escape(s, &cp);
		return err || !decode ? err : put_utf8(s, cp);
	}
	hit = c ? strchr(from, c) : NULL;
	if (!hit)
		return -EINVAL;
	return decode ? put_bytes(s, &to[hit - from], 1) : 0;
}

/* At '"': skips the string, appending its decoded bytes to keys when decode. */
static int scan_string(struct scanner *s, bool decode)
{
	int err = 0;

	advance(s);
	for (;;) {
		unsigned char c;

		if (at_end(s))
			return -EINVAL;
		c = peek(s);
		if (c == '"') {
			advance(s);
			return 0;
		}
		if (c < 0x20)
			return -EINVAL;
		if (c == '\\') {
			advance(s);
			err = escape(s, decode);
		} else {
			err = decode ? put_bytes(s, &s->text[s->pos], 1) : 0;
			advance(s);
		}
		if (err)
			return err;
	}
}

static int add_entry(struct scanner *s)
{
	struct jsonpos *jp = s->jp;
	int err = grow((void **)&jp->entries, &jp->cap, jp->n + 1, sizeof(*jp->entries));

	if (err)
		return err;
	jp->entries[jp->n++] = (struct entry){
		.parent = s->parent,
		.key_off = s->key_off,
		.key_len = s->key_len,
		.value = s->at,
		.key = s->key,
	};
	return 0;
}

static int scan_value(struct scanner *s, enum scan_state *state)
{
	unsigned char c;
	int err;

	skip_blanks(s);
	if (at_end(s))
		return -EINVAL;
	err = add_entry(s);
	if (err)
		return err;
	c = peek(s);
	*state = ST_AFTER;
	if (c == '"')
		return scan_string(s, false);
	if (c != '{' && c != '[')
		return skip_scalar(s);
	if (s->depth == JSONPOS_MAX_DEPTH)
		return -E2BIG;
	s->stack[s->depth++] = (struct frame){
		.entry = (uint32_t)(s->jp->n - 1),
		.close = c == '{' ? '}' : ']',
	};
	advance(s);
	skip_blanks(s);
	if (next_is(s, (unsigned char)s->stack[s->depth - 1].close)) {
		advance(s);
		s->depth--;
		return 0;
	}
	*state = ST_CHILD;
	return 0;
}

static int scan_after(struct scanner *s, enum scan_state *state)
{
	struct frame *f;

	skip_blanks(s);
	if (!s->depth) {
		*state = ST_DONE;
		return at_end(s) ? 0 : -EINVAL;
	}
	f = &s->stack[s->depth - 1];
	if (next_is(s, ',')) {
		advance(s);
		*state = ST_CHILD;
		return 0;
	}
	if (!next_is(s, (unsigned char)f->close))
		return -EINVAL;
	advance(s);
	s->depth--;
	return 0;
}

static int scan_child(struct scanner *s, enum scan_state *state)
{
	struct frame *f = &s->stack[s->depth - 1];
	int err;

	s->parent = f->entry;
	if (f->close == ']') {
		s->key_off = f->count;
		s->key_len = NO_KEY;
		s->key = (struct jsonpos_loc){0, 0};
	} else {
		skip_blanks(s);
		if (!next_is(s, '"'))
			return -EINVAL;
		s->key = s->at;
		s->key_off = (uint32_t)s->jp->keys_len;
		err = scan_string(s, true);
		if (err)
			return err;
		s->key_len = (uint32_t)(s->jp->keys_len - s->key_off);
		skip_blanks(s);
		if (!next_is(s, ':'))
			return -EINVAL;
		advance(s);
	}
	f->count++;
	*state = ST_VALUE;
	return 0;
}

static int scan(struct scanner *s)
{
	enum scan_state state = ST_VALUE;
	int err = 0;

	s->parent = NO_PARENT;
	s->key_len = NO_KEY;
	while (!err && state != ST_DONE) {
		switch (state) {
		case ST_VALUE:
			err = scan_value(s, &state);
			break;
		case ST_AFTER:
			err = scan_after(s, &state);
			break;
		case ST_CHILD:
			err = scan_child(s, &state);
			break;
		case ST_DONE:
			break;
		}
	}
	return err;
}

int jsonpos_scan(struct jsonpos **out, const char *text, size_t len)
{
	struct scanner s = {.text = text, .len = len, .at = {1, 1}};
	int err;

	if (!out || (!text && len))
		return -EINVAL;
	*out = NULL;
	if (len > JSONPOS_MAX_TEXT)
		return -E2BIG;
	s.jp = calloc(1, sizeof(*s.jp));
	s.stack = malloc(JSONPOS_MAX_DEPTH * sizeof(*s.stack));
	if (!s.jp || !s.stack) {
		err = -ENOMEM;
		goto out;
	}
	err = scan(&s);
	if (err)
		goto out;
	err = index_build(s.jp);
out:
	free(s.stack);
	if (err)
		jsonpos_free(s.jp);
	else
		*out = s.jp;
	return err;
}

void jsonpos_free(struct jsonpos *jp)
{
	if (!jp)
		return;
	free(jp->entries);
	free(jp->keys);
	free(jp->slots);
	free(jp);
}

size_t jsonpos_count(const struct jsonpos *jp)
{
	return jp ? jp->n : 0;
}

int jsonpos_at(const struct jsonpos *jp, size_t id, struct jsonpos_loc *value,
	       struct jsonpos_loc *key)
{
	if (!jp || id >= jp->n)
		return -ENOENT;
	if (value)
		*value = jp->entries[id].value;
	if (key)
		*key = jp->entries[id].key;
	return 0;
}

/* Decodes the segment of pointer[*pos..len) up to the next '/' into seg. */
static int pointer_seg(const char *pointer, size_t len, size_t *pos, char *seg, size_t *seglen)
{
	size_t n = 0;

	while (*pos < len && pointer[*pos] != '/') {
		char c = pointer[(*pos)++];

		if (c == '~') {
			if (*pos == len || (pointer[*pos] != '0' && pointer[*pos] != '1'))
				return -ENOENT;
			c = pointer[(*pos)++] == '0' ? '~' : '/';
		}
		seg[n++] = c;
	}
	*seglen = n;
	return 0;
}

long jsonpos_find(const struct jsonpos *jp, const char *pointer, size_t len,
		  struct jsonpos_loc *value, struct jsonpos_loc *key)
{
	char *seg = NULL;
	size_t pos = 0;
	long id = 0;

	if (!jp || !jp->n || (!pointer && len))
		return -ENOENT;
	if (len) {
		seg = malloc(len);
		if (!seg)
			return -ENOMEM;
	}
	while (id >= 0 && pos < len) {
		size_t seglen;

		if (pointer[pos++] != '/' || pointer_seg(pointer, len, &pos, seg, &seglen)) {
			id = -ENOENT;
			break;
		}
		id = index_child(jp, (uint32_t)id, seg, seglen);
	}
	free(seg);
	if (id >= 0)
		jsonpos_at(jp, (size_t)id, value, key);
	return id;
}

static size_t seg_escaped_len(const char *seg, size_t len)
{
	size_t n = len;

	for (size_t i = 0; i < len; i++)
		n += seg[i] == '~' || seg[i] == '/';
	return n;
}

static void out_char(char *buf, size_t cap, size_t *n, char c)
{
	if (*n + 1 < cap)
		buf[*n] = c;
	(*n)++;
}

long jsonpos_pointer(const struct jsonpos *jp, size_t id, char *buf, size_t cap)
{
	uint32_t *chain;
	size_t depth = 0, n = 0;

	if (!jp || id >= jp->n)
		return -ENOENT;
	/* entries only ever point at earlier ones, so the walk ends */
	for (size_t i = id; i != 0; i = jp->entries[i].parent)
		depth++;
	chain = malloc((depth ? depth : 1) * sizeof(*chain));
	if (!chain)
		return -ENOMEM;
	for (size_t i = id, d = depth; i != 0; i = jp->entries[i].parent)
		chain[--d] = (uint32_t)i;
	for (size_t d = 0; d < depth; d++) {
		char ibuf[INDEX_MAX];
		size_t len;
		const char *seg = entry_seg(jp, &jp->entries[chain[d]], ibuf, &len);

		out_char(buf, cap, &n, '/');
		if (seg_escaped_len(seg, len) == len && n + len < cap) {
			memcpy(buf + n, seg, len);
			n += len;
			continue;
		}
		for (size_t i = 0; i < len; i++) {
			if (seg[i] == '~' || seg[i] == '/') {
				out_char(buf, cap, &n, '~');
				out_char(buf, cap, &n, seg[i] == '~' ? '0' : '1');
			} else {
				out_char(buf, cap, &n, seg[i]);
			}
		}
	}
	if (cap)
		buf[n < cap ? n : cap - 1] = '\0';
	free(chain);
	return (long)n;
}
