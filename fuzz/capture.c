// Captures real kernel replies and notifications for the fuzzers' seed corpus: every buffer the
// kernel hands to a route-netlink socket is written whole to a file, as the engine would receive
// it. Run in a throwaway namespace by fuzz/gen-corpus.sh; built there with the C compiler alone
// (no sanitizer), so it runs inside User-Mode Linux too.
//
//   capture DIR dumps           link, qdisc, class, filter, chain and action dumps and gets
//   capture DIR errors          acknowledgements and errors, with extended acks (capped or not)
//   capture DIR monitor         link and tc notifications until SIGTERM
//   capture DIR nft             nf_tables dumps and gets (tables, chains, rules, sets, elements)
//   capture DIR nft-monitor     nf_tables notifications until SIGTERM
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char* out_dir;
static char buf[1 << 20];
static unsigned seq = 1;
static volatile sig_atomic_t stop;

static void save(const char* what, int n, const void* data, size_t len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/kernel-%s-%d", out_dir, what, n);
  FILE* f = fopen(path, "wb");
  if (!f || fwrite(data, 1, len, f) != len) {
    perror(path);
    exit(1);
  }
  fclose(f);
}

static struct mnl_socket* open_protocol(int protocol, unsigned groups, int cap_ack) {
  struct mnl_socket* nl = mnl_socket_open(protocol);
  if (!nl) {
    perror("mnl_socket_open");
    exit(1);
  }
  int one = 1;
  mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof one);
  mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &cap_ack, sizeof cap_ack);
  if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
    perror("mnl_socket_bind");
    exit(1);
  }
  return nl;
}

static struct mnl_socket* open_socket(unsigned groups, int cap_ack) {
  return open_protocol(NETLINK_ROUTE, groups, cap_ack);
}

// The next file number of `what`: each kind of capture counts on its own, so a request added to
// one kind leaves the other kinds' file names as they were.
static int next_number(const char* what) {
  static const char* names[16];
  static int counts[16];
  size_t i = 0;
  while (i < 16 && names[i] && strcmp(names[i], what)) i++;
  if (i == 16) {
    fprintf(stderr, "capture: too many kinds of capture\n");
    exit(1);
  }
  names[i] = what;
  return counts[i]++;
}

// Sends one request and saves every buffer of its answer (several for a long dump).
static void exchange(struct mnl_socket* nl, struct nlmsghdr* req, const char* what) {
  req->nlmsg_seq = seq++;
  if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
    perror("sendto");
    exit(1);
  }
  for (;;) {
    ssize_t got = mnl_socket_recvfrom(nl, buf, sizeof buf);
    if (got < 0) {
      perror("recv");
      exit(1);
    }
    save(what, next_number(what), buf, (size_t)got);
    int len = (int)got, done = 0;
    for (const struct nlmsghdr* m = (const struct nlmsghdr*)buf; mnl_nlmsg_ok(m, len);
         m = mnl_nlmsg_next(m, &len))
      if (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR) done = 1;
    if (done) return;
  }
}

static struct nlmsghdr* header(void* space, uint16_t type, uint16_t flags) {
  struct nlmsghdr* nlh = mnl_nlmsg_put_header(space);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  return nlh;
}

static struct tcmsg* tc_header(struct nlmsghdr* nlh, int ifindex, uint32_t parent, uint32_t handle) {
  struct tcmsg* tcm = mnl_nlmsg_put_extra_header(nlh, sizeof *tcm);
  tcm->tcm_family = AF_UNSPEC;
  tcm->tcm_ifindex = ifindex;
  tcm->tcm_parent = parent;
  tcm->tcm_handle = handle;
  return tcm;
}

