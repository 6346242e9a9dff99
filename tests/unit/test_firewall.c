/* source_ranges, without root: the firewall and firewall-allow sets, the
 * drop rule and the elements are built, parsed back with libnftnl and
 * compared with what nft 1.0.6 sends for the same objects (recorded with
 * `nft --debug=netlink,mnl` in a test namespace); and the planner turns
 * services' ranges into the least element changes, overlaps merged. */
#include "nl_parse.h"
#include "codec.h"
#include "reconcile.h"
#include "rec_fixture.h"

/* ---- sets and rule ------------------------------------------------------ */

static struct nftnl_set *set_built(uint8_t family, const char *name)
{
	struct nftnl_set *s = NULL;
	struct txn t;
	struct msgs m;

	txn_start(&t);
	assert_int_equal(nft_base_build(&t, family, NULL), 0);
	msgs_collect(&t, &m);
	for (size_t i = 0; i < m.n && !s; i++) {
		struct nftnl_set *x;

		if (msg_type(m.v[i]) != NFT_MSG_NEWSET)
			continue;
		x = nftnl_set_alloc();
		assert_int_equal(nftnl_set_nlmsg_parse(m.v[i], x), 0);
		if (!strcmp(nftnl_set_get_str(x, NFTNL_SET_NAME), name))
			s = x;
		else
			nftnl_set_free(x);
	}
	free(m.buf);
	txn_fini(&t);
	assert_non_null(s);
	return s;
}

static void fw_sets(uint8_t family)
{
	bool v6 = family == AF_INET6;
	struct nftnl_set *s = set_built(family, SET_FW);
	const uint8_t *len;
	uint32_t n = 0;

	/* firewall: a plain set of ip daddr . meta l4proto . th dport */
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), 0);
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), v6 ? 24 : 12);
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), v6 ? 0x830d : 0x730d);
	assert_false(nftnl_set_is_set(s, NFTNL_SET_DESC_CONCAT));
	nftnl_set_free(s);

	/* firewall-allow: interval | concat, and each field's own length */
	s = set_built(family, SET_FW_ALLOW);
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), NFT_SET_INTERVAL | NFT_SET_CONCAT);
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), 0x84);
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), v6 ? 40 : 16);
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), v6 ? 0x20c348 : 0x1cc347);
	len = nftnl_set_get_data(s, NFTNL_SET_DESC_CONCAT, &n);
	assert_non_null(len);
	assert_int_equal(n, 4);
	assert_int_equal(len[0], v6 ? 16 : 4);
	assert_int_equal(len[1], 1);
	assert_int_equal(len[2], 2);
	assert_int_equal(len[3], v6 ? 16 : 4);
	assert_false(nftnl_set_is_set(s, NFTNL_SET_DATA_TYPE));
	nftnl_set_free(s);
	/* appended after the sets that came before them */
	assert_string_equal(spec_table.sets[spec_table.n_sets - 2].name, SET_FW);
	assert_string_equal(spec_table.sets[spec_table.n_sets - 1].name, SET_FW_ALLOW);
}

static void sets_ip(void **state) { fw_sets(AF_INET); }
static void sets_ip6(void **state) { fw_sets(AF_INET6); }

/* The rule nft makes of `ip daddr . meta l4proto . th dport @firewall
 * ip daddr . meta l4proto . th dport . ip saddr != @firewall-allow drop`:
 *   [ payload load 4b @ network header + 16 => reg 1 ]
 *   [ meta load l4proto => reg 9 ]
 *   [ payload load 2b @ transport header + 2 => reg 10 ]
 *   [ lookup reg 1 set firewall ]
 *   [ payload load 4b @ network header + 16 => reg 1 ]
 *   [ meta load l4proto => reg 9 ]
 *   [ byteorder reg 9 = hton(reg 9, 2, 1) ]
 *   [ payload load 2b @ transport header + 2 => reg 10 ]
 *   [ payload load 4b @ network header + 12 => reg 11 ]
 *   [ lookup reg 1 set firewall-allow 0x1 ]
 *   [ immediate reg 0 drop ]
 * (ip6: reg 1, reg 2, reg 13, saddr 16b @ + 8 => reg 14). */
