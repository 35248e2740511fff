package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// addLoopbackAddress adds ip/32 to the loopback interface of this process's network namespace,
// what `ip addr add IP/32 dev lo` does, with one rtnetlink RTM_NEWADDR request. It needs
// CAP_NET_ADMIN in the namespace. An address that is already there is not an error.
func addLoopbackAddress(ip netip.Addr) error {
	if !ip.Is4() {
		return fmt.Errorf("%s: an IPv4 address is required", ip)
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return fmt.Errorf("the loopback interface: %w", err)
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("a netlink socket: %w", err)
	}
	defer unix.Close(fd)

	addr := ip.As4()
	attr := func(typ uint16, data []byte) []byte { // struct rtattr, 4-byte aligned (IPv4 needs no padding)
		b := make([]byte, unix.SizeofRtAttr, unix.SizeofRtAttr+len(data))
		binary.NativeEndian.PutUint16(b[0:], uint16(unix.SizeofRtAttr+len(data)))
		binary.NativeEndian.PutUint16(b[2:], typ)
		return append(b, data...)
	}
	body := make([]byte, unix.SizeofIfAddrmsg) // struct ifaddrmsg
	body[0] = unix.AF_INET
	body[1] = 32                     // prefix length
	body[3] = unix.RT_SCOPE_UNIVERSE // as `ip addr add` does for a non-127/8 address
	binary.NativeEndian.PutUint32(body[4:], uint32(lo.Index))
	body = append(body, attr(unix.IFA_LOCAL, addr[:])...)
	body = append(body, attr(unix.IFA_ADDRESS, addr[:])...)

	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	binary.NativeEndian.PutUint32(msg[0:], uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], unix.RTM_NEWADDR)
	binary.NativeEndian.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_REPLACE)
	binary.NativeEndian.PutUint32(msg[8:], 1) // sequence number
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("RTM_NEWADDR %s dev lo: %w", ip, err)
	}

	// The kernel acknowledges with an NLMSG_ERROR whose error is 0, or -errno.
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return fmt.Errorf("RTM_NEWADDR %s dev lo: reading the acknowledgement: %w", ip, err)
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return fmt.Errorf("RTM_NEWADDR %s dev lo: the acknowledgement: %w", ip, err)
	}
	for _, m := range msgs {
		if m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4 {
			continue
		}
		if errno := -int32(binary.NativeEndian.Uint32(m.Data[:4])); errno != 0 {
			return fmt.Errorf("RTM_NEWADDR %s dev lo: %w (the container needs CAP_NET_ADMIN)", ip, unix.Errno(errno))
		}
		return nil
	}
	return fmt.Errorf("RTM_NEWADDR %s dev lo: no acknowledgement from the kernel", ip)
}