static void dumps(void) {
  struct mnl_socket* nl = open_socket(0, 1);
  char space[4096];
  struct nlmsghdr* nlh = header(space, RTM_GETLINK, NLM_F_DUMP);
  struct ifinfomsg* ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  exchange(nl, nlh, "link");
  // Gets by name, with and without statistics, as the engine asks.
  const char* names[] = {"v0", "v1", "ifb0", "lo"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    nlh = header(space, RTM_GETLINK, NLM_F_ACK);
    ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
    if (i % 2) mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, names[i]);
    exchange(nl, nlh, "link");
  }

  nlh = header(space, RTM_GETQDISC, NLM_F_DUMP);
  tc_header(nlh, 0, 0, 0);
  exchange(nl, nlh, "qdisc");

  const uint32_t parents[] = {TC_H_ROOT, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS),
                              TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS), TC_H_MAKE(TC_H_INGRESS, 0)};
  struct if_nameindex* ifs = if_nameindex();
  for (struct if_nameindex* p = ifs; p && p->if_index; p++) {
    // The root and hook qdisc of each interface, as gets (echoed, acknowledged).
    for (int k = 0; k < 2; k++) {
      nlh = header(space, RTM_GETQDISC, NLM_F_ACK | NLM_F_ECHO);
      tc_header(nlh, (int)p->if_index, k ? TC_H_INGRESS : TC_H_ROOT, 0);
      exchange(nl, nlh, "qdisc");
    }
    for (size_t k = 0; k < sizeof parents / sizeof *parents; k++) {
      nlh = header(space, RTM_GETTFILTER, NLM_F_DUMP);
      tc_header(nlh, (int)p->if_index, parents[k], 0);
      exchange(nl, nlh, "filter");
      // The chains of each block (hooks and classful qdiscs), with their templates.
      if (k == 0) continue;
      nlh = header(space, RTM_GETCHAIN, NLM_F_DUMP);
      tc_header(nlh, (int)p->if_index, parents[k], 0);
      exchange(nl, nlh, "chain");
    }
    // A classful root (handle 1:): its filters, its chains, every class of the interface.
    nlh = header(space, RTM_GETTFILTER, NLM_F_DUMP);
    tc_header(nlh, (int)p->if_index, TC_H_MAKE(1U << 16, 0), 0);
    exchange(nl, nlh, "filter");
    nlh = header(space, RTM_GETCHAIN, NLM_F_DUMP);
    tc_header(nlh, (int)p->if_index, TC_H_MAKE(1U << 16, 0), 0);
    exchange(nl, nlh, "chain");
    nlh = header(space, RTM_GETTCLASS, NLM_F_DUMP);
    tc_header(nlh, (int)p->if_index, 0, 0);
    exchange(nl, nlh, "class");
  }
  if_freenameindex(ifs);

  const char* kinds[] = {"mirred",     "police",   "pedit", "csum",   "skbedit", "gact", "vlan",
                         "tunnel_key", "connmark", "ct",    "sample", "bpf",     "nat"};
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    nlh = header(space, RTM_GETACTION, NLM_F_DUMP);
    struct tcamsg* tca = mnl_nlmsg_put_extra_header(nlh, sizeof *tca);
    tca->tca_family = AF_UNSPEC;
    struct nlattr* tab = mnl_attr_nest_start(nlh, TCA_ACT_TAB);
    struct nlattr* first = mnl_attr_nest_start(nlh, 1);
    mnl_attr_put_strz(nlh, TCA_ACT_KIND, kinds[i]);
    mnl_attr_nest_end(nlh, first);
    mnl_attr_nest_end(nlh, tab);
    exchange(nl, nlh, "action");
  }
  mnl_socket_close(nl);
}

