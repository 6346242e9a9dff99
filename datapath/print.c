/* --dry-run: the ruleset a commit would make, in nft's own syntax, so an
 * operator can read it and `nft -c -f` can check it. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "codec.h"
#include "nft.h"

static void print_fe(FILE *out, const struct fe_key *k)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(k->family, k->addr, a, sizeof(a));
	fprintf(out, "%s . %s . %u", a, codec_proto_name(k->proto), k->port);
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
	char name[32];

	class_chain_name(cls, name, sizeof(name));
	fprintf(out, "\tchain %s {\n\t\tdnat %s to %s daddr . meta l4proto . th dport . ",
		name, ip, ip);
	if (cls->kind == CLASS_SH)
		fprintf(out, "jhash %s saddr mod %u seed 0x%x", ip, cls->n, SH_SEED);
	else
		fprintf(out, "numgen %s mod %u", cls->kind == CLASS_RR ? "inc" : "random",
			cls->n);
	fprintf(out, " map @%s\n\t}\n\n", SET_BACKENDS);
}

static void print_family(FILE *out, const char *table, const struct changes *c,
			 uint8_t family)
{
	const char *ip = family_name(family);
	const char *key = family == AF_INET6 ? "ip6 daddr . meta l4proto . th dport"
					     : "ip daddr . meta l4proto . th dport";

	fprintf(out, "table %s %s {\n", ip, table);
	fprintf(out, "\tmap %s {\n\t\ttypeof %s . numgen random mod 1 : %s daddr . th dport\n",
		SET_BACKENDS, key, ip);
	print_elems(out, c, family, CH_BE_ADD);
	fprintf(out, "\t}\n\n\tmap %s {\n\t\ttypeof %s : verdict\n", SET_SERVICES, key);
	print_elems(out, c, family, CH_SVC_ADD);
	fprintf(out, "\t}\n\n\tset %s {\n\t\ttypeof %s\n", SET_NOEP, key);
	print_elems(out, c, family, CH_NOEP_ADD);
	fputs("\t}\n\n", out);
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].op == CH_CLASS_ADD && c->v[i].cls.family == family)
			print_class(out, &c->v[i].cls, ip);
	fprintf(out, "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
		     "\t\t%s vmap @%s\n\t}\n\n", key, SET_SERVICES);
	fprintf(out, "\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n"
		     "\t\t%s vmap @%s\n\t}\n\n", key, SET_SERVICES);
	fprintf(out, "\tchain filter-forward {\n\t\ttype filter hook forward priority filter; policy accept;\n"
		     "\t\t%s @%s meta l4proto tcp reject with tcp reset\n\t\t%s @%s reject\n\t}\n\n",
		key, SET_NOEP, key, SET_NOEP);
	fprintf(out, "\tchain filter-output {\n\t\ttype filter hook output priority filter; policy accept;\n"
		     "\t\t%s @%s meta l4proto tcp reject with tcp reset\n\t\t%s @%s reject\n\t}\n}\n",
		key, SET_NOEP, key, SET_NOEP);
}

void dp_print(FILE *out, const char *table, const struct changes *c)
{
	print_family(out, table, c, AF_INET);
	print_family(out, table, c, AF_INET6);
}
