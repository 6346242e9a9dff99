/* Netlink build -> parse -> compare, without root, for the ruleset's
 * objects: the messages dp_commit would send for the table, sets, base
 * chains and class chains are built into a batch, parsed back with
 * libnftnl's own parsers, and compared field by field with the spec
 * (libnftnl's tests/nft-set-test.c does the same per object). */
#include "nl_parse.h"

/* ---- expressions -------------------------------------------------------- */

/* The rule's expression names, space-separated: "payload meta payload lookup". */
static void rule_names(struct nftnl_rule *r, char *out, size_t len)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;

	out[0] = '\0';
	assert_non_null(it);
	while ((e = nftnl_expr_iter_next(it))) {
		if (out[0])
			strncat(out, " ", len - strlen(out) - 1);
		strncat(out, nftnl_expr_get_str(e, NFTNL_EXPR_NAME), len - strlen(out) - 1);
	}
	nftnl_expr_iter_destroy(it);
}

static struct nftnl_expr *rule_expr(struct nftnl_rule *r, const char *name, int nth)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e, *found = NULL;

	while (it && (e = nftnl_expr_iter_next(it)))
		if (!strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), name) && nth-- == 0) {
			found = e;
			break;
		}
	nftnl_expr_iter_destroy(it);
	assert_non_null(found);
	return found;
}

static struct nftnl_rule *rule_parse(const struct nlmsghdr *nlh)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	assert_int_equal(msg_type(nlh), NFT_MSG_NEWRULE);
	assert_int_equal(nftnl_rule_nlmsg_parse(nlh, r), 0);
	return r;
}

static const char *rule_comment(struct nftnl_rule *r)
{
	uint32_t len = 0;
	const void *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);

	return ud_parse(ud, len, NFTNL_UDATA_RULE_COMMENT).str;
}

/* ---- base: table, sets, chains ------------------------------------------ */

static void check_key_load(struct nftnl_rule *r, uint8_t family)
{
	struct nftnl_expr *e = rule_expr(r, "payload", 0);

	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE), NFT_PAYLOAD_NETWORK_HEADER);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET), family == AF_INET6 ? 24 : 16);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN), family == AF_INET6 ? 16 : 4);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG), NFT_REG_1);
	e = rule_expr(r, "meta", 0);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY), NFT_META_L4PROTO);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_META_DREG),
			 family == AF_INET6 ? NFT_REG_2 : NFT_REG32_01);
	e = rule_expr(r, "payload", 1);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE), NFT_PAYLOAD_TRANSPORT_HEADER);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET), 2);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN), 2);
}

