package externalauthconfig

import (
	"context"
	"sync"
	"time"
)

// Bounds on requests to authorization servers in flight.
const (
	// maxChecks in all, so the servers see at most that many at once
	// however many configs reconcile together.
	maxChecks = 10
	// maxPerNamespace for the configs of one namespace, so that one
	// tenant's slow or tarpitting server leaves the others most slots.
	maxPerNamespace = 3
	// maxPerHost to one host.
	maxPerHost = 2
)

// limits hands out the slots a request needs while it is in flight: one of
// its namespace's, one of its host's and one of all. A slot is held only
// while a request is in flight, never while waiting for another config's
// answer to the same question.
type limits struct {
	all chan struct{}

	mu    sync.Mutex
	keyed map[string]*keyedSlots
}

type keyedSlots struct {
	ch    chan struct{}
	users int
}

func newLimits() *limits {
	return &limits{all: make(chan struct{}, maxChecks), keyed: map[string]*keyedSlots{}}
}

// maxSlotWait bounds how long a request waits for its slots: those who wait
// longest are a namespace's own, behind its slow server.
const maxSlotWait = time.Minute

// acquire waits for the slots of a request by namespace ns to host, until
// ctx ends or maxSlotWait passes. release gives them back.
func (l *limits) acquire(ctx context.Context, ns, host string) (release func(), err error) {
	ctx, cancel := context.WithTimeout(ctx, maxSlotWait)
	defer cancel()
	nsSlots := l.slots("namespace\n"+ns, maxPerNamespace)
	hostSlots := l.slots("host\n"+host, maxPerHost)
	var held []chan struct{}
	release = func() {
		for _, ch := range held {
			<-ch
		}
		l.done("namespace\n"+ns, "host\n"+host)
	}
	for _, ch := range []chan struct{}{nsSlots, hostSlots, l.all} {
		select {
		case ch <- struct{}{}:
			held = append(held, ch)
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
	}
	return release, nil
}

// slots returns key's slots, counting one more user of them.
func (l *limits) slots(key string, n int) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, ok := l.keyed[key]
	if !ok {
		k = &keyedSlots{ch: make(chan struct{}, n)}
		l.keyed[key] = k
	}
	k.users++
	return k.ch
}

// done drops keys nobody uses any more, so hosts and namespaces seen once
// do not pile up.
func (l *limits) done(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, key := range keys {
		if k := l.keyed[key]; k != nil {
			if k.users--; k.users == 0 {
				delete(l.keyed, key)
			}
		}
	}
}
