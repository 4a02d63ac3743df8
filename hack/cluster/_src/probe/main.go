// Command probe is the test client of the local cluster's readiness checks and
// smoke test, packed into a one-layer image by hack/cluster/build.sh (the
// cluster has no registry, so no busybox either):
//
//	probe dns NAME            resolve NAME with the pod's resolver, print the addresses
//	probe tcp HOST:PORT       open a TCP connection (exit 1 if it fails within 3 s)
//	probe serve :PORT         answer every TCP connection with "ok\n" (a tiny server)
//	probe sleep               wait for SIGTERM
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: probe dns NAME | tcp HOST:PORT | serve :PORT | sleep")
	}
	switch os.Args[1] {
	case "dns":
		need(3)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupHost(ctx, os.Args[2])
		if err != nil {
			fail("dns %s: %v", os.Args[2], err)
		}
		fmt.Printf("%s %s\n", os.Args[2], strings.Join(addrs, " "))
	case "tcp":
		need(3)
		c, err := net.DialTimeout("tcp", os.Args[2], 3*time.Second)
		if err != nil {
			fail("tcp %s: %v", os.Args[2], err)
		}
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		c.Close()
		fmt.Printf("tcp %s: connected %s\n", os.Args[2], strings.TrimSpace(string(buf[:n])))
	case "serve":
		need(3)
		l, err := net.Listen("tcp", os.Args[2])
		if err != nil {
			fail("listen %s: %v", os.Args[2], err)
		}
		fmt.Printf("serving on %s\n", l.Addr())
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				fmt.Fprintln(c, "ok")
				c.Close()
			}
		}()
		waitTerm()
	case "sleep":
		waitTerm()
	default:
		fail("unknown command %q", os.Args[1])
	}
}

func waitTerm() {
	s := make(chan os.Signal, 1)
	signal.Notify(s, syscall.SIGTERM, syscall.SIGINT)
	<-s
}

func need(n int) {
	if len(os.Args) < n {
		fail("missing argument")
	}
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "probe: "+format+"\n", a...)
	os.Exit(1)
}