static void base_family(uint8_t family)
{
	static const struct { const char *name, *type; uint32_t hook; int32_t prio; size_t rules; } ch[] = {
		/* source_ranges' firewall rule and affinity first, then the two vmaps */
		{ CHAIN_PRE, "nat", NF_INET_PRE_ROUTING, -100, 4 },
		{ CHAIN_OUT, "nat", NF_INET_LOCAL_OUT, -100, 4 },
		{ CHAIN_FWD, "filter", NF_INET_FORWARD, 0, 2 },
		{ CHAIN_FOUT, "filter", NF_INET_LOCAL_OUT, 0, 2 },
		{ CHAIN_FIN, "filter", NF_INET_LOCAL_IN, 0, 4 },
		/* without masquerade options: affinity records and hairpin */
		{ CHAIN_POST, "nat", NF_INET_POST_ROUTING, 100, 4 },
	};
	const struct spec_table *st = &spec_table;
	struct nftnl_table *tb = nftnl_table_alloc();
	struct txn t;
	struct msgs m;
	size_t k = 0;
	char names[128];
	const void *ud;
	uint32_t len;

	txn_start(&t);
	assert_int_equal(nft_base_build(&t, family, NULL), 0);
	assert_int_equal(t.err, 0);
	msgs_collect(&t, &m);
	/* table, the sets, 6 x (chain, flush), 20 rules */
	assert_int_equal(st->n_chains, 6);
	assert_int_equal(m.n, 1 + st->n_sets + 12 + 20);

	assert_int_equal(msg_type(m.v[k]), NFT_MSG_NEWTABLE);
	assert_int_equal(nftnl_table_nlmsg_parse(m.v[k++], tb), 0);
	assert_string_equal(nftnl_table_get_str(tb, NFTNL_TABLE_NAME), "vipd");
	ud = nftnl_table_get_data(tb, NFTNL_TABLE_USERDATA, &len);
	assert_string_equal(ud_parse(ud, len, NFTNL_UDATA_TABLE_COMMENT).str, spec_table.comment);
	nftnl_table_free(tb);

	for (size_t i = 0; i < st->n_sets; i++) {
		const struct spec_set *sp = &st->sets[i];
		struct nftnl_set *s = nftnl_set_alloc();
		struct ud_find f;

		assert_int_equal(msg_type(m.v[k]), NFT_MSG_NEWSET);
		assert_int_equal(nftnl_set_nlmsg_parse(m.v[k++], s), 0);
		assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_NAME), sp->name);
		assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN),
				 spec_fields_len(sp->key, sp->n_key, family));
		assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), sp->flags);
		if (sp->data == DATA_FIELDS)
			assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN), be_data_len(family));
		if (sp->data == DATA_VERDICT)
			assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE), NFT_DATA_VERDICT);
		if (sp->timeout_ms)
			assert_int_equal(nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT), sp->timeout_ms);
		ud = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len);
		f = ud_parse(ud, len, NFTNL_UDATA_SET_COMMENT);
		assert_non_null(f.str);
		assert_string_equal(f.str, sp->comment);
		assert_true(f.typeof_key);
		assert_int_equal(f.typeof_data, sp->data != DATA_NONE);
		nftnl_set_free(s);
	}
	assert_string_equal(st->sets[0].name, SET_BACKENDS);
	assert_string_equal(st->sets[1].name, SET_SERVICES);
	assert_string_equal(st->sets[2].name, SET_NOEP);

	for (size_t i = 0; i < 6; i++) {
		struct nftnl_chain *c = nftnl_chain_alloc();

		assert_int_equal(msg_type(m.v[k]), NFT_MSG_NEWCHAIN);
		assert_int_equal(nftnl_chain_nlmsg_parse(m.v[k++], c), 0);
		assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), ch[i].name);
		assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), ch[i].type);
		assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), ch[i].hook);
		assert_int_equal(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), ch[i].prio);
		assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY), NF_ACCEPT);
		ud = nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &len);
		assert_non_null(ud_parse(ud, len, NFTNL_UDATA_CHAIN_COMMENT).str);
		nftnl_chain_free(c);
		/* the chain's old rules go in the same transaction */
		assert_int_equal(msg_type(m.v[k++]), NFT_MSG_DELRULE);
		for (size_t j = 0; j < ch[i].rules; j++) {
			struct nftnl_rule *r = rule_parse(m.v[k++]);

			const char *rc = rule_comment(r);

			assert_string_equal(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), ch[i].name);
			assert_non_null(rc);
			rule_names(r, names, sizeof(names));
			if (strcmp(rc, "to the service's class chain") &&
			    strcmp(rc, "no endpoint: TCP reset") &&
			    strcmp(rc, "no endpoint: port unreachable")) {
				nftnl_rule_free(r);
				continue;
			}
			check_key_load(r, family);
			if (!strcmp(rc, "to the service's class chain")) {
				struct nftnl_expr *e = rule_expr(r, "lookup", 0);

				assert_string_equal(names, "payload meta payload lookup");
				assert_string_equal(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), SET_SERVICES);
				assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_DREG), NFT_REG_VERDICT);
			} else if (!strcmp(rc, "no endpoint: TCP reset")) {
				struct nftnl_expr *e = rule_expr(r, "reject", 0);
				uint32_t dlen;

				assert_string_equal(names, "payload meta payload lookup cmp reject");
				assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_REJECT_TYPE), NFT_REJECT_TCP_RST);
				e = rule_expr(r, "cmp", 0);
				assert_int_equal(*(const uint8_t *)nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &dlen),
						 IPPROTO_TCP);
				assert_int_equal(dlen, 1);
			} else {
				struct nftnl_expr *e = rule_expr(r, "reject", 0);

				assert_string_equal(names, "payload meta payload lookup reject");
				assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_REJECT_TYPE), NFT_REJECT_ICMP_UNREACH);
				assert_int_equal(nftnl_expr_get_u8(e, NFTNL_EXPR_REJECT_CODE),
						 family == AF_INET6 ? 4 : 3);
				e = rule_expr(r, "lookup", 0);
				assert_string_equal(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), SET_NOEP);
				assert_false(nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_DREG));
			}
			nftnl_rule_free(r);
		}
	}
	assert_int_equal(k, m.n);
	free(m.buf);
	txn_fini(&t);
}

