/* -v's line per change: the nft command that makes it, naming the
 * endpoint, and nothing for what is no kernel object. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "datapath.h"

static struct change backend(uint8_t op, const char *comment)
{
	struct change ch = {
		.op = op, .slot = 0,
		.fe = { .family = AF_INET, .proto = IPPROTO_TCP, .port = 80, .kind = FE_ADDR },
	};

	inet_pton(AF_INET, "10.96.0.10", ch.fe.addr);
	if (op == CH_BE_ADD) {
		inet_pton(AF_INET, "10.250.2.11", ch.be.addr);
		ch.be.port = 8080;
	}
	ch.comment = (char *)comment;
	return ch;
}

static void added_backend_names_key_data_and_endpoint(void **state)
{
	struct change ch = backend(CH_BE_ADD, "web/b1");
	char buf[256];

	assert_int_equal(dp_change_text("vipd", &ch, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "add element ip vipd backends "
				 "{ 10.96.0.10 . tcp . 80 . 0 : 10.250.2.11 . 8080 } (web/b1)");
}

static void deletion_names_the_key_only(void **state)
{
	struct change ch = backend(CH_BE_DEL, "web");
	char buf[256];

	assert_int_equal(dp_change_text("t1", &ch, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "delete element ip t1 backends { 10.96.0.10 . tcp . 80 . 0 } (web)");
}

static void class_chain_and_verdict(void **state)
{
	struct change ch = { .op = CH_CLASS_DEL, .cls = { .family = AF_INET6, .kind = CLASS_LB, .n = 3 } };
	struct change svc = backend(CH_SVC_ADD, "web:http");
	char buf[256];

	assert_int_equal(dp_change_text("vipd", &ch, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "delete chain ip6 vipd lb-3");
	svc.cls = (struct class_key){ .family = AF_INET, .kind = CLASS_LB, .n = 2 };
	assert_int_equal(dp_change_text("vipd", &svc, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "add element ip vipd services { 10.96.0.10 . tcp . 80 : goto lb-2 } (web:http)");
}

static void no_line_for_what_is_no_kernel_object(void **state)
{
	struct change ct = backend(CH_CT_BACKEND, NULL), purge = backend(CH_AFF_PURGE, NULL);
	struct change be = backend(CH_BE_ADD, NULL);
	char buf[64] = "untouched";

	assert_int_equal(dp_change_text("vipd", &ct, buf, sizeof(buf)), -ENOENT);
	assert_int_equal(dp_change_text("vipd", &purge, buf, sizeof(buf)), -ENOENT);
	assert_string_equal(buf, "untouched");
	/* len 0: only which, nothing written */
	assert_int_equal(dp_change_text("vipd", &ct, NULL, 0), -ENOENT);
	assert_int_equal(dp_change_text("vipd", &be, NULL, 0), 0);
}

static void cut_to_fit(void **state)
{
	struct change ch = backend(CH_BE_ADD, "web/b1");
	char buf[21];

	memset(buf, 'z', sizeof(buf));
	assert_int_equal(dp_change_text("vipd", &ch, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "add element ip vipd ");
	assert_int_equal(dp_change_text("vipd", &ch, buf, 1), 0);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(added_backend_names_key_data_and_endpoint),
		cmocka_unit_test(deletion_names_the_key_only),
		cmocka_unit_test(class_chain_and_verdict),
		cmocka_unit_test(no_line_for_what_is_no_kernel_object),
		cmocka_unit_test(cut_to_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
