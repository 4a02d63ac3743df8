package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the unit of utime and stime in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const clockTicks = 100

// cpuUsage is CPU time (user + system) consumed so far by this envtest's kube-apiserver and
// etcd and by the benchmark process itself (which runs the manager in the operator phase). On a
// shared machine wall-clock throughput depends on the neighbours; CPU time per tenant much less.
type cpuUsage struct {
	apiserver, etcd, self time.Duration
	// machine is the CPU time all processes of the machine used (/proc/stat): what is not ours was
	// used by the neighbours.
	machine time.Duration
}

func (c cpuUsage) minus(earlier cpuUsage) cpuUsage {
	return cpuUsage{apiserver: c.apiserver - earlier.apiserver, etcd: c.etcd - earlier.etcd, self: c.self - earlier.self,
		machine: c.machine - earlier.machine}
}

func (c cpuUsage) plus(other cpuUsage) cpuUsage {
	return cpuUsage{apiserver: c.apiserver + other.apiserver, etcd: c.etcd + other.etcd, self: c.self + other.self,
		machine: c.machine + other.machine}
}

// neighbours is the average number of cores other processes of the machine kept busy.
func (c cpuUsage) neighbours(elapsed time.Duration) float64 {
	return max(0, float64(c.machine-c.total())) / float64(elapsed)
}

func (c cpuUsage) total() time.Duration { return c.apiserver + c.etcd + c.self }

func (c cpuUsage) perTenant(n int) string {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(n) }
	return fmt.Sprintf("%.0f ms CPU per tenant (kube-apiserver %.0f, etcd %.0f, benchmark process %.0f)",
		ms(c.total()), ms(c.apiserver), ms(c.etcd), ms(c.self))
}

// controlPlane holds the process ids of the kube-apiserver and etcd envtest started: the children
// of this process with those names (other engineers' envtests on the machine are not ours).
type controlPlane struct {
	apiserver, etcd int
}

func findControlPlane() (controlPlane, error) {
	var cp controlPlane
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		comm, fields, ok := parseStat(string(data))
		if !ok || len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		switch comm {
		case "kube-apiserver":
			cp.apiserver = pid
		case "etcd":
			cp.etcd = pid
		}
	}
	if cp.apiserver == 0 || cp.etcd == 0 {
		return cp, fmt.Errorf("kube-apiserver (pid %d) or etcd (pid %d) not found among this process's children", cp.apiserver, cp.etcd)
	}
	return cp, nil
}

// parseStat splits /proc/<pid>/stat into the command name and the fields after it (state, ppid, …).
func parseStat(s string) (string, []string, bool) {
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return "", nil, false
	}
	return s[open+1 : closing], strings.Fields(s[closing+1:]), true
}

func processCPU(pid string) time.Duration {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	_, fields, ok := parseStat(string(data))
	if !ok || len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

func (cp controlPlane) usage() cpuUsage {
	return cpuUsage{
		apiserver: processCPU(strconv.Itoa(cp.apiserver)),
		etcd:      processCPU(strconv.Itoa(cp.etcd)),
		self:      processCPU("self"),
		machine:   machineCPU(),
	}
}

// machineCPU is the busy time of all CPUs: the first line of /proc/stat, all but idle and iowait.
func machineCPU() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal guest guest_nice
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, f := range fields[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		v, _ := strconv.ParseInt(f, 10, 64)
		busy += v
	}
	return time.Duration(busy) * time.Second / clockTicks
}

// waitIdle waits (at most max) until the kube-apiserver and etcd use less than a tenth of a core,
// e.g. after start-up, when the API server is still building the OpenAPI of the CRDs.
func (cp controlPlane) waitIdle(ctx context.Context, max time.Duration) (time.Duration, bool) {
	start := time.Now()
	prev := cp.usage()
	for time.Since(start) < max {
		select {
		case <-ctx.Done():
			return time.Since(start), false
		case <-time.After(time.Second):
		}
		now := cp.usage()
		used := now.minus(prev)
		prev = now
		if used.apiserver+used.etcd < 100*time.Millisecond {
			return time.Since(start), true
		}
	}
	return time.Since(start), false
}