static void fw_rule(uint8_t family, const char *chain)
{
	static const char *const names[] = {
		"payload", "meta", "payload", "lookup", "payload", "meta", "byteorder",
		"payload", "payload", "lookup", "immediate",
	};
	bool v6 = family == AF_INET6;
	struct nftnl_rule *r = NULL;
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e, *x[11];
	struct txn t;
	struct msgs m;
	size_t n = 0;
	bool in_chain = false;

	txn_start(&t);
	assert_int_equal(nft_base_build(&t, family, NULL), 0);
	msgs_collect(&t, &m);
	/* the first rule after the chain's flush */
	for (size_t i = 0; i < m.n && !r; i++) {
		if (msg_type(m.v[i]) == NFT_MSG_NEWCHAIN) {
			struct nftnl_chain *c = nftnl_chain_alloc();

			assert_int_equal(nftnl_chain_nlmsg_parse(m.v[i], c), 0);
			in_chain = !strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), chain);
			nftnl_chain_free(c);
		} else if (in_chain && msg_type(m.v[i]) == NFT_MSG_NEWRULE) {
			r = nftnl_rule_alloc();
			assert_int_equal(nftnl_rule_nlmsg_parse(m.v[i], r), 0);
		}
	}
	assert_non_null(r);
	it = nftnl_expr_iter_create(r);
	while ((e = nftnl_expr_iter_next(it))) {
		assert_true(n < 11);
		assert_string_equal(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), names[n]);
		x[n++] = e;
	}
	assert_int_equal(n, 11);
	assert_string_equal(nftnl_expr_get_str(x[3], NFTNL_EXPR_LOOKUP_SET), SET_FW);
	assert_int_equal(nftnl_expr_get_u32(x[3], NFTNL_EXPR_LOOKUP_SREG), NFT_REG_1);
	assert_false(nftnl_expr_is_set(x[3], NFTNL_EXPR_LOOKUP_FLAGS));
	assert_int_equal(nftnl_expr_get_u32(x[5], NFTNL_EXPR_META_DREG), v6 ? NFT_REG_2 : 9);
	assert_int_equal(nftnl_expr_get_u32(x[6], NFTNL_EXPR_BYTEORDER_SREG), v6 ? NFT_REG_2 : 9);
	assert_int_equal(nftnl_expr_get_u32(x[6], NFTNL_EXPR_BYTEORDER_DREG), v6 ? NFT_REG_2 : 9);
	assert_int_equal(nftnl_expr_get_u32(x[6], NFTNL_EXPR_BYTEORDER_OP), NFT_BYTEORDER_HTON);
	assert_int_equal(nftnl_expr_get_u32(x[6], NFTNL_EXPR_BYTEORDER_LEN), 1);
	assert_int_equal(nftnl_expr_get_u32(x[6], NFTNL_EXPR_BYTEORDER_SIZE), 2);
	assert_int_equal(nftnl_expr_get_u32(x[7], NFTNL_EXPR_PAYLOAD_DREG), v6 ? 13 : 10);
	assert_int_equal(nftnl_expr_get_u32(x[8], NFTNL_EXPR_PAYLOAD_OFFSET), v6 ? 8 : 12);
	assert_int_equal(nftnl_expr_get_u32(x[8], NFTNL_EXPR_PAYLOAD_LEN), v6 ? 16 : 4);
	assert_int_equal(nftnl_expr_get_u32(x[8], NFTNL_EXPR_PAYLOAD_DREG), v6 ? 14 : 11);
	assert_string_equal(nftnl_expr_get_str(x[9], NFTNL_EXPR_LOOKUP_SET), SET_FW_ALLOW);
	assert_int_equal(nftnl_expr_get_u32(x[9], NFTNL_EXPR_LOOKUP_SREG), NFT_REG_1);
	assert_int_equal(nftnl_expr_get_u32(x[9], NFTNL_EXPR_LOOKUP_FLAGS), NFT_LOOKUP_F_INV);
	assert_false(nftnl_expr_is_set(x[9], NFTNL_EXPR_LOOKUP_DREG));
	assert_int_equal(nftnl_expr_get_u32(x[10], NFTNL_EXPR_IMM_DREG), NFT_REG_VERDICT);
	assert_int_equal((int32_t)nftnl_expr_get_u32(x[10], NFTNL_EXPR_IMM_VERDICT), NF_DROP);
	nftnl_expr_iter_destroy(it);
	nftnl_rule_free(r);
	free(m.buf);
	txn_fini(&t);
}

static void rule_ip(void **state)
{
	fw_rule(AF_INET, CHAIN_PRE);
	fw_rule(AF_INET, CHAIN_OUT);
}

static void rule_ip6(void **state)
{
	fw_rule(AF_INET6, CHAIN_PRE);
	fw_rule(AF_INET6, CHAIN_OUT);
}

/* ---- elements ----------------------------------------------------------- */