// Requests the kernel refuses or acknowledges, on a socket that caps acks and on one that
// echoes the whole request back before the extended-ack attributes.
static void errors(void) {
  for (int cap = 1; cap >= 0; cap--) {
    struct mnl_socket* nl = open_socket(0, cap);
    char space[4096];
    int v0 = (int)if_nametoindex("v0");
    // A tbf under a parent that does not exist: ENOENT, "Failed to find specified qdisc".
    struct nlmsghdr* nlh = header(space, RTM_NEWQDISC, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    tc_header(nlh, v0, TC_H_MAKE(5 << 16, 0), 0);
    mnl_attr_put_strz(nlh, TCA_KIND, "tbf");
    exchange(nl, nlh, "ack");
    // An ingress qdisc where there is one: EEXIST.
    nlh = header(space, RTM_NEWQDISC, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    tc_header(nlh, v0, TC_H_INGRESS, TC_H_MAKE(TC_H_INGRESS, 0));
    mnl_attr_put_strz(nlh, TCA_KIND, "ingress");
    exchange(nl, nlh, "ack");
    // A classifier this kernel may lack: its extack text.
    nlh = header(space, RTM_NEWTFILTER, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    struct tcmsg* tcm = tc_header(nlh, v0, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), 0);
    tcm->tcm_info = TC_H_MAKE(7 << 16, htons(ETH_P_ALL));
    mnl_attr_put_strz(nlh, TCA_KIND, "flower");
    exchange(nl, nlh, "ack");
    // An interface that does not exist: ENODEV.
    nlh = header(space, RTM_GETLINK, NLM_F_ACK);
    struct ifinfomsg* ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, "nosuch0");
    exchange(nl, nlh, "ack");
    // A change that succeeds: an acknowledgement.
    nlh = header(space, RTM_NEWLINK, NLM_F_ACK);
    ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = v0;
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    exchange(nl, nlh, "ack");
    mnl_socket_close(nl);
  }
}

static struct nlmsghdr* nft_header(void* space, uint16_t msg, uint16_t flags, uint8_t family) {
  struct nlmsghdr* nlh = header(space, (NFNL_SUBSYS_NFTABLES << 8) | msg, flags);
  struct nfgenmsg* nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  return nlh;
}

// nf_tables reads as the engine makes them: the generation, every object kind dumped, the
// elements of each set gen-corpus.sh made, and a get of something that is not there.
static void nft(void) {
  struct mnl_socket* nl = open_protocol(NETLINK_NETFILTER, 0, 1);
  char space[4096];
  exchange(nl, nft_header(space, NFT_MSG_GETGEN, NLM_F_ACK, AF_UNSPEC), "nft");
  const uint16_t kinds[] = {NFT_MSG_GETTABLE, NFT_MSG_GETCHAIN, NFT_MSG_GETRULE, NFT_MSG_GETSET};
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
    exchange(nl, nft_header(space, kinds[i], NLM_F_DUMP, NFPROTO_UNSPEC), "nft");
  const char* sets[][2] = {{"netqos", "limited"}, {"netqos", "dispatch"}, {"netqos", "marks"}};
  for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
    struct nlmsghdr* nlh = nft_header(space, NFT_MSG_GETSETELEM, NLM_F_DUMP, NFPROTO_INET);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, sets[i][0]);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, sets[i][1]);
    exchange(nl, nlh, "nft");
  }
  struct nlmsghdr* nlh = nft_header(space, NFT_MSG_GETTABLE, NLM_F_ACK, NFPROTO_INET);
  mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, "nosuch");
  exchange(nl, nlh, "nft");
  mnl_socket_close(nl);
}

static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static void monitor(int protocol, unsigned groups, const char* what) {
  struct mnl_socket* nl = open_protocol(protocol, groups, 1);
  struct sigaction sa = {0};
  sa.sa_handler = on_term;  // no SA_RESTART: recv returns EINTR
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  int n = 0;
  FILE* ready = fopen(".capture-ready", "w");  // in the caller's directory: subscribed now
  if (ready) fclose(ready);
  while (!stop) {
    ssize_t got = recv(mnl_socket_get_fd(nl), buf, sizeof buf, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      perror("recv");
      exit(1);
    }
    save(what, n++, buf, (size_t)got);
  }
  mnl_socket_close(nl);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: capture DIR dumps|errors|monitor|nft|nft-monitor\n");
    return 2;
  }
  out_dir = argv[1];
  if (!strcmp(argv[2], "dumps"))
    dumps();
  else if (!strcmp(argv[2], "errors"))
    errors();
  else if (!strcmp(argv[2], "monitor"))
    monitor(NETLINK_ROUTE, (1u << (RTNLGRP_LINK - 1)) | (1u << (RTNLGRP_TC - 1)), "event");
  else if (!strcmp(argv[2], "nft"))
    nft();
  else if (!strcmp(argv[2], "nft-monitor"))
    monitor(NETLINK_NETFILTER, 1u << (NFNLGRP_NFTABLES - 1), "nft-event");
  else
    return 2;
  return 0;
}
