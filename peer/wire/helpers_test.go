package wire

import "testing"

func newEncoder(tb testing.TB, opts Options) *Encoder {
	tb.Helper()
	e, err := NewEncoder(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

func newDecoder(tb testing.TB, opts Options) *Decoder {
	tb.Helper()
	d, err := NewDecoder(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(d.Close)
	return d
}
