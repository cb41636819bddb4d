package rtc

import (
	"math/rand/v2"
	"sync"
	"time"
)

// backoff computes retry delays: exponential from base, capped at max, with
// "equal jitter" (a uniform pick in the upper half of the step) so that
// members that failed together do not retry together.
type backoff struct {
	base, max time.Duration

	mu  sync.Mutex // guards rng
	rng *rand.Rand
}

// delay returns the wait before retry number attempt (0 for the first).
func (b *backoff) delay(attempt int) time.Duration {
	d := b.base
	for i := 0; i < attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	if d <= 1 {
		return d
	}
	half := d / 2
	b.mu.Lock()
	j := time.Duration(b.rng.Int64N(int64(d - half + 1)))
	b.mu.Unlock()
	return half + j
}

// uint64 returns a random number from the same source.
func (b *backoff) uint64() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rng.Uint64()
}
