/* sandbox-net: the node agent's long-lived helper for pod network sandboxes. It makes and removes
 * a pod's network namespace and veth pair over netlink, so a pod start or stop costs no process
 * at all (the agent would otherwise fork itself for `unshare ... ip -batch` and `ip -batch` per
 * setup and `ip link del` and `umount` per teardown: a fork of the whole agent each).
 *
 *   sandbox-net [HOST_NETNS]
 *
 * HOST_NETNS is the node's network namespace as an nsfs file (default: this process's own); the
 * bridge and the host ends of the veths live there. Requests come one per line on stdin, in the
 * helpers' line protocol (line-protocol.h: an id first, echoed in the answer); each gets `ok` (with
 * a tab and a value for `check`) or `err<TAB>message` naming the step and the kernel's error, one
 * request at a time. EOF on stdin ends the process.
 *
 *   setup NETNS_FILE HOST_VETH MTU ADDRESS PREFIX GATEWAY BRIDGE
 *       a new network namespace bound at NETNS_FILE (an existing, unmounted file): `lo` up, `eth0`
 *       of a veth pair with MTU, ADDRESS/PREFIX, up, default route via GATEWAY; the peer HOST_VETH
 *       (same MTU) in the host namespace, a port of BRIDGE, up, hairpin on. The same steps, in the
 *       same order, as `ip -batch` ran them; on failure the caller removes what was made (teardown).
 *   teardown NETNS_FILE HOST_VETH
 *       deletes HOST_VETH (a missing one is fine), unmounts every mount stacked on NETNS_FILE and
 *       removes the file (a missing one is fine).
 *   check HOST_VETH BRIDGE
 *       `ok<TAB>yes` when HOST_VETH is up and a port of BRIDGE, `ok<TAB>no` otherwise.
 *
 * It is single-threaded, so unshare and setns move the whole process: every request leaves it back
 * in the host namespace, where it answers from.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "line-protocol.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* Room for a link's full description (a GET answer carries its stats and every attribute). */
#define MSG_SIZE 16384
#define MAX_FIELDS 8

/* The step that failed and the kernel's reason, for the `err` reply. */
static char error_text[512];

__attribute__((format(printf, 2, 3))) static int fail(int errnum, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(error_text, sizeof error_text, fmt, ap);
  va_end(ap);
  if (errnum && n >= 0 && (size_t)n < sizeof error_text)
    snprintf(error_text + n, sizeof error_text - (size_t)n, ": %s", strerror(errnum));
  return -1;
}

/* A netlink request being built: header, family header, attributes. */
struct req {
  union {
    struct nlmsghdr hdr;
    char buf[MSG_SIZE];
  };
};

static void *tail(struct req *r) { return r->buf + NLMSG_ALIGN(r->hdr.nlmsg_len); }

static struct rtattr *put_attr(struct req *r, unsigned short type, const void *data, size_t len) {
  struct rtattr *a = tail(r);
  a->rta_type = type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  r->hdr.nlmsg_len = NLMSG_ALIGN(r->hdr.nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}

static void put_u32(struct req *r, unsigned short type, uint32_t v) { put_attr(r, type, &v, sizeof v); }
static void put_str(struct req *r, unsigned short type, const char *s) { put_attr(r, type, s, strlen(s) + 1); }
static struct rtattr *nest(struct req *r, unsigned short type) { return put_attr(r, type, NULL, 0); }
static void end_nest(struct req *r, struct rtattr *a) { a->rta_len = (unsigned short)((char *)tail(r) - (char *)a); }

/* A request with its family header (`fam` of `fam_len` bytes) and the flags of a change with an ack. */
static void start(struct req *r, unsigned short type, unsigned short flags, const void *fam, size_t fam_len) {
  memset(r, 0, sizeof *r);
  r->hdr.nlmsg_type = type;
  r->hdr.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
  r->hdr.nlmsg_len = (unsigned)NLMSG_LENGTH(fam_len);
  memcpy(NLMSG_DATA(&r->hdr), fam, fam_len);
}

static int nl_open(void) { return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE); }

