package rtc_test

import (
	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/peer/rtc"
)

// The WebRTC transport is a peer.Transport.
var _ peer.Transport = (*rtc.Transport)(nil)
