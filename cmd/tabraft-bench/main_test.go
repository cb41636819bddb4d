//go:build !js

package main

import (
	"io"
	"testing"
	"time"

	"github.com/tabraft/tabraft/internal/browserbench"
)

func TestParseFlags(t *testing.T) {
	c, asJSON, err := parseFlags([]string{"-tabs", "5", "-duration", "2s", "-batch", "64", "-concurrency", "2", "-trials", "3", "-json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Tabs != 5 || c.Duration != 2*time.Second || c.Batch != 64 || c.Concurrency != 2 || c.Trials != 3 || !asJSON {
		t.Errorf("parsed %+v json=%v", c, asJSON)
	}
	if c.OpSize != browserbench.DefaultOpSize || c.Failover != "close" || c.Warmup != browserbench.DefaultWarmup {
		t.Errorf("defaults not kept: %+v", c)
	}
	for _, bad := range [][]string{{"-tabs", "2"}, {"-failover", "kill"}, {"extra"}, {"-batch", "0"}} {
		if _, _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