/*
 * Sends `r` and reads the kernel's answer. Returns 0, or -errno from the kernel's error. With `out`,
 * the first reply message (a GET's answer) is copied there.
 */
static int talk(int fd, struct req *r, struct req *out) {
  static unsigned seq;
  r->hdr.nlmsg_seq = ++seq;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, r->buf, r->hdr.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -errno;
  static char buf[MSG_SIZE * 2];
  for (;;) {
    ssize_t got = recv(fd, buf, sizeof buf, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    int left = (int)got;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != r->hdr.nlmsg_seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        return e->error;
      }
      if (out && h->nlmsg_len <= sizeof out->buf) {
        memcpy(out->buf, h, h->nlmsg_len);
        /* A GET with an ack sends the answer, then the ack: keep reading for the ack. */
        out = NULL;
      }
    }
  }
}

static int link_up(int fd, int ifindex, int master) {
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
  struct req r;
  start(&r, RTM_NEWLINK, 0, &ifi, sizeof ifi);
  if (master) put_u32(&r, IFLA_MASTER, (uint32_t)master);
  return talk(fd, &r, NULL);
}

/* `ip link add eth0 mtu M type veth peer name HOST mtu M netns HOST_NS`, in the pod's namespace. */
static int add_veth(int fd, const char *host_veth, uint32_t mtu, int host_ns) {
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  struct req r;
  start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  put_str(&r, IFLA_IFNAME, "eth0");
  put_u32(&r, IFLA_MTU, mtu);
  struct rtattr *info = nest(&r, IFLA_LINKINFO);
  put_str(&r, IFLA_INFO_KIND, "veth");
  struct rtattr *data = nest(&r, IFLA_INFO_DATA);
  struct rtattr *peer = nest(&r, VETH_INFO_PEER);
  struct ifinfomsg peer_ifi = {.ifi_family = AF_UNSPEC};
  memcpy(tail(&r), &peer_ifi, sizeof peer_ifi);
  r.hdr.nlmsg_len += NLMSG_ALIGN(sizeof peer_ifi);
  put_str(&r, IFLA_IFNAME, host_veth);
  put_u32(&r, IFLA_MTU, mtu);
  put_u32(&r, IFLA_NET_NS_FD, (uint32_t)host_ns);
  end_nest(&r, peer);
  end_nest(&r, data);
  end_nest(&r, info);
  return talk(fd, &r, NULL);
}

static int add_address(int fd, int ifindex, struct in_addr addr, unsigned prefix) {
  struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = (unsigned char)prefix, .ifa_index = (unsigned)ifindex};
  struct req r;
  start(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
  put_attr(&r, IFA_LOCAL, &addr, sizeof addr);
  put_attr(&r, IFA_ADDRESS, &addr, sizeof addr);
  return talk(fd, &r, NULL);
}

static int add_default_route(int fd, int ifindex, struct in_addr gateway) {
  struct rtmsg rtm = {
      .rtm_family = AF_INET,
      .rtm_table = RT_TABLE_MAIN,
      .rtm_protocol = RTPROT_BOOT,
      .rtm_scope = RT_SCOPE_UNIVERSE,
      .rtm_type = RTN_UNICAST,
  };
  struct req r;
  start(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rtm, sizeof rtm);
  put_attr(&r, RTA_GATEWAY, &gateway, sizeof gateway);
  put_u32(&r, RTA_OIF, (uint32_t)ifindex);
  return talk(fd, &r, NULL);
}

/* `ip link set HOST type bridge_slave hairpin on`: a pod reaches itself through a Service address. */
static int hairpin_on(int fd, int ifindex) {
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
  struct req r;
  start(&r, RTM_NEWLINK, 0, &ifi, sizeof ifi);
  struct rtattr *info = nest(&r, IFLA_LINKINFO);
  put_str(&r, IFLA_INFO_SLAVE_KIND, "bridge");
  struct rtattr *data = nest(&r, IFLA_INFO_SLAVE_DATA);
  uint8_t on = 1;
  put_attr(&r, IFLA_BRPORT_MODE, &on, sizeof on);
  end_nest(&r, data);
  end_nest(&r, info);
  return talk(fd, &r, NULL);
}

