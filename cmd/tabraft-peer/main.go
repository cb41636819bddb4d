// Command tabraft-peer is a native, headless tabraft member: it joins a
// room through the signaling server, talks to the other members over
// WebRTC, keeps its log on disk and applies the demo's shared board.
//
//	tabraft-peer -signal ws://127.0.0.1:8080/signal -room demo -data ./data
//
// Membership is automatic (the autopilot, on by default): a new member
// alone in the room founds the cluster, one that finds others waits to be
// added, and the leader adds members present as learners, keeps an odd
// number of voters up to -target-voters and removes members silent for
// -dead-timeout. -bootstrap still names the founding voters explicitly.
//
// When every other voter is gone for good, -recover-alone rewrites the
// stored state into a cluster of this member alone before starting (see
// peer.RecoverAlone for what is kept and the risks: members of the old
// cluster must not come back with their state).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/peer/autopilot"
	"github.com/tabraft/tabraft/peer/board"
	"github.com/tabraft/tabraft/peer/filelog"
	"github.com/tabraft/tabraft/peer/rtc"
	"github.com/tabraft/tabraft/raft"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tabraft-peer:", err)
		os.Exit(2)
	}
}

type options struct {
	signal, room, data, id, bootstrap, level string
	loopback                                 bool
	autopilot, recoverAlone, leaveOnExit     bool
	targetVoters                             int
	deadTimeout                              time.Duration
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("tabraft-peer", flag.ContinueOnError)
	fs.StringVar(&o.signal, "signal", env("TABRAFT_SIGNAL", "ws://127.0.0.1:8080/signal"), "signaling server WebSocket URL (TABRAFT_SIGNAL)")
	fs.StringVar(&o.room, "room", env("TABRAFT_ROOM", "demo"), "room of the cluster (TABRAFT_ROOM)")
	fs.StringVar(&o.data, "data", env("TABRAFT_DATA", "./tabraft-data"), "directory for the log, snapshots and member id (TABRAFT_DATA)")
	fs.StringVar(&o.id, "id", env("TABRAFT_ID", ""), "member id in hex (default: the one stored in -data, or a new random one)")
	fs.StringVar(&o.bootstrap, "bootstrap", env("TABRAFT_BOOTSTRAP", ""), "start a new cluster with these voters: comma-separated hex ids, or 'self' (only used when -data is empty)")
	fs.StringVar(&o.level, "log-level", env("TABRAFT_LOG_LEVEL", "info"), "debug, info, warn or error")
	fs.BoolVar(&o.loopback, "loopback", false, "gather loopback ICE candidates only (members on one machine)")
	fs.BoolVar(&o.autopilot, "autopilot", true, "manage the membership automatically (found or join, add, promote, remove)")
	fs.IntVar(&o.targetVoters, "target-voters", autopilot.DefaultTargetVoters, "number of voters the autopilot aims for (odd)")
	fs.DurationVar(&o.deadTimeout, "dead-timeout", autopilot.DefaultDeadTimeout, "the autopilot removes a member silent for this long")
	fs.BoolVar(&o.recoverAlone, "recover-alone", false, "before starting, make the stored state a cluster of this member alone (when every other voter is gone for good; see the risks in peer.RecoverAlone)")
	fs.BoolVar(&o.leaveOnExit, "leave-on-exit", false, "on SIGINT/SIGTERM, leave the cluster (hand leadership over, be removed) rather than just stop")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if err := o.autopilotConfig().Validate(); err != nil {
		return o, fmt.Errorf("-target-voters, -dead-timeout: %w", err)
	}
	return o, nil
}

// autopilotConfig is the membership policy the flags ask for.
func (o options) autopilotConfig() autopilot.Config {
	return autopilot.Config{TargetVoters: o.targetVoters, DeadTimeout: o.deadTimeout}
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func run(args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.level)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	id, err := memberID(o)
	if err != nil {
		return err
	}
	voters, err := parseVoters(o.bootstrap, id)
	if err != nil {
		return err
	}
	store, err := filelog.Open(o.data, filelog.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	if o.recoverAlone {
		meta, err := peer.RecoverAlone(store, board.New(), id)
		if err != nil {
			return fmt.Errorf("-recover-alone: %w", err)
		}
		logger.Warn("recovered alone: this member is now a cluster of its own; members of the old cluster must not come back with their state",
			"index", meta.Index, "term", meta.Term)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tr, err := rtc.New(ctx, rtc.Config{ID: id, SignalURL: o.signal, Room: o.room, Logger: logger, Loopback: o.loopback})
	if err != nil {
		return err
	}
	cfg := peer.Config{
		Raft:         raft.Config{ID: id, Voters: voters},
		Storage:      store,
		Transport:    tr,
		StateMachine: board.New(),
		Logger:       logger,
	}
	if o.autopilot {
		ap := o.autopilotConfig()
		cfg.Autopilot = &ap
		if voters == nil {
			// rtc.New returned with the room's roster.
			var err error
			if cfg.Raft.Voters, err = peer.FoundingVoters(store, id, tr.Members()); err != nil {
				_ = tr.Close()
				return err
			}
			if cfg.Raft.Voters != nil {
				logger.Info("alone in the room with empty storage: founding the cluster")
			}
		}
	}
	node, err := peer.Start(context.Background(), cfg)
	if err != nil {
		_ = tr.Close()
		return err
	}
	logger.Info("member started", "id", peer.FormatID(id), "room", o.room, "data", o.data, "autopilot", o.autopilot)
	select {
	case <-ctx.Done():
		if o.leaveOnExit {
			logger.Info("leaving the cluster")
			lctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := node.Leave(lctx)
			cancel()
			if err != nil {
				logger.Warn("leave not confirmed", "err", err)
			}
		}
		logger.Info("stopping")
	case <-node.Done():
	}
	node.Stop()
	if err := node.Err(); err != nil {
		return err
	}
	return nil
}

func memberID(o options) (raft.NodeID, error) {
	var preferred raft.NodeID
	if o.id != "" {
		id, err := peer.ParseID(o.id)
		if err != nil {
			return raft.None, fmt.Errorf("-id: %w", err)
		}
		preferred = id
	}
	return peer.LoadOrCreateID(o.data, preferred)
}

func parseVoters(s string, self raft.NodeID) ([]raft.NodeID, error) {
	if s == "" {
		return nil, nil // join: wait to be added by the cluster's leader
	}
	var voters []raft.NodeID
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "self" {
			voters = append(voters, self)
			continue
		}
		id, err := peer.ParseID(f)
		if err != nil {
			return nil, fmt.Errorf("-bootstrap: %w", err)
		}
		voters = append(voters, id)
	}
	if len(voters) == 0 {
		return nil, errors.New("-bootstrap: no voters")
	}
	return voters, nil
}
