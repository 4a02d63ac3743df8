package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the unit of utime and stime in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const clockTicks = 100

// parseStat splits /proc/<pid>/stat into the command name and the fields after it (fields[0] is
// the state, fields[1] the parent pid, fields[11] utime, fields[12] stime, fields[13] cutime,
// fields[14] cstime). The name is in parentheses and may contain spaces and parentheses itself.
func parseStat(s string) (comm string, fields []string, ok bool) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", nil, false
	}
	return s[open+1 : end], strings.Fields(s[end+1:]), true
}

func ticks(fields []string, i int) time.Duration {
	if i >= len(fields) {
		return 0
	}
	n, _ := strconv.ParseInt(fields[i], 10, 64)
	return time.Duration(n) * time.Second / clockTicks
}

// procCPU is the CPU time (user + system) pid has used; with children, also that of its
// children that have exited and been waited for (cutime + cstime).
func procCPU(pid int, children bool) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, f, ok := parseStat(string(data))
	if !ok {
		return 0
	}
	d := ticks(f, 11) + ticks(f, 12)
	if children {
		d += ticks(f, 13) + ticks(f, 14)
	}
	return d
}

// childrenOf lists the processes whose parent is ppid, by command name.
func childrenOf(ppid int) map[int]string {
	out := map[int]string{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		comm, f, ok := parseStat(string(data))
		if !ok || len(f) < 2 || f[1] != strconv.Itoa(ppid) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		out[pid] = comm
	}
	return out
}

// findPostmaster returns the pid of the PostgreSQL server pgtest started (a child of this
// process named postgres), or 0 (e.g. with SLOTBOOK_TEST_DATABASE_URL, an external server).
func findPostmaster() int {
	for pid, comm := range childrenOf(os.Getpid()) {
		if comm == "postgres" {
			return pid
		}
	}
	return 0
}

// postgresCPU is the CPU time of the whole server: the postmaster, its exited (reaped) backends
// and its live children (backends, checkpointer, walwriter, ...).
func postgresCPU(postmaster int) time.Duration {
	if postmaster == 0 {
		return 0
	}
	d := procCPU(postmaster, true)
	for pid := range childrenOf(postmaster) {
		d += procCPU(pid, false)
	}
	return d
}

// machineCPU is the busy CPU time of the whole machine so far (/proc/stat: every state but idle
// and iowait), summed over all cores.
func machineCPU() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy time.Duration
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += time.Duration(n) * time.Second / clockTicks
	}
	return busy
}

// memStatus reads VmRSS and VmHWM (peak RSS) of pid from /proc/<pid>/status, in bytes.
func memStatus(pid int) (rss, hwm int64, err error) {
	if pid == 0 {
		return 0, 0, fmt.Errorf("no process")
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "VmRSS":
			dst = &rss
		case "VmHWM":
			dst = &hwm
		default:
			continue
		}
		fs := strings.Fields(v) // "12345 kB"
		if len(fs) == 2 && fs[1] == "kB" {
			n, _ := strconv.ParseInt(fs[0], 10, 64)
			*dst = n << 10
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return rss, hwm, sc.Err()
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// memTotal is the machine's memory (MemTotal of /proc/meminfo) in bytes.
func memTotal() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			fs := strings.Fields(v)
			if len(fs) == 2 {
				n, _ := strconv.ParseInt(fs[0], 10, 64)
				return n << 10
			}
		}
	}
	return 0
}

// cpuSample is a snapshot of the CPU used by each party of the benchmark.
type cpuSample struct {
	app, postgres, self, machine time.Duration
	at                           time.Time
}

type cpuMeter struct {
	appPID, postmaster int
}

func (m cpuMeter) sample() cpuSample {
	return cpuSample{
		app:      procCPU(m.appPID, false),
		postgres: postgresCPU(m.postmaster),
		self:     procCPU(os.Getpid(), false),
		machine:  machineCPU(),
		at:       time.Now(),
	}
}

// cpuSpan is the CPU used between two samples; extra is CPU of other processes of ours (pgbench),
// measured separately.
type cpuSpan struct {
	app, postgres, self, extra, machine, wall time.Duration
}

func (m cpuMeter) since(s cpuSample) cpuSpan {
	now := m.sample()
	return cpuSpan{
		app: now.app - s.app, postgres: now.postgres - s.postgres, self: now.self - s.self,
		machine: now.machine - s.machine, wall: now.at.Sub(s.at),
	}
}

func (c cpuSpan) plus(o cpuSpan) cpuSpan {
	return cpuSpan{c.app + o.app, c.postgres + o.postgres, c.self + o.self, c.extra + o.extra, c.machine + o.machine, c.wall + o.wall}
}

func (c cpuSpan) ours() time.Duration { return c.app + c.postgres + c.self + c.extra }

// neighbours is how many cores other processes of the machine kept busy on average.
func (c cpuSpan) neighbours() float64 {
	if c.wall <= 0 {
		return 0
	}
	return max(0, float64(c.machine-c.ours())) / float64(c.wall)
}

// per formats the CPU per operation in milliseconds.
func (c cpuSpan) per(n int, client string) string {
	if n == 0 {
		return "-"
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(n) }
	clientCPU := c.self + c.extra
	s := fmt.Sprintf("%.2f ms (postgres %.2f, %s %.2f", ms(c.ours()), ms(c.postgres), client, ms(clientCPU))
	if c.app > 0 {
		s += fmt.Sprintf(", app %.2f", ms(c.app))
	}
	return s + ")"
}
