/* --dry-run: the ruleset a commit would make, in nft's own syntax, so an
 * operator can read it and `nft -c -f` can check it. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "model.h"
#include "nft.h"

static void print_fe(FILE *out, const struct fe_key *k)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(k->family, k->addr, a, sizeof(a));
	fprintf(out, "%s . %s . %u", a, model_proto_name(k->proto), k->port);
}

static void print_comment(FILE *out, const char *c)
{
	if (c)
		fprintf(out, " comment \"%s\"", c);
}

/* Prints the elements of one set from the add changes of that op. */
static void print_elems(FILE *out, const struct changes *c, uint8_t family,
			uint8_t op)
{
	const char *sep = "\t\telements = { ";
	bool any = false;

	for (size_t i = 0; i < c->n; i++) {
		const struct change *ch = &c->v[i];
		char a[INET6_ADDRSTRLEN], chain[32];

		if (ch->op != op || ch->fe.family != family)
			continue;
		fputs(sep, out);
		sep = ",\n\t\t\t     ";
		any = true;
		print_fe(out, &ch->fe);
		if (op == CH_BE_ADD)
			fprintf(out, " . %u", ch->slot);
		print_comment(out, ch->comment);
		if (op == CH_BE_ADD) {
			inet_ntop(family, ch->be.addr, a, sizeof(a));
			fprintf(out, " : %s . %u", a, ch->be.port);
		} else if (op == CH_SVC_ADD) {
			class_chain_name(&ch->cls, chain, sizeof(chain));
			fprintf(out, " : goto %s", chain);
		}
	}
	if (any)
		fputs(" }\n", out);
}

static void print_class(FILE *out, const struct class_key *cls, const char *ip)
{
	char name[32], comment[64];

	class_chain_name(cls, name, sizeof(name));
	fprintf(out, "\tchain %s {\n\t\tcomment \"%s\"\n\t\tdnat %s to %s daddr . meta l4proto . th dport . ",
		name, class_comment(cls, comment, sizeof(comment)), ip, ip);
	if (cls->kind == CLASS_SH)
		fprintf(out, "jhash %s saddr mod %u seed 0x%x", ip, cls->n, SH_SEED);
	else
		fprintf(out, "numgen %s mod %u", cls->kind == CLASS_RR ? "inc" : "random",
			cls->n);
	fprintf(out, " map @%s comment \"%s\"\n\t}\n\n", SET_BACKENDS, CMT_CLASS_RULE);
}

static void print_set(FILE *out, const struct changes *c, uint8_t family,
		      const char *kind, const char *name, const char *type,
		      const char *comment, uint8_t op)
{
	fprintf(out, "\t%s %s {\n\t\ttypeof %s\n\t\tcomment \"%s\"\n",
		kind, name, type, comment);
	print_elems(out, c, family, op);
	fputs("\t}\n\n", out);
}

static void print_base(FILE *out, const char *name, const char *comment,
		       const char *hook, const char *rules)
{
	fprintf(out, "\tchain %s {\n\t\tcomment \"%s\"\n\t\t%s\n%s\t}\n", name,
		comment, hook, rules);
}

static void print_family(FILE *out, const char *table, const struct changes *c,
			 uint8_t family)
{
	const char *ip = family_name(family);
	char key[64], type[160], vmap[160], reject[400];

	snprintf(key, sizeof(key), "%s daddr . meta l4proto . th dport", ip);
	fprintf(out, "table %s %s {\n\tcomment \"%s\"\n", ip, table, CMT_TABLE);
	snprintf(type, sizeof(type), "%s . numgen random mod 1 : %s daddr . th dport", key, ip);
	print_set(out, c, family, "map", SET_BACKENDS, type, CMT_BACKENDS, CH_BE_ADD);
	snprintf(type, sizeof(type), "%s : verdict", key);
	print_set(out, c, family, "map", SET_SERVICES, type, CMT_SERVICES, CH_SVC_ADD);
	print_set(out, c, family, "set", SET_NOEP, key, CMT_NOEP, CH_NOEP_ADD);
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].op == CH_CLASS_ADD && c->v[i].cls.family == family)
			print_class(out, &c->v[i].cls, ip);
	snprintf(vmap, sizeof(vmap), "\t\t%s vmap @%s comment \"%s\"\n", key,
		 SET_SERVICES, CMT_VMAP);
	snprintf(reject, sizeof(reject),
		 "\t\t%s @%s meta l4proto tcp reject with tcp reset comment \"%s\"\n"
		 "\t\t%s @%s reject comment \"%s\"\n",
		 key, SET_NOEP, CMT_RST, key, SET_NOEP, CMT_UNREACH);
	print_base(out, "prerouting", CMT_PRE,
		   "type nat hook prerouting priority dstnat; policy accept;", vmap);
	fputs("\n", out);
	/* nft 1.0.6 takes the name dstnat for prerouting only */
	print_base(out, "output", CMT_OUT,
		   "type nat hook output priority -100; policy accept;", vmap);
	fputs("\n", out);
	print_base(out, "filter-forward", CMT_FWD,
		   "type filter hook forward priority filter; policy accept;", reject);
	fputs("\n", out);
	print_base(out, "filter-output", CMT_FOUT,
		   "type filter hook output priority filter; policy accept;", reject);
	fputs("}\n", out);
}

void dp_print(FILE *out, const char *table, const struct changes *c)
{
	print_family(out, table, c, AF_INET);
	print_family(out, table, c, AF_INET6);
}
