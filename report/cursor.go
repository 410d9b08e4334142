package report

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"time"
)

// ErrBadQuery means a request a report cannot answer as asked: a search
// without a tenant, service or provider, a window too long, a cursor that
// is not one of this query's. Commands exit 2 on it, the console answers
// 400.
var ErrBadQuery = errors.New("bad query")

// A cursor says where the next page of a list starts: the key of the last
// item shown, and the window and filters it was listed with. It is opaque
// to people (base64url of 43 bytes) but not a secret: it holds nothing
// that the query does not. It is tamper-safe by validation, not by
// signature: a cursor is used only with the filters it was made for (a
// hash of them), only within its window, and only with a key that can be
// one; an altered one either fails that or names another place in the
// same list the user may read anyway.
type cursor struct {
	kind     byte // 's' search, 'a' alert history
	flag     bool // alert history: the last alert was firing
	from, to time.Time
	at       time.Time // the last item's ts (or start)
	id       int64
	query    uint64
}

const (
	cursorVersion = 1
	cursorBytes   = 1 + 1 + 1 + 8*5
)

func (c cursor) String() string {
	b := make([]byte, 0, cursorBytes)
	b = append(b, cursorVersion, c.kind, 0)
	if c.flag {
		b[2] = 1
	}
	for _, v := range []int64{c.from.UnixNano(), c.to.UnixNano(), c.at.UnixNano(), c.id, int64(c.query)} {
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseCursor reads a cursor of kind made for the query of hash query,
// and checks that it can be one.
func parseCursor(s string, kind byte, query uint64) (cursor, error) {
	bad := func(why string) (cursor, error) {
		return cursor{}, fmt.Errorf("%w: the cursor (--after, after=) %s: list again from the first page", ErrBadQuery, why)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != cursorBytes || b[0] != cursorVersion || b[1] != kind || b[2] > 1 {
		return bad("is not one")
	}
	v := func(i int) int64 { return int64(binary.BigEndian.Uint64(b[3+8*i:])) }
	c := cursor{kind: kind, flag: b[2] == 1, from: time.Unix(0, v(0)).UTC(), to: time.Unix(0, v(1)).UTC(),
		at: time.Unix(0, v(2)).UTC(), id: v(3), query: uint64(v(4))}
	switch {
	case c.query != query:
		return bad("was made for other filters")
	case !c.from.Before(c.to) || c.id <= 0 || !c.at.Before(c.to):
		return bad("cannot be one")
	}
	return c, nil
}

// queryHash is the hash of a query's filters that its cursors carry.
func queryHash(kind byte, parts ...string) uint64 {
	h := fnv.New64a()
	h.Write([]byte{kind})
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}
