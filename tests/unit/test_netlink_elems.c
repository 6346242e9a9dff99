/* Netlink build -> parse -> compare, without root, for set elements: the
 * messages dp_commit would send for a list of changes are parsed back with
 * libnftnl's own parser and compared with the changes, key, data, verdict
 * and comment; a builder that drops any of them fails here. */
#include "nl_parse.h"

/* ---- set elements ------------------------------------------------------- */

static struct change fe_change(uint8_t op, uint8_t family, const char *addr,
			       uint8_t proto, uint16_t port)
{
	struct change ch = { .op = op };

	ch.fe.family = family;
	ch.fe.proto = proto;
	ch.fe.port = port;
	assert_int_equal(inet_pton(family, addr, ch.fe.addr), 1);
	return ch;
}

/* libnftnl numbers the element nests it builds 1, 2, 3... (the kernel
 * ignores their type) but its parser takes only NFTA_LIST_ELEM, which is
 * what kernel dumps carry: renumber them as a dump would. */
static void elems_renumber(struct nlmsghdr *nlh)
{
	struct nlattr *a, *e;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
			mnl_attr_for_each_nested(e, a)
				e->nla_type = NFTA_LIST_ELEM | (e->nla_type & NLA_F_NESTED);
}

static struct nftnl_set *elems_parse(const struct nlmsghdr *nlh, uint16_t type,
				     const char *set)
{
	struct nftnl_set *s = nftnl_set_alloc();

	assert_int_equal(msg_type(nlh), type);
	elems_renumber((struct nlmsghdr *)nlh);	/* our own copy of the batch */
	assert_int_equal(nftnl_set_elems_nlmsg_parse(nlh, s), 0);
	assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_NAME), set);
	return s;
}

/* The element's comment, "" if it has none (so a missing one fails an
 * assert_string_equal instead of crashing it). */
static const char *elem_comment(struct nftnl_set_elem *e)
{
	uint32_t len = 0;
	const void *ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
	const char *c = ud ? ud_parse(ud, len, NFTNL_UDATA_SET_ELEM_COMMENT).str : NULL;

	return c ? c : "";
}

static void elements(void **state)
{
	struct changes c = { 0 };
	struct change ch;
	struct txn t;
	struct msgs m;
	struct nftnl_set *s;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	struct fe_key fe;
	struct be_addr be;
	uint16_t slot;
	const void *key;
	uint32_t klen, dlen;
	size_t i = 0, n = 0;

	for (uint16_t k = 0; k < 3; k++) {
		ch = fe_change(CH_BE_ADD, AF_INET6, "fd00::10", IPPROTO_UDP, 53);
		ch.slot = k;
		assert_int_equal(inet_pton(AF_INET6, "fd00:2::15", ch.be.addr), 1);
		ch.be.addr[15] += (uint8_t)k;
		ch.be.port = 5353;
		assert_int_equal(changes_push(&c, &ch, k == 1 ? NULL : "dns/a"), 0);
	}
	ch = fe_change(CH_SVC_ADD, AF_INET, "10.96.0.10", IPPROTO_TCP, 80);
	ch.cls = (struct class_key){ .family = AF_INET, .kind = CLASS_SH, .n = 3 };
	assert_int_equal(changes_push(&c, &ch, "web:http"), 0);
	ch = fe_change(CH_NOEP_ADD, AF_INET, "10.96.0.30", IPPROTO_SCTP, 3868);
	assert_int_equal(changes_push(&c, &ch, "sig:s"), 0);
	ch = fe_change(CH_BE_DEL, AF_INET, "10.96.0.10", IPPROTO_TCP, 80);
	ch.slot = 9;
	assert_int_equal(changes_push(&c, &ch, "web/gone"), 0);

	txn_start(&t);
	while (i < c.n)
		assert_int_equal(nft_elems_build(&t, &c, &i), 0);
	assert_int_equal(i, c.n);
	msgs_collect(&t, &m);
	assert_int_equal(m.n, 4);	/* one message per op and frontend */

	/* backends: keys, data and comments, the one without a comment too */
	s = elems_parse(m.v[0], NFT_MSG_NEWSETELEM, SET_BACKENDS);
	it = nftnl_set_elems_iter_create(s);
	while ((e = nftnl_set_elems_iter_next(it))) {
		const void *data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dlen);
		const struct change *want;

		key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
		assert_int_equal(be_key_unpack(AF_INET6, key, klen, &fe, &slot), 0);
		assert_true(slot < 3);
		want = &c.v[slot];
		assert_memory_equal(&fe, &want->fe, sizeof(fe));
		assert_int_equal(be_data_unpack(AF_INET6, data, dlen, &be), 0);
		assert_memory_equal(&be, &want->be, sizeof(be));
		if (want->comment)
			assert_string_equal(elem_comment(e), want->comment);
		else
			assert_string_equal(elem_comment(e), "");
		n++;
	}
	assert_int_equal(n, 3);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);

	/* services: the verdict jumps to the class chain */
	s = elems_parse(m.v[1], NFT_MSG_NEWSETELEM, SET_SERVICES);
	it = nftnl_set_elems_iter_create(s);
	e = nftnl_set_elems_iter_next(it);
	assert_non_null(e);
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	assert_int_equal(fe_key_unpack(AF_INET, key, klen, &fe), 0);
	assert_int_equal(klen, fe_key_len(AF_INET));
	assert_memory_equal(&fe, &c.v[3].fe, sizeof(fe));
	assert_int_equal((int32_t)nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT), NFT_GOTO);
	assert_string_equal(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN), "sh-3");
	assert_string_equal(elem_comment(e), "web:http");
	assert_null(nftnl_set_elems_iter_next(it));
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);

	/* noendpoints: key and comment only */
	s = elems_parse(m.v[2], NFT_MSG_NEWSETELEM, SET_NOEP);
	it = nftnl_set_elems_iter_create(s);
	e = nftnl_set_elems_iter_next(it);
	assert_non_null(e);
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	assert_int_equal(fe_key_unpack(AF_INET, key, klen, &fe), 0);
	assert_int_equal(fe.proto, IPPROTO_SCTP);
	assert_int_equal(fe.port, 3868);
	assert_false(nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA));
	assert_string_equal(elem_comment(e), "sig:s");
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);

	/* a deletion carries the key only */
	s = elems_parse(m.v[3], NFT_MSG_DELSETELEM, SET_BACKENDS);
	it = nftnl_set_elems_iter_create(s);
	e = nftnl_set_elems_iter_next(it);
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	assert_int_equal(be_key_unpack(AF_INET, key, klen, &fe, &slot), 0);
	assert_int_equal(slot, 9);
	assert_string_equal(elem_comment(e), "");
	assert_false(nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA));
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);

	free(m.buf);
	txn_fini(&t);
	changes_free(&c);
}

