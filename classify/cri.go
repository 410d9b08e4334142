package classify

import "bytes"

// criLine splits a line of the CRI log format, as containerd and CRI-O
// write a container's output under /var/log/pods and as log shippers
// forward it when no CRI parser is configured (Fluent Bit's tail input
// without one puts it in "log", Vector's file source in "message"):
//
//	2026-11-02T10:00:00.123456789Z stdout F {"ts":…}
//
// ts is the runtime's time of the line, payload what the container
// wrote. A partial line (P) is split too; its payload is not a whole
// record and reads as such.
func criLine(line []byte) (ts, payload []byte, ok bool) {
	// The time is RFC 3339 with nanoseconds: at most 35 bytes.
	sp := bytes.IndexByte(line[:min(len(line), 40)], ' ')
	if sp < 20 || line[0] < '0' || line[0] > '9' {
		return nil, nil, false
	}
	ts, rest := line[:sp], line[sp+1:]
	switch {
	case bytes.HasPrefix(rest, []byte("stdout ")), bytes.HasPrefix(rest, []byte("stderr ")):
		rest = rest[len("stdout "):]
	default:
		return nil, nil, false
	}
	if len(rest) < 2 || (rest[0] != 'F' && rest[0] != 'P') || rest[1] != ' ' {
		return nil, nil, false
	}
	if _, err := parseTime(ts); err != nil {
		return nil, nil, false
	}
	return ts, rest[2:], true
}