static void base_ip(void **state) { base_family(AF_INET); }
static void base_ip6(void **state) { base_family(AF_INET6); }

/* ---- class chains ------------------------------------------------------- */

static void class_one(uint8_t family, uint8_t kind, uint16_t n, const char *name,
		      const char *comment, const char *exprs)
{
	struct class_key cls = { .family = family, .kind = kind, .n = n };
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_rule *r;
	struct nftnl_expr *e;
	struct txn t;
	struct msgs m;
	char names[128];
	const void *ud;
	uint32_t len;

	txn_start(&t);
	assert_int_equal(nft_class_build(&t, &cls), 0);
	msgs_collect(&t, &m);
	assert_int_equal(m.n, 3);	/* chain, flush, rule */
	assert_int_equal(msg_type(m.v[0]), NFT_MSG_NEWCHAIN);
	assert_int_equal(nftnl_chain_nlmsg_parse(m.v[0], c), 0);
	assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), name);
	assert_false(nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM));	/* a regular chain */
	ud = nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &len);
	assert_string_equal(ud_parse(ud, len, NFTNL_UDATA_CHAIN_COMMENT).str, comment);
	nftnl_chain_free(c);
	assert_int_equal(msg_type(m.v[1]), NFT_MSG_DELRULE);

	r = rule_parse(m.v[2]);
	assert_string_equal(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), name);
	assert_string_equal(rule_comment(r), "slot -> backend");
	rule_names(r, names, sizeof(names));
	assert_string_equal(names, exprs);
	check_key_load(r, family);
	if (kind == CLASS_SH) {
		e = rule_expr(r, "payload", 2);		/* the source address */
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET), family == AF_INET6 ? 8 : 12);
		e = rule_expr(r, "hash", 0);
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_TYPE), NFT_HASH_JENKINS);
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_MODULUS), n);
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_SEED), SH_SEED);
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_LEN), family == AF_INET6 ? 16 : 4);
	} else {
		e = rule_expr(r, "numgen", 0);
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_NG_TYPE),
				 kind == CLASS_RR ? NFT_NG_INCREMENTAL : NFT_NG_RANDOM);
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_NG_MODULUS), n);
		/* the slot is the key's last word */
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_NG_DREG),
				 NFT_REG32_00 + (be_key_len(family) - 4) / 4);
	}
	e = rule_expr(r, "lookup", 0);
	assert_string_equal(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), SET_BACKENDS);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_DREG), NFT_REG_1);
	e = rule_expr(r, "nat", 0);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_TYPE), NFT_NAT_DNAT);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_FAMILY),
			 family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN),
			 family == AF_INET6 ? NFT_REG_2 : NFT_REG32_01);
	nftnl_rule_free(r);
	free(m.buf);
	txn_fini(&t);
}

static void class_chains(void **state)
{
	const char *ng = "payload meta payload numgen lookup nat";
	const char *sh = "payload meta payload payload hash lookup nat";

	class_one(AF_INET, CLASS_LB, 3, "lb-3", "random over 3 slots", ng);
	class_one(AF_INET, CLASS_RR, 5, "rr-5", "round robin over 5 slots", ng);
	class_one(AF_INET, CLASS_SH, 7, "sh-7", "source address hash over 7 slots", sh);
	class_one(AF_INET6, CLASS_LB, 1, "lb-1", "random over 1 slots", ng);
	class_one(AF_INET6, CLASS_SH, 64, "sh-64", "source address hash over 64 slots", sh);
}

/* aff-<T>: one dynset that records saddr . original daddr . l4proto .
 * original port -> the DNATed backend, with the chain's timeout. */
