//go:build !js

package server

import (
	"bytes"
	"testing"
)

func TestSendQueueBounds(t *testing.T) {
	q := newSendQueue(3, 10)
	msg := func(n int) outgoing { return outgoing{data: bytes.Repeat([]byte("x"), n)} }
	if _, ok := q.pop(); ok {
		t.Fatal("pop from an empty queue")
	}
	if !q.push(msg(20)) {
		t.Fatal("an item larger than the byte bound must fit an empty queue")
	}
	if q.push(msg(1)) {
		t.Fatal("push past the byte bound")
	}
	if o, ok := q.pop(); !ok || len(o.data) != 20 {
		t.Fatalf("pop = %d bytes, %v", len(o.data), ok)
	}
	for i := 1; i <= 3; i++ {
		if !q.push(msg(i)) {
			t.Fatalf("push %d refused", i)
		}
	}
	if q.push(msg(0)) {
		t.Fatal("push past the count bound")
	}
	for i := 1; i <= 3; i++ {
		if o, ok := q.pop(); !ok || len(o.data) != i {
			t.Fatalf("pop %d = %d bytes, %v: order lost", i, len(o.data), ok)
		}
	}
	if q.bytes != 0 || q.head != 0 || len(q.items) != 0 {
		t.Fatalf("drained queue holds %d bytes, head %d, %d items", q.bytes, q.head, len(q.items))
	}
	select {
	case <-q.ready:
	default:
		t.Fatal("pushes left no ready token")
	}
}
