/* --dry-run: the spec's ruleset, with the elements a commit would add, in
 * nft 1.0.6's own syntax and layout, so an operator can read it and
 * `nft -c -f` can check it (all but the rules with `ct original proto-dst`
 * in a concatenation, which nft 1.0.6 prints but cannot parse: printed
 * here exactly as nft lists them); and, for -v's log lines, one change as
 * the nft command that makes it. Nothing here names an object: spec.c
 * does. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "addr.h"
#include "model.h"
#include "nft.h"

/* A line under construction; long enough for the longest rule (~150). */
struct line {
	char s[512];
	size_t n;
};

static void add(struct line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->n >= sizeof(l->s))
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->s + l->n, sizeof(l->s) - l->n, fmt, ap);
	va_end(ap);
	l->n = n < 0 ? l->n : l->n + (size_t)n;
	if (l->n >= sizeof(l->s))
		l->n = sizeof(l->s) - 1;
}

/* "ip daddr", "meta l4proto", "th dport", "numgen random mod 1" */
static void field(struct line *l, uint8_t f, uint8_t family)
{
	const struct spec_field_desc *d = spec_field(f);

	if (d->expr == SX_CT)
		add(l, "%s %s%s%s", d->proto, d->net ? family_name(family) : "",
		    d->net ? " " : "", d->name);
	else if (d->net)
		add(l, "%s %s", family_name(family), d->name);
	else if (d->proto)
		add(l, "%s %s", d->proto, d->name);
	else
		add(l, "%s", d->name);
}

static void fields(struct line *l, const uint8_t *f, size_t n, uint8_t family)
{
	for (size_t i = 0; i < n; i++) {
		add(l, "%s", i ? " . " : "");
		field(l, f[i], family);
	}
}

/* One field of an element: from the change's frontend, slot or backend.
 * Elements go straight to out: their comments have no bound of ours. */
static void value(FILE *out, uint8_t f, const struct change *ch, bool data)
{
	char a[INET6_ADDRSTRLEN];

	switch (f) {
	case F_DADDR:
		inet_ntop(ch->fe.family, data ? ch->be.addr : ch->fe.addr, a, sizeof(a));
		fputs(a, out);
		break;
	case F_L4PROTO:
		fputs(model_proto_name(ch->fe.proto), out);
		break;
	case F_DPORT:
		fprintf(out, "%u", data ? ch->be.port : ch->fe.port);
		break;
	case F_SLOT:
		fprintf(out, "%u", ch->slot);
		break;
	case F_SADDR:	/* source_ranges: a prefix, as nft prints one (/32, /128 bare) */
		inet_ntop(ch->fe.family, ch->src.addr, a, sizeof(a));
		fputs(a, out);
		if (ch->src.len != FW_SRC_POINT && ch->src.len != addr_len(ch->fe.family) * 8)
			fprintf(out, "/%u", ch->src.len);
		break;
	}
}

static void elem_key(FILE *out, const struct spec_set *s, const struct change *ch)
{
	for (size_t i = 0; i < s->n_key; i++) {
		fputs(i ? " . " : "", out);
		value(out, s->key[i], ch, false);
	}
}

/* " : 10.0.2.11 . 8080", " : goto lb-2"; nothing for a set */
static void elem_data(FILE *out, const struct spec_set *s, const struct change *ch)
{
	char chain[32];

	if (s->data == DATA_FIELDS) {
		for (size_t i = 0; i < s->n_data; i++) {
			fputs(i ? " . " : " : ", out);
			value(out, s->data_fields[i], ch, true);
		}
	} else if (s->data == DATA_VERDICT) {
		class_chain_name(&ch->cls, chain, sizeof(chain));
		fprintf(out, " : %s %s", s->verdict == NFT_JUMP ? "jump" : "goto", chain);
	}
}

static void elem(FILE *out, const struct spec_set *s, const struct change *ch)
{
	elem_key(out, s, ch);
	if (ch->comment)
		fprintf(out, " comment \"%s\"", ch->comment);
	elem_data(out, s, ch);
}

static void print_set(FILE *out, const struct spec_set *s, const struct changes *c,
		      uint8_t family)
{
	const char *sep = "\t\telements = { ";
	struct line type = { .n = 0 };
	bool any = false;

	fields(&type, s->key, s->n_key, family);
	if (s->data == DATA_FIELDS) {
		add(&type, " : ");
		fields(&type, s->data_fields, s->n_data, family);
	} else if (s->data == DATA_VERDICT) {
		add(&type, " : verdict");
	}
	fprintf(out, "\t%s %s {\n\t\ttypeof %s\n",
		s->flags & NFT_SET_MAP ? "map" : "set", s->name, type.s);
	if (s->size)
		fprintf(out, "\t\tsize %u\n\t\tflags dynamic,timeout\n", s->size);
	if (s->flags & NFT_SET_INTERVAL)
		fputs("\t\tflags interval\n", out);
	if (s->timeout_ms)
		fprintf(out, "\t\ttimeout %us\n", s->timeout_ms / 1000);
	fprintf(out, "\t\tcomment \"%s\"\n", s->comment);
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].op != s->add_op || c->v[i].fe.family != family ||
		    c->v[i].fe.kind != s->fe_kind)
			continue;
		fputs(sep, out);
		sep = ",\n\t\t\t     ";
		any = true;
		elem(out, s, &c->v[i]);
	}
	if (any)
		fputs(" }\n", out);
	fputs("\t}\n\n", out);
}

