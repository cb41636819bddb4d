//go:build !linux && !js

package browserbench

import (
	"errors"
	"time"
)

type cpuSample struct {
	at       time.Time
	busy     float64
	byType   map[string]float64
	cores    int
	procsErr error

	rssByType    map[string]float64
	rssRenderers []float64
}

// sampleCPU reads nothing outside Linux.
func sampleCPU(string) cpuSample {
	return cpuSample{at: time.Now(), procsErr: errors.New("CPU use is read from /proc (Linux only)")}
}