static struct change fw_change(uint8_t op, uint8_t family, const char *addr,
			       const char *src, uint8_t len)
{
	struct change ch = { .op = op };

	ch.fe.family = family;
	ch.fe.proto = IPPROTO_TCP;
	ch.fe.port = 80;
	assert_int_equal(inet_pton(family, addr, ch.fe.addr), 1);
	if (src)
		assert_int_equal(inet_pton(family, src, ch.src.addr), 1);
	ch.src.len = len;
	return ch;
}

/* libnftnl numbers the element nests 1, 2, 3...; its parser wants
 * NFTA_LIST_ELEM, as kernel dumps carry them. */
static struct nftnl_set *elems_of(const struct nlmsghdr *nlh, uint16_t type, const char *set)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlattr *a, *e;

	assert_int_equal(msg_type(nlh), type);
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
			mnl_attr_for_each_nested(e, a)
				e->nla_type = NFTA_LIST_ELEM | (e->nla_type & NLA_F_NESTED);
	assert_int_equal(nftnl_set_elems_nlmsg_parse(nlh, s), 0);
	assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_NAME), set);
	return s;
}

/* Key and key end as nft sends `203.0.113.7 . tcp . 80 . 10.0.0.0/8`:
 * cb007107 00000006 00005000 0000000a - cb007107 00000006 00005000 ffffff0a */
static void elements(void **state)
{
	static const uint8_t key4[] = { 203, 0, 113, 7, 6, 0, 0, 0, 0, 80, 0, 0, 10, 0, 0, 0 };
	static const uint8_t end4[] = { 203, 0, 113, 7, 6, 0, 0, 0, 0, 80, 0, 0, 10, 255, 255, 255 };
	struct changes c = { 0 };
	struct change ch;
	struct txn t;
	struct msgs m;
	struct nftnl_set *s;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	const uint8_t *key, *end;
	uint32_t klen, elen;
	size_t i = 0;

	ch = fw_change(CH_FW_ADD, AF_INET, "203.0.113.7", NULL, 0);
	assert_int_equal(changes_push(&c, &ch, "web:http"), 0);
	ch = fw_change(CH_FWR_ADD, AF_INET, "203.0.113.7", "10.0.0.0", 8);
	assert_int_equal(changes_push(&c, &ch, "web:http"), 0);
	ch = fw_change(CH_FWR_ADD, AF_INET, "203.0.113.7", "198.51.100.9", 32);
	assert_int_equal(changes_push(&c, &ch, "web:http"), 0);
	ch = fw_change(CH_FWR_ADD, AF_INET6, "2001:db8::7", "2001:db8:1::", 48);
	assert_int_equal(changes_push(&c, &ch, NULL), 0);
	ch = fw_change(CH_FWR_DEL, AF_INET, "203.0.113.7", "10.1.2.3", FW_SRC_POINT);
	assert_int_equal(changes_push(&c, &ch, NULL), 0);

	txn_start(&t);
	while (i < c.n)
		assert_int_equal(nft_elems_build(&t, &c, &i), 0);
	msgs_collect(&t, &m);
	assert_int_equal(m.n, 4);

	s = elems_of(m.v[0], NFT_MSG_NEWSETELEM, SET_FW);
	it = nftnl_set_elems_iter_create(s);
	e = nftnl_set_elems_iter_next(it);
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	assert_int_equal(klen, 12);
	assert_memory_equal(key, key4, 12);
	assert_false(nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END));
	assert_null(nftnl_set_elems_iter_next(it));
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);

	/* two ranges of one frontend: one message, KEY .. KEY_END each */
	s = elems_of(m.v[1], NFT_MSG_NEWSETELEM, SET_FW_ALLOW);
	it = nftnl_set_elems_iter_create(s);
	e = nftnl_set_elems_iter_next(it);
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	end = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &elen);
	assert_int_equal(klen, 16);
	assert_int_equal(elen, 16);
	assert_memory_equal(key, key4, 16);
	assert_memory_equal(end, end4, 16);
	assert_true(nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA));
	e = nftnl_set_elems_iter_next(it);
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	end = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &elen);
	assert_memory_equal(key + 12, ((const uint8_t[]){ 198, 51, 100, 9 }), 4);
	assert_memory_equal(end, key, 16);	/* a /32: from = to */
	assert_null(nftnl_set_elems_iter_next(it));
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);

	/* IPv6: 16 + 4 + 4 + 16 bytes, the /48's last address */
	s = elems_of(m.v[2], NFT_MSG_NEWSETELEM, SET_FW_ALLOW);
	it = nftnl_set_elems_iter_create(s);
	e = nftnl_set_elems_iter_next(it);
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	end = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &elen);
	assert_int_equal(klen, 40);
	assert_int_equal(elen, 40);
	assert_int_equal(key[16], IPPROTO_TCP);
	assert_memory_equal(key + 24, ((const uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0 }), 8);
	assert_memory_equal(end + 24, ((const uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0xff, 0xff }), 8);
	assert_int_equal(end[39], 0xff);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);

	/* a foreign range is deleted by its first address alone */
	s = elems_of(m.v[3], NFT_MSG_DELSETELEM, SET_FW_ALLOW);
	it = nftnl_set_elems_iter_create(s);
	e = nftnl_set_elems_iter_next(it);
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	assert_int_equal(klen, 16);
	assert_memory_equal(key + 12, ((const uint8_t[]){ 10, 1, 2, 3 }), 4);
	assert_false(nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END));
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);

	free(m.buf);
	txn_fini(&t);
	changes_free(&c);
}