static void affinity_chain(void **state)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };

	for (size_t f = 0; f < 2; f++) {
		uint8_t family = families[f];
		unsigned w = family == AF_INET6 ? 4 : 1;
		struct class_key cls = { .family = family, .kind = CLASS_AFF, .arg = 10800 }, out;
		struct nftnl_rule *r;
		struct nftnl_expr *e;
		struct txn t;
		struct msgs m;
		char names[128], name[32];

		assert_int_equal(class_chain_name(&cls, name, sizeof(name)), 0);
		assert_string_equal(name, "aff-10800");
		assert_true(class_chain_parse(name, family, &out));
		assert_memory_equal(&out, &cls, sizeof(cls));
		assert_false(class_chain_parse("aff-86401", family, &out));
		txn_start(&t);
		assert_int_equal(nft_class_build(&t, &cls), 0);
		msgs_collect(&t, &m);
		assert_int_equal(m.n, 3);
		r = rule_parse(m.v[2]);
		rule_names(r, names, sizeof(names));
		assert_string_equal(names, "payload ct meta ct payload payload dynset");
		e = rule_expr(r, "dynset", 0);
		assert_string_equal(nftnl_expr_get_str(e, NFTNL_EXPR_DYNSET_SET_NAME), SET_AFFINITY);
		assert_int_equal(nftnl_expr_get_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT), 10800 * 1000);
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY), NFT_REG_1);
		/* the backend follows the 2w + 2 words of the key */
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_DYNSET_SREG_DATA),
				 (2 * w + 2) % 4 ? NFT_REG32_00 + 2 * w + 2 : NFT_REG_1 + (2 * w + 2) / 4);
		e = rule_expr(r, "ct", 1);
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY), NFT_CT_PROTO_DST);
		nftnl_rule_free(r);
		free(m.buf);
		txn_fini(&t);
	}
}

static void class_names(void **state)
{
	struct class_key k = { .family = AF_INET, .kind = CLASS_RR, .n = 12 }, out;
	char name[32];

	assert_int_equal(class_chain_name(&k, name, sizeof(name)), 0);
	assert_string_equal(name, "rr-12");
	assert_true(class_chain_parse(name, AF_INET6, &out));
	assert_int_equal(out.kind, CLASS_RR);
	assert_int_equal(out.n, 12);
	assert_int_equal(out.family, AF_INET6);
	assert_false(class_chain_parse("lb-0", AF_INET, &out));
	assert_false(class_chain_parse("lb-07", AF_INET, &out));
	assert_false(class_chain_parse("lb--3", AF_INET, &out));
	assert_true(class_chain_parse("np-rr-4", AF_INET, &out));
	assert_int_equal(out.kind, CLASS_NP_RR);
	assert_int_equal(out.n, 4);
	assert_false(class_chain_parse("xx-3", AF_INET, &out));
	assert_false(class_chain_parse("prerouting", AF_INET, &out));
	k.n = 0;
	assert_true(class_chain_name(&k, name, sizeof(name)) < 0);
}

static void key_lengths(void **state)
{
	for (int f = 0; f < 2; f++) {
		uint8_t family = f ? AF_INET6 : AF_INET;
		const struct spec_set *be = spec_set_by_name(SET_BACKENDS);
		const struct spec_set *svc = spec_set_by_name(SET_SERVICES);

		assert_int_equal(spec_fields_len(be->key, be->n_key, family), be_key_len(family));
		assert_int_equal(spec_fields_len(be->data_fields, be->n_data, family),
				 be_data_len(family));
		assert_int_equal(spec_fields_len(svc->key, svc->n_key, family), fe_key_len(family));
	}
	assert_ptr_equal(spec_set_of(CH_BE_DEL, FE_ADDR), spec_set_by_name(SET_BACKENDS));
	assert_ptr_equal(spec_set_of(CH_NOEP_ADD, FE_ADDR), spec_set_by_name(SET_NOEP));
	assert_null(spec_set_of(CH_CLASS_ADD, FE_ADDR));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base_ip),
		cmocka_unit_test(base_ip6),
		cmocka_unit_test(class_chains),
		cmocka_unit_test(class_names),
		cmocka_unit_test(affinity_chain),
		cmocka_unit_test(key_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
