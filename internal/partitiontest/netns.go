package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// The network the test makes and uses alone: a bridge in the root
// namespace and one namespace per nats-server node and per chancery
// replica, each with a veth pair into the bridge. Every address the test
// talks to is one it gives out here.
const (
	bridge   = "chpt0"
	subnet   = "10.250.77"
	bridgeIP = subnet + ".1" // the harness: writers, webhook receiver, checks
	prefix   = "chpt-"
)

// host is one namespace on the bridge.
type host struct {
	ns   string // namespace name, also the name of the root side of its veth pair
	addr string
}

func nodeHost(i int) host {
	return host{ns: fmt.Sprintf("%sn%d", prefix, i+1), addr: fmt.Sprintf("%s.%d", subnet, 11+i)}
}
func replicaHost(i int) host {
	return host{ns: fmt.Sprintf("%sr%d", prefix, i+1), addr: fmt.Sprintf("%s.%d", subnet, 21+i)}
}

// preflight says what is missing to run: root, ip, iptables.
func preflight() error {
	if os.Geteuid() != 0 {
		return errors.New("the partition test needs root (network namespaces, a bridge and iptables rules)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("the partition test needs the ip command (Debian package iproute2)")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return errors.New("the partition test needs iptables to drop packets: apt-get install iptables")
	}
	return nil
}

func sh(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// teardown removes the bridge and namespaces of this or an earlier run
// (one that was killed before it could clean up); what is absent is fine.
func teardown(hosts []host) {
	for _, h := range hosts {
		_ = sh("ip", "netns", "del", h.ns)
		_ = sh("ip", "link", "del", h.ns)
	}
	_ = sh("ip", "link", "del", bridge)
}

// setup makes the bridge and a namespace for each host.
func setup(hosts []host) error {
	steps := [][]string{
		{"ip", "link", "add", bridge, "type", "bridge"},
		{"ip", "addr", "add", bridgeIP + "/24", "dev", bridge},
		{"ip", "link", "set", bridge, "up"},
	}
	for _, h := range hosts {
		steps = append(steps,
			[]string{"ip", "netns", "add", h.ns},
			[]string{"ip", "link", "add", h.ns, "type", "veth", "peer", "name", "eth0", "netns", h.ns},
			[]string{"ip", "link", "set", h.ns, "master", bridge},
			[]string{"ip", "link", "set", h.ns, "up"},
			[]string{"ip", "-n", h.ns, "addr", "add", h.addr + "/24", "dev", "eth0"},
			[]string{"ip", "-n", h.ns, "link", "set", "eth0", "up"},
			[]string{"ip", "-n", h.ns, "link", "set", "lo", "up"},
		)
	}
	for _, s := range steps {
		if err := sh(s...); err != nil {
			return err
		}
	}
	return nil
}

// cut makes h silent on the bridge: every packet in or out of its
// interface is dropped (DROP, not REJECT: no RST, no ICMP), as a pulled
// cable or a lost switch port looks to its peers. Loopback is untouched.
func cut(h host) error {
	if err := sh("ip", "netns", "exec", h.ns, "iptables", "-A", "INPUT", "-i", "eth0", "-j", "DROP"); err != nil {
		return err
	}
	return sh("ip", "netns", "exec", h.ns, "iptables", "-A", "OUTPUT", "-o", "eth0", "-j", "DROP")
}

// heal removes the cut.
func heal(h host) error {
	return sh("ip", "netns", "exec", h.ns, "iptables", "-F")
}