/* What the read back makes of a range: a CIDR when it is one. */
static void ranges_read_back(void **state)
{
	uint8_t from[16] = { 10 }, to[16] = { 10, 255, 255, 255 };
	struct fe_key fe, fe2;
	uint8_t buf[KEY_MAX], src[16];
	struct fw_src s;

	fw_src_of(AF_INET, from, to, &s);
	assert_int_equal(s.len, 8);
	to[3] = 254;
	fw_src_of(AF_INET, from, to, &s);
	assert_int_equal(s.len, FW_SRC_POINT);
	memcpy(to, from, 16);
	fw_src_of(AF_INET, from, to, &s);
	assert_int_equal(s.len, 32);
	memset(to, 0xff, 16);
	memset(from, 0, 16);
	fw_src_of(AF_INET6, from, to, &s);
	assert_int_equal(s.len, 0);

	memset(&fe, 0, sizeof(fe));
	fe.family = AF_INET6;
	fe.proto = IPPROTO_UDP;
	fe.port = 53;
	fe.addr[0] = 0x20;
	from[15] = 7;
	assert_int_equal(fw_key_pack(&fe, from, buf), 40);
	assert_int_equal(fw_key_unpack(AF_INET6, buf, 40, &fe2, src), 0);
	assert_memory_equal(&fe, &fe2, sizeof(fe));
	assert_memory_equal(src, from, 16);
	assert_int_equal(fw_key_unpack(AF_INET6, buf, 24, &fe2, src), -EINVAL);
}

/* ---- planning ----------------------------------------------------------- */


static void put_svc(struct fixture *f, const char *json)
{
	struct service *s;
	char err[CODEC_ERR_LEN];

	assert_int_equal(codec_service_parse_text("web", json, strlen(json), &s, err), 0);
	assert_int_equal(model_service_put(f->m, SRC_FILE, s), 0);
}

static void plan(struct fixture *f)
{
	struct name_list dirty;

	changes_free(&f->c);
	model_dirty_take(f->m, &dirty);
	assert_int_equal(rec_plan(f->rec, f->m, &dirty, false, &f->c), 0);
	model_names_free(&dirty);
}

static size_t ops(const struct fixture *f, uint8_t op)
{
	size_t n = 0;

	for (size_t i = 0; i < f->c.n; i++)
		n += f->c.v[i].op == op;
	return n;
}

/* The range of the op'th change of op, as "a.b.c.d/len". */
static bool has_range(const struct fixture *f, uint8_t op, const char *cidr)
{
	for (size_t i = 0; i < f->c.n; i++) {
		const struct change *ch = &f->c.v[i];
		char a[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 4];

		if (ch->op != op)
			continue;
		inet_ntop(ch->fe.family, ch->src.addr, a, sizeof(a));
		snprintf(text, sizeof(text), "%s/%u", a, ch->src.len);
		if (!strcmp(text, cidr))
			return true;
	}
	return false;
}

#define SVC(ranges) \
	"{\"vip\":\"10.96.0.10\",\"vip6\":\"fd00::10\",\"external_ips\":[\"203.0.113.7\",\"2001:db8::7\"]," \
	"\"ports\":[{\"port\":80,\"node_port\":30080}],\"source_ranges\":[" ranges "]}"