/* A rule as nft prints it: loads gather into a concatenation that the
 * next lookup, hash or statement uses. */
/* " timeout 3h", " timeout 1m30s": nft's own spelling of seconds */
static void duration(struct line *l, uint32_t s)
{
	static const struct { uint32_t secs; char unit; } units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};

	add(l, " timeout ");
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (s >= units[i].secs) {
			add(l, "%u%c", s / units[i].secs, units[i].unit);
			s %= units[i].secs;
		}
}

/* "ip saddr != 10.0.0.0/8" */
static void outside(struct line *l, uint8_t field, uint8_t family, const uint8_t *net,
		    unsigned len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family, net, a, sizeof(a));
	add(l, "%s%s %s != %s/%u", l->n ? " " : "", family_name(family),
	    spec_field(field)->name, a, len);
}

/* The phrases that stand for a few expressions each (nft.c); false for
 * other kinds. */
static bool phrase(struct line *l, const struct spec_expr *x, uint8_t family,
		   const struct dp_opts *opts)
{
	unsigned fam = spec_fam(family);

	switch (x->kind) {
	case SX_CT_DNAT:
		add(l, "%sct status dnat", l->n ? " " : "");
		return true;
	case SX_FIB_LOCAL:
		add(l, "%sfib daddr type local", l->n ? " " : "");
		return true;
	case SX_NOT_LOOPBACK:
		outside(l, F_DADDR, family, spec_loopback[fam], spec_loopback_len[fam]);
		return true;
	case SX_SADDR_OUTSIDE:
		if (opts && !opts->masq_all && opts->has_cidr[fam])
			outside(l, F_SADDR, family, opts->cidr[fam], opts->cidr_len[fam]);
		return true;
	case SX_MASQ:
		add(l, "%smasquerade", l->n ? " " : "");
		return true;
	default:
		return false;
	}
}

static void print_rule(FILE *out, const struct spec_rule *r, uint8_t family,
		       uint32_t n, const struct dp_opts *opts)
{
	struct line l = { .n = 0 }, cat = { .n = 0 }, map = { .n = 0 }, dat = { .n = 0 };

	for (size_t i = 0; i < r->n; i++) {
		const struct spec_expr *x = &r->x[i];
		uint32_t mod = x->mod ? x->mod : n;

		if (phrase(&l, x, family, opts))
			continue;
		switch (x->kind) {
		case SX_DYNSET:
			add(&l, "%supdate @%s { %s", l.n ? " " : "", x->set, cat.s);
			if (mod)
				duration(&l, mod);
			if (x->dreg != R_NONE)
				add(&l, " : %s", dat.s);
			add(&l, " }");
			cat.n = 0;
			cat.s[0] = '\0';
			break;
		case SX_PAYLOAD:
		case SX_META:
		case SX_CT:
			if (x->dreg == R_A_BE || x->dreg == R_A_BE_PORT) {	/* dynset data */
				add(&dat, "%s", dat.n ? " . " : "");
				field(&dat, x->field, family);
				break;
			}
			if (x->dreg == R_SRC)	/* a hash input, printed with it */
				break;
			add(&cat, "%s", cat.n ? " . " : "");
			field(&cat, x->field, family);
			break;
		case SX_NUMGEN:
			add(&cat, " . numgen %s mod %u",
			    x->ng == NFT_NG_INCREMENTAL ? "inc" : "random", mod);
			break;
		case SX_JHASH:
			add(&cat, " . jhash ");
			field(&cat, x->field, family);
			add(&cat, " mod %u seed 0x%x", mod, x->seed);
			break;
		case SX_LOOKUP:
			if (x->dreg == R_VERDICT)
				add(&l, "%s%s vmap @%s", l.n ? " " : "", cat.s, x->set);
			else if (x->dreg == R_NONE)
				add(&l, "%s%s%s @%s", l.n ? " " : "", cat.s, x->inv ? " !=" : "",
				    x->set);
			else
				add(&map, "%s map @%s", cat.s, x->set);
			cat.n = 0;
			cat.s[0] = '\0';
			break;
		case SX_CMP:
			add(&l, "%s", l.n ? " " : "");
			field(&l, x->field, family);
			add(&l, " %s", model_proto_name(x->value));
			break;
		case SX_REJECT:
			add(&l, "%sreject%s", l.n ? " " : "",
			    x->value == REJ_TCP_RST ? " with tcp reset" : "");
			break;
		case SX_DROP:
			add(&l, "%sdrop", l.n ? " " : "");
			break;
		case SX_BYTEORDER:	/* nft prints the loads it converts, not it */
			break;
		case SX_DNAT:
			add(&l, "%sdnat %s to %s", l.n ? " " : "", family_name(family), map.s);
			break;
		}
	}
	fprintf(out, "\t\t%s comment \"%s\"\n", l.s, r->comment);
}

