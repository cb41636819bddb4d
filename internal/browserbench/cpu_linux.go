//go:build linux

package browserbench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuSample is the CPU time used so far by the machine and by the
// browser's processes, by process type.
type cpuSample struct {
	at       time.Time
	busy     float64 // machine: seconds not idle, all cores
	byType   map[string]float64
	cores    int
	procsErr error
	// Resident memory in MiB, by process type, and of each renderer.
	rssByType    map[string]float64
	rssRenderers []float64
}

// clockTicks is USER_HZ, 100 on every Linux Go supports.
const clockTicks = 100

// sampleCPU reads /proc: the machine's busy time, and the CPU time of the
// browser whose profile is in profileDir and of all its descendants,
// grouped by Chromium's --type (the browser process has none).
func sampleCPU(profileDir string) cpuSample {
	s := cpuSample{at: time.Now(), byType: map[string]float64{}, rssByType: map[string]float64{}}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) > 5 && f[0] == "cpu":
				var total float64
				for i, v := range f[1:] {
					x, _ := strconv.ParseFloat(v, 64)
					if i != 3 && i != 4 { // idle, iowait
						total += x
					}
				}
				s.busy = total / clockTicks
			case len(f) > 0 && strings.HasPrefix(f[0], "cpu"):
				s.cores++
			}
		}
	}
	procs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		s.procsErr = err
		return s
	}
	type proc struct {
		ppid int
		cpu  float64
		rss  float64 // MiB
		cmd  []byte
	}
	all := map[int]proc{}
	root := -1
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(p + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime(14) stime(15): comm may hold spaces.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		var rss float64
		if len(f) > 21 { // rss(24), in pages
			pages, _ := strconv.ParseFloat(f[21], 64)
			rss = pages * float64(os.Getpagesize()) / (1 << 20)
		}
		cmd, _ := os.ReadFile(p + "/cmdline")
		all[pid] = proc{ppid: ppid, cpu: (ut + st) / clockTicks, rss: rss, cmd: cmd}
		if root < 0 && bytes.Contains(cmd, []byte("--user-data-dir="+profileDir)) && !bytes.Contains(cmd, []byte("--type=")) {
			root = pid
		}
	}
	if root < 0 {
		s.procsErr = fmt.Errorf("no browser process with profile %s", profileDir)
		return s
	}
	inTree := func(pid int) bool {
		for range 64 {
			if pid == root {
				return true
			}
			p, ok := all[pid]
			if !ok || p.ppid == pid {
				return false
			}
			pid = p.ppid
		}
		return false
	}
	for pid, p := range all {
		if !inTree(pid) {
			continue
		}
		typ := "browser"
		// Chromium rewrites its children's command lines: arguments are
		// separated by spaces there, by NULs elsewhere.
		args := strings.FieldsFunc(string(p.cmd), func(r rune) bool { return r == 0 || r == ' ' })
		for _, a := range args {
			if t, ok := strings.CutPrefix(a, "--type="); ok {
				typ = t
			}
		}
		if typ == "utility" {
			for _, a := range args {
				if sub, ok := strings.CutPrefix(a, "--utility-sub-type="); ok {
					typ = "utility " + sub
				}
			}
		}
		s.byType[typ] += p.cpu
		s.rssByType[typ] += p.rss
		if typ == "renderer" {
			s.rssRenderers = append(s.rssRenderers, p.rss)
		}
	}
	return s
}