static void ranges_planned(void **state)
{
	struct fixture *f = *state;

	/* overlapping ranges merged: 10.1.0.0/16 lies in 10.0.0.0/8 */
	put_svc(f, SVC("\"10.1.0.0/16\",\"10.0.0.0/8\",\"192.168.0.0/24\",\"2001:db8:1::/48\""));
	plan(f);
	/* the two external IPs only: not the VIPs, not the node ports */
	assert_int_equal(ops(f, CH_FW_ADD), 2);
	for (size_t i = 0; i < f->c.n; i++)
		if (f->c.v[i].op == CH_FW_ADD || f->c.v[i].op == CH_FWR_ADD) {
			assert_int_equal(f->c.v[i].fe.kind, FE_ADDR);
			assert_true(f->c.v[i].fe.addr[0] == 203 || f->c.v[i].fe.addr[0] == 0x20);
		}
	assert_int_equal(ops(f, CH_FWR_ADD), 3);
	assert_true(has_range(f, CH_FWR_ADD, "10.0.0.0/8"));
	assert_true(has_range(f, CH_FWR_ADD, "192.168.0.0/24"));
	assert_true(has_range(f, CH_FWR_ADD, "2001:db8:1::/48"));
	assert_false(has_range(f, CH_FWR_ADD, "10.1.0.0/16"));
	/* the external IPs are programmed as frontends (no longer skipped) */
	assert_int_equal(ops(f, CH_NOEP_ADD), 6);	/* 2 VIPs, 2 external IPs, 2 node ports */

	/* the same again: nothing */
	put_svc(f, SVC("\"10.1.0.0/16\",\"10.0.0.0/8\",\"192.168.0.0/24\",\"2001:db8:1::/48\""));
	plan(f);
	assert_int_equal(f->c.n, 0);

	/* the outer range goes: the inner one takes its place */
	put_svc(f, SVC("\"10.1.0.0/16\",\"192.168.0.0/24\",\"2001:db8:1::/48\""));
	plan(f);
	assert_int_equal(f->c.n, 2);
	assert_true(has_range(f, CH_FWR_DEL, "10.0.0.0/8"));
	assert_true(has_range(f, CH_FWR_ADD, "10.1.0.0/16"));

	/* IPv6 ranges only: the IPv4 external IP drops every source */
	put_svc(f, SVC("\"2001:db8:1::/48\""));
	plan(f);
	assert_int_equal(ops(f, CH_FWR_DEL), 2);
	assert_int_equal(ops(f, CH_FWR_ADD), 0);
	assert_int_equal(ops(f, CH_FW_DEL), 0);
	assert_int_equal(f->c.n, 2);

	/* no ranges: open again */
	put_svc(f, SVC(""));
	plan(f);
	assert_int_equal(ops(f, CH_FW_DEL), 2);
	assert_int_equal(ops(f, CH_FWR_DEL), 1);
	assert_int_equal(f->c.n, 3);
}

static void service_deleted(void **state)
{
	struct fixture *f = *state;

	put_svc(f, SVC("\"10.0.0.0/8\",\"2001:db8:1::/48\""));
	plan(f);
	assert_int_equal(ops(f, CH_FWR_ADD), 2);
	model_service_del(f->m, SRC_FILE, "web");
	plan(f);
	assert_int_equal(ops(f, CH_FW_DEL), 2);
	assert_int_equal(ops(f, CH_FWR_DEL), 2);
	assert_true(has_range(f, CH_FWR_DEL, "10.0.0.0/8"));
	assert_true(has_range(f, CH_FWR_DEL, "2001:db8:1::/48"));
	assert_int_equal(ops(f, CH_NOEP_DEL), 6);
}

/* A port renamed: the elements' comments say the new name. */
static void relabelled(void **state)
{
	struct fixture *f = *state;

	put_svc(f, "{\"vip\":\"10.96.0.10\",\"external_ips\":[\"203.0.113.7\"],"
		   "\"ports\":[{\"name\":\"a\",\"port\":80}],\"source_ranges\":[\"10.0.0.0/8\"]}");
	plan(f);
	put_svc(f, "{\"vip\":\"10.96.0.10\",\"external_ips\":[\"203.0.113.7\"],"
		   "\"ports\":[{\"name\":\"b\",\"port\":80}],\"source_ranges\":[\"10.0.0.0/8\"]}");
	plan(f);
	assert_int_equal(ops(f, CH_FW_DEL), 1);
	assert_int_equal(ops(f, CH_FW_ADD), 1);
	assert_int_equal(ops(f, CH_FWR_DEL), 1);
	assert_int_equal(ops(f, CH_FWR_ADD), 1);
	for (size_t i = 0; i < f->c.n; i++)
		if (f->c.v[i].op == CH_FWR_ADD || f->c.v[i].op == CH_FW_ADD)
			assert_string_equal(f->c.v[i].comment, "web:b");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sets_ip),
		cmocka_unit_test(sets_ip6),
		cmocka_unit_test(rule_ip),
		cmocka_unit_test(rule_ip6),
		cmocka_unit_test(elements),
		cmocka_unit_test(ranges_read_back),
		T(ranges_planned),
		T(service_deleted),
		T(relabelled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
