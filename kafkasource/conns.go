package kafkasource

import (
	"context"
	"net"
	"sync"
	"time"
)

// connSet dials and remembers the connections of one partition reader so
// that they can all be closed at once.
//
// kafka-go's Reader.Close cancels its fetch loop but waits for the fetch in
// flight, which the broker holds for up to MaxWait (10s by default) when the
// partition has no new records: closing a reader of an idle partition would
// hold up the end of the generation, and so the rebalance or the shutdown.
// Closing the connections under the reader ends that fetch at once.
type connSet struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (s *connSet) dial(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.conns[c] = struct{}{}
	return &trackedConn{Conn: c, s: s}, nil
}

// closeAll closes every open connection and makes later dials fail.
func (s *connSet) closeAll() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

type trackedConn struct {
	net.Conn
	s    *connSet
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c.Conn)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}
