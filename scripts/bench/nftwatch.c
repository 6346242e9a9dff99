/* nftwatch: an independent witness of nf_tables changes for benchmarks.
 * Subscribes to the nftables netlink group and prints, for every element
 * added to a map, "<CLOCK_MONOTONIC ns> <data address>" at once. (nft
 * monitor first reads the whole ruleset, which with 100k elements takes
 * longer than the benchmark.) Runs until killed. */
#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>

static int on_msg(const struct nlmsghdr *nlh, void *arg __attribute__((unused)))
{
	struct nftnl_set *s;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	struct timespec ts;

	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWSETELEM)
		return MNL_CB_OK;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s = nftnl_set_alloc();
	if (!s || nftnl_set_elems_nlmsg_parse(nlh, s) < 0)
		goto out;
	it = nftnl_set_elems_iter_create(s);
	while (it && (e = nftnl_set_elems_iter_next(it))) {
		uint32_t len = 0;
		const void *data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);
		char a[INET6_ADDRSTRLEN];

		if (data && (len == 8 || len == 20) &&
		    inet_ntop(len == 8 ? AF_INET : AF_INET6, data, a, sizeof(a)))
			printf("%lld %s\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, a);
	}
	nftnl_set_elems_iter_destroy(it);
	fflush(stdout);
out:
	nftnl_set_free(s);
	return MNL_CB_OK;
}

int main(void)
{
	static char buf[1 << 20];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	ssize_t n;

	if (!nl || mnl_socket_bind(nl, 1 << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
		perror("nftwatch: netlink");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0)
		mnl_cb_run(buf, (size_t)n, 0, 0, on_msg, NULL);
	perror("nftwatch: recv");
	return 1;
}