/* The link named `name` in the socket's namespace: its index, flags and master (0: none). */
static int get_link(int fd, const char *name, int *ifindex, unsigned *flags, int *master) {
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  struct req r, out;
  start(&r, RTM_GETLINK, 0, &ifi, sizeof ifi);
  put_str(&r, IFLA_IFNAME, name);
  memset(&out, 0, sizeof out);
  int rc = talk(fd, &r, &out);
  if (rc < 0) return rc;
  if (out.hdr.nlmsg_type != RTM_NEWLINK) return -ENODEV;
  const struct ifinfomsg *got = NLMSG_DATA(&out.hdr);
  *ifindex = got->ifi_index;
  *flags = got->ifi_flags;
  *master = 0;
  int len = (int)IFLA_PAYLOAD(&out.hdr);
  for (const struct rtattr *a = IFLA_RTA(got); RTA_OK(a, len); a = RTA_NEXT(a, len))
    if (a->rta_type == IFLA_MASTER) memcpy(master, RTA_DATA(a), sizeof *master);
  return 0;
}

static int is_netns_mounted(const char *path) {
  struct statfs st;
  return statfs(path, &st) == 0 && st.f_type == NSFS_MAGIC;
}

/* The host namespace, where the process lives between requests, and a netlink socket in it. */
static int host_ns = -1;
static int host_nl = -1;

static int setup(char **f) {
  const char *netns_file = f[1], *host_veth = f[2], *bridge = f[7];
  char *end;
  unsigned long mtu = strtoul(f[3], &end, 10);
  if (*end || mtu < 68 || mtu > 65535) return fail(0, "setup: mtu %s is not an MTU", f[3]);
  unsigned long prefix = strtoul(f[5], &end, 10);
  if (*end || prefix > 32) return fail(0, "setup: prefix %s is not a prefix length", f[5]);
  struct in_addr addr, gateway;
  if (inet_pton(AF_INET, f[4], &addr) != 1) return fail(0, "setup: %s is not an IPv4 address", f[4]);
  if (inet_pton(AF_INET, f[6], &gateway) != 1) return fail(0, "setup: %s is not an IPv4 address", f[6]);
  if (strlen(host_veth) >= IFNAMSIZ) return fail(0, "setup: %s is not an interface name", host_veth);
  if (is_netns_mounted(netns_file)) return fail(0, "network namespace %s already exists", netns_file);

  int rc = 0, err, pod_nl = -1, eth0, master, veth, bridge_index;
  unsigned flags;
  if (unshare(CLONE_NEWNET) < 0) return fail(errno, "unshare a network namespace");
  if (mount("/proc/self/ns/net", netns_file, NULL, MS_BIND, NULL) < 0) {
    rc = fail(errno, "bind the network namespace at %s", netns_file);
    goto back;
  }
  pod_nl = nl_open();
  if (pod_nl < 0) {
    rc = fail(errno, "netlink socket in the pod's namespace");
    goto back;
  }
  if ((err = link_up(pod_nl, 1, 0)) < 0) {
    rc = fail(-err, "link set lo up");
    goto back;
  }
  if ((err = add_veth(pod_nl, host_veth, (uint32_t)mtu, host_ns)) < 0) {
    rc = fail(-err, "link add eth0 mtu %lu type veth peer name %s", mtu, host_veth);
    goto back;
  }
  if ((err = get_link(pod_nl, "eth0", &eth0, &flags, &master)) < 0) {
    rc = fail(-err, "link show eth0");
    goto back;
  }
  if ((err = add_address(pod_nl, eth0, addr, (unsigned)prefix)) < 0) {
    rc = fail(-err, "addr add %s/%lu dev eth0", f[4], prefix);
    goto back;
  }
  if ((err = link_up(pod_nl, eth0, 0)) < 0) {
    rc = fail(-err, "link set eth0 up");
    goto back;
  }
  if ((err = add_default_route(pod_nl, eth0, gateway)) < 0) {
    rc = fail(-err, "route add default via %s dev eth0", f[6]);
    goto back;
  }
back:
  if (pod_nl >= 0) close(pod_nl);
  if (setns(host_ns, CLONE_NEWNET) < 0) {
    /* Answering from the pod's namespace would make every later request wrong: stop here. */
    fprintf(stderr, "sandbox-net: cannot return to the host network namespace: %s\n", strerror(errno));
    exit(1);
  }
  if (rc < 0) return rc;

  if ((err = get_link(host_nl, bridge, &bridge_index, &flags, &master)) < 0)
    return fail(-err, "link show %s", bridge);
  if ((err = get_link(host_nl, host_veth, &veth, &flags, &master)) < 0)
    return fail(-err, "link show %s", host_veth);
  if ((err = link_up(host_nl, veth, bridge_index)) < 0)
    return fail(-err, "link set %s master %s up", host_veth, bridge);
  if ((err = hairpin_on(host_nl, veth)) < 0)
    return fail(-err, "link set %s type bridge_slave hairpin on", host_veth);
  return 0;
}

