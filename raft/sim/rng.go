package sim

import (
	"math/rand/v2"
	"time"
)

// durN returns a duration in [0, d) from rng (d must be positive).
func durN(rng *rand.Rand, d time.Duration) time.Duration {
	return time.Duration(rng.Int64N(int64(d)))
}