/* More elements than one message takes: split, none lost. */
static void elements_split(void **state)
{
	struct changes c = { 0 };
	struct txn t;
	struct msgs m;
	size_t i = 0, total = 0;

	for (uint16_t k = 0; k < 600; k++) {
		struct change ch = fe_change(CH_BE_ADD, AF_INET, "10.96.0.10", IPPROTO_TCP, 80);

		ch.slot = k;
		ch.be.port = 8080;
		assert_int_equal(changes_push(&c, &ch, "web/a"), 0);
	}
	txn_start(&t);
	while (i < c.n)
		assert_int_equal(nft_elems_build(&t, &c, &i), 0);
	msgs_collect(&t, &m);
	assert_true(m.n >= 3);
	for (size_t k = 0; k < m.n; k++) {
		struct nftnl_set *s = elems_parse(m.v[k], NFT_MSG_NEWSETELEM, SET_BACKENDS);
		struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(s);

		while (nftnl_set_elems_iter_next(it))
			total++;
		nftnl_set_elems_iter_destroy(it);
		nftnl_set_free(s);
	}
	assert_int_equal(total, 600);
	free(m.buf);
	txn_fini(&t);
	changes_free(&c);
}

/* An element comment longer than the kernel keeps is cut at what it keeps
 * (251 characters and the NUL), never dropped and never fatal to the batch:
 * before, such an element went out with no comment at all. */
static void long_comment_kept(void **state)
{
	struct changes c = { 0 };
	struct change ch = fe_change(CH_NOEP_ADD, AF_INET, "10.96.0.30", IPPROTO_TCP, 80);
	char big[600], want[252];
	struct nftnl_set *s;
	struct nftnl_set_elems_iter *it;
	struct txn t;
	struct msgs m;
	size_t i = 0;

	for (size_t k = 0; k < sizeof(big) - 1; k++)
		big[k] = (char)('a' + k % 26);
	big[sizeof(big) - 1] = '\0';
	memcpy(want, big, sizeof(want) - 1);
	want[sizeof(want) - 1] = '\0';
	assert_int_equal(changes_push(&c, &ch, big), 0);
	txn_start(&t);
	assert_int_equal(nft_elems_build(&t, &c, &i), 0);
	assert_int_equal(t.err, 0);
	msgs_collect(&t, &m);
	assert_int_equal(m.n, 1);
	s = elems_parse(m.v[0], NFT_MSG_NEWSETELEM, SET_NOEP);
	it = nftnl_set_elems_iter_create(s);
	assert_string_equal(elem_comment(nftnl_set_elems_iter_next(it)), want);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	free(m.buf);
	txn_fini(&t);
	changes_free(&c);
}

/* A failed build is sticky: the transaction is not sent, and what failed
 * left no message behind. */
static void failure_is_sticky(void **state)
{
	struct class_key bad = { .family = AF_INET, .kind = 7, .n = 3 };
	struct txn t;
	struct msgs m;

	txn_start(&t);
	assert_int_equal(nft_class_build(&t, &bad), -EINVAL);
	assert_int_equal(t.err, -EINVAL);
	assert_int_equal(nft_base_build(&t, AF_INET, NULL), 0);
	assert_int_equal(t.err, -EINVAL);	/* the first error stays */
	msgs_collect(&t, &m);
	assert_int_equal(msg_type(m.v[0]), NFT_MSG_NEWTABLE);	/* nothing of the class */
	free(m.buf);
	txn_fini(&t);
}

/* The spec's key layouts are the ones keys.c packs. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(elements),
		cmocka_unit_test(elements_split),
		cmocka_unit_test(long_comment_kept),
		cmocka_unit_test(failure_is_sticky),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
