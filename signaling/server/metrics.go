package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tabraft/tabraft/signaling"
)

// Reasons of rejections that happen before a WebSocket exists, in
// tabraft_signal_rejected_total beside the protocol's error codes.
const (
	rejectOrigin       = "origin"
	rejectTooManyConns = "too_many_connections"
	rejectShuttingDown = "shutting_down"
)

// Reasons the server closes a connection, in tabraft_signal_closed_total.
const (
	closedTooBig        = "too_big"
	closedBadVersion    = "bad_version"
	closedTooManyErrors = "too_many_errors"
	closedSlowConsumer  = "slow_consumer"
	closedTimeout       = "timeout"
	closedShutdown      = "shutdown"
)

// metrics are the server's Prometheus metrics, in a registry of its own.
type metrics struct {
	registry *prometheus.Registry
	received prometheus.Counter
	relayed  *prometheus.CounterVec
	rejected *prometheus.CounterVec
	left     *prometheus.CounterVec
	closed   *prometheus.CounterVec
}

// newMetrics registers the metrics; the gauges read s when scraped.
func newMetrics(s *Server) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tabraft_signal_messages_received_total",
			Help: "WebSocket messages received from clients, accepted or not.",
		}),
		relayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tabraft_signal_messages_relayed_total",
			Help: "Offers, answers and candidates relayed from one member to another.",
		}, []string{"type"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tabraft_signal_rejected_total",
			Help: "Refused messages and refused WebSocket upgrades, by reason.",
		}, []string{"reason"}),
		left: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tabraft_signal_members_left_total",
			Help: "Members that left their room, by reason.",
		}, []string{"reason"}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tabraft_signal_connections_closed_by_server_total",
			Help: "Connections the server closed, by reason.",
		}, []string{"reason"}),
	}
	// Every label value exists from the start, so that rates work at once.
	for _, t := range []signaling.Type{signaling.TypeOffer, signaling.TypeAnswer, signaling.TypeCandidate} {
		m.relayed.WithLabelValues(string(t))
	}
	for _, c := range []signaling.ErrorCode{
		signaling.CodeBadMessage, signaling.CodeBadVersion, signaling.CodeBadType,
		signaling.CodeBadID, signaling.CodeBadRoom, signaling.CodeBadTarget,
		signaling.CodeNotJoined, signaling.CodeAlreadyJoined, signaling.CodeDuplicateID,
		signaling.CodeRoomFull, signaling.CodeTooManyRooms, signaling.CodeUnknownMember,
		signaling.CodeTooBig, signaling.CodeRateLimited,
	} {
		m.rejected.WithLabelValues(string(c))
	}
	for _, r := range []string{rejectOrigin, rejectTooManyConns, rejectShuttingDown} {
		m.rejected.WithLabelValues(r)
	}
	for _, r := range []signaling.LeftReason{
		signaling.LeftLeave, signaling.LeftClosed, signaling.LeftTimeout,
		signaling.LeftEvicted, signaling.LeftShutdown,
	} {
		m.left.WithLabelValues(string(r))
	}
	for _, r := range []string{closedTooBig, closedBadVersion, closedTooManyErrors, closedSlowConsumer, closedTimeout, closedShutdown} {
		m.closed.WithLabelValues(r)
	}

	m.registry.MustRegister(
		m.received, m.relayed, m.rejected, m.left, m.closed,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tabraft_signal_rooms",
			Help: "Rooms that exist now (a room exists while it has members).",
		}, func() float64 { return float64(s.Stats().Rooms) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tabraft_signal_members",
			Help: "Members in all rooms now.",
		}, func() float64 { return float64(s.Stats().Members) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tabraft_signal_connections",
			Help: "Open WebSocket connections now, in a room or not.",
		}, func() float64 { return float64(s.Stats().Conns) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}