static const char *hook_name(uint32_t hook)
{
	static const char *const names[] = {
		[NF_INET_PRE_ROUTING] = "prerouting", [NF_INET_LOCAL_IN] = "input",
		[NF_INET_FORWARD] = "forward", [NF_INET_LOCAL_OUT] = "output",
		[NF_INET_POST_ROUTING] = "postrouting",
	};
	return hook < sizeof(names) / sizeof(names[0]) ? names[hook] : "?";
}

/* nft 1.0.6 prints the standard priority names of the ip families where
 * they apply: dstnat on prerouting only, srcnat on postrouting only. */
static void prio(struct line *l, const struct spec_chain *c)
{
	if (c->prio == 0)
		add(l, "filter");
	else if (c->prio == -100 && c->hook == NF_INET_PRE_ROUTING)
		add(l, "dstnat");
	else if (c->prio == 100 && c->hook == NF_INET_POST_ROUTING)
		add(l, "srcnat");
	else
		add(l, "%d", c->prio);
}

static void print_chain(FILE *out, const struct spec_chain *c, uint8_t family,
			const struct dp_opts *opts)
{
	struct line p = { .n = 0 };

	prio(&p, c);
	fprintf(out, "\tchain %s {\n\t\tcomment \"%s\"\n"
		"\t\ttype %s hook %s priority %s; policy %s;\n",
		c->name, c->comment, c->type, hook_name(c->hook), p.s,
		c->policy == NF_DROP ? "drop" : "accept");
	for (size_t i = 0; i < c->n_rules; i++)
		if (spec_rule_on(&c->rules[i], opts, family))
			print_rule(out, &c->rules[i], family, 0, opts);
	fputs("\t}\n", out);
}

static void print_class(FILE *out, const struct class_key *cls)
{
	const struct spec_class *sc = spec_class(cls->kind);
	char name[32], comment[64];

	if (!sc || class_chain_name(cls, name, sizeof(name)) < 0)
		return;
	fprintf(out, "\tchain %s {\n\t\tcomment \"%s\"\n", name,
		class_comment(cls, comment, sizeof(comment)));
	print_rule(out, &sc->rule, cls->family, cls->kind == CLASS_AFF ? cls->arg : cls->n, NULL);
	fputs("\t}\n\n", out);
}

static void print_family(FILE *out, const char *table, const struct dp_opts *opts,
			 const struct changes *c, uint8_t family)
{
	const struct spec_table *st = &spec_table;

	fprintf(out, "table %s %s {\n\tcomment \"%s\"\n", family_name(family), table,
		st->comment);
	for (size_t i = 0; i < st->n_sets; i++)
		print_set(out, &st->sets[i], c, family);
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].op == CH_CLASS_ADD && c->v[i].cls.family == family)
			print_class(out, &c->v[i].cls);
	for (size_t i = 0; i < st->n_chains; i++) {
		fputs(i ? "\n" : "", out);
		print_chain(out, &st->chains[i], family, opts);
	}
	fputs("}\n", out);
}

void dp_print(FILE *out, const char *table, const struct dp_opts *opts,
	      const struct changes *c)
{
	print_family(out, table, opts, c, AF_INET);
	print_family(out, table, opts, c, AF_INET6);
}

/* One change as the nft command that makes it; a deletion names the key
 * only, as nft's does. The comment goes last, in parentheses: it names
 * the service and the endpoint for the reader of the log. */
static void change_elem(FILE *f, const char *table, const struct spec_set *s,
		       const struct change *ch)
{
	bool add = ch->op == s->add_op;

	fprintf(f, "%s element %s %s %s { ", add ? "add" : "delete", family_name(ch->fe.family),
		table, s->name);
	elem_key(f, s, ch);
	if (add)
		elem_data(f, s, ch);
	fputs(" }", f);
	if (ch->comment)
		fprintf(f, " (%s)", ch->comment);
}

int dp_change_text(const char *table, const struct change *ch, char *buf, size_t len)
{
	bool chain = ch->op == CH_CLASS_ADD || ch->op == CH_CLASS_DEL;
	const struct spec_set *s = chain ? NULL : spec_set_of(ch->op, ch->fe.kind);
	char name[32];
	FILE *f;

	if (!chain && !s)
		return -ENOENT;
	if (!len)
		return 0;
	if (chain) {
		if (class_chain_name(&ch->cls, name, sizeof(name)) < 0)
			return -EINVAL;
		snprintf(buf, len, "%s chain %s %s %s", ch->op == CH_CLASS_ADD ? "add" : "delete",
			 family_name(ch->cls.family), table, name);
		return 0;
	}
	/* the element renderer writes to a stream: this one is buf (whose
	 * last byte fmemopen does not make a NUL when the text fills it) */
	if (!(f = fmemopen(buf, len, "w")))
		return -errno;
	change_elem(f, table, s, ch);
	fclose(f);
	buf[len - 1] = '\0';
	return 0;
}
