//go:build js

package wasm

import (
	"errors"
	"sync"

	"github.com/hack-pad/safejs"
)

// onVisibility applies the hidden-tab policy (see HiddenWatch) to the
// page's members: on each visibilitychange of the document, every member
// is told whether the page is hidden. A member is watched from the first
// change after it joined (one that joins in a hidden tab and leads is
// handed over at the next change only). The listener never blocks.
func (a *api) onVisibility() error {
	doc := field(a.rt.global, "document")
	if doc.Type() != safejs.TypeObject {
		return errors.New("no document")
	}
	var mu sync.Mutex
	watches := map[*Member]*HiddenWatch{}
	fn, err := a.rt.function(a.log, "visibilitychange", func(safejs.Value, []safejs.Value) any {
		state, _ := optString(doc, "visibilityState", "visible")
		hidden := state == "hidden"
		a.mu.Lock()
		live := make(map[*Member]bool, len(a.members))
		for m := range a.members {
			live[m] = true
		}
		a.mu.Unlock()
		mu.Lock()
		for m, w := range watches {
			if !live[m] {
				w.Close()
				delete(watches, m)
			}
		}
		ws := make([]*HiddenWatch, 0, len(live))
		for m := range live {
			w, ok := watches[m]
			if !ok {
				w = WatchHidden(m, a.log)
				watches[m] = w
			}
			ws = append(ws, w)
		}
		mu.Unlock()
		for _, w := range ws {
			w.SetHidden(hidden)
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = doc.Call("addEventListener", "visibilitychange", fn.Value())
	return err
}