static int teardown(char **f) {
  const char *netns_file = f[1], *host_veth = f[2];
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  struct req r;
  start(&r, RTM_DELLINK, 0, &ifi, sizeof ifi);
  put_str(&r, IFLA_IFNAME, host_veth);
  int err = talk(host_nl, &r, NULL);
  if (err < 0 && err != -ENODEV) return fail(-err, "link del %s", host_veth);
  for (int round = 0; is_netns_mounted(netns_file) && round < 8; round++) {
    if (umount2(netns_file, 0) < 0 && umount2(netns_file, MNT_DETACH) < 0)
      return fail(errno, "umount %s", netns_file);
  }
  if (is_netns_mounted(netns_file)) return fail(0, "cannot unmount network namespace %s", netns_file);
  if (unlink(netns_file) < 0 && errno != ENOENT) return fail(errno, "remove %s", netns_file);
  return 0;
}

static int check(char **f, const char **answer) {
  int veth, bridge_index, master;
  unsigned flags;
  *answer = "no";
  int err = get_link(host_nl, f[2], &bridge_index, &flags, &master);
  if (err == -ENODEV) return 0;
  if (err < 0) return fail(-err, "link show %s", f[2]);
  err = get_link(host_nl, f[1], &veth, &flags, &master);
  if (err == -ENODEV) return 0;
  if (err < 0) return fail(-err, "link show %s", f[1]);
  if ((flags & IFF_UP) && master == bridge_index) *answer = "yes";
  return 0;
}

static void handle(const char *id, char **f, int n) {
  const char *answer = NULL;
  int rc;
  error_text[0] = '\0';
  if (n == 8 && strcmp(f[0], "setup") == 0)
    rc = setup(f);
  else if (n == 3 && strcmp(f[0], "teardown") == 0)
    rc = teardown(f);
  else if (n == 3 && strcmp(f[0], "check") == 0)
    rc = check(f, &answer);
  else
    rc = fail(0, "unknown request \"%s\" with %d fields", n ? f[0] : "", n);
  if (rc < 0)
    lp_err(id, "%s", error_text);
  else
    lp_ok(id, answer);
}

int main(int argc, char **argv) {
  if (argc > 2) {
    fputs("usage: sandbox-net [HOST_NETNS]\n", stderr);
    return 1;
  }
  if (argc == 2) {
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
      fprintf(stderr, "sandbox-net: enter %s: %s\n", argv[1], strerror(errno));
      return 1;
    }
    close(fd);
  }
  host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  host_nl = nl_open();
  if (host_ns < 0 || host_nl < 0) {
    fprintf(stderr, "sandbox-net: open the host namespace: %s\n", strerror(errno));
    return 1;
  }
  return lp_serve(MAX_FIELDS, handle) < 0 ? 1 : 0;
}
