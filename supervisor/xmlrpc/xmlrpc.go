// Package xmlrpc is an XML-RPC codec and HTTP transport that talks to
// Python's xmlrpc.client (ServerProxy, MultiCall) and to Python supervisor's
// server and client. It knows nothing about supervisor itself.
//
// Values map to Go as follows (decoding produces exactly these types):
//
//	<int> <i4> <i8> <i1> <i2> <biginteger>  int64 (a value outside int64 is a DecodeError)
//	<boolean>                               bool
//	<string>, untyped <value>text</value>   string
//	<double> <float>                        float64
//	<dateTime.iso8601>                      time.Time in UTC (the wire form has no zone)
//	<base64>                                []byte
//	<struct>                                map[string]any
//	<array>                                 []any
//	<nil/>                                  nil
//
// Encoding accepts those types plus int, int8, int16, int32, uint, uint8,
// uint16, uint32, uint64 and float32, and the containers []string, []int,
// []map[string]any, map[string]string and map[string]int. Integers must fit
// XML-RPC's signed 32-bit <int>, as Python's marshaller demands ("int exceeds
// XML-RPC limits"); there is no reflection and no struct encoding. nil is
// sent as <nil/>, as Python does with allow_none; a nil slice or map is an
// empty array or struct. A time.Time is sent as its wall clock in its own
// location, as Python sends a naive datetime: convert with UTC() or Local()
// first as the peer expects.
//
// The encoder writes the same bytes as Python's xmlrpc.client.dumps, with
// struct members sorted by name (Go maps have no order) and these
// differences for strings, which Python sends raw: a carriage return is sent
// as "&#13;" so that it survives the parser's end-of-line normalisation, and
// characters XML 1.0 forbids (C0 controls other than tab, newline and
// carriage return, U+FFFE, U+FFFF) and invalid UTF-8 bytes are each replaced
// by U+FFFD, since no XML parser, Python's included, accepts them in any
// form. Like Python, only &, < and > are escaped otherwise.
//
// The decoder is as tolerant as Python's unmarshaller (whitespace between
// elements, untyped and empty values, missing <params>, namespace prefixes
// such as <ex:nil/> and <ex:i8>, struct members in any order) and strict
// where safety matters: any DOCTYPE or other directive is rejected, entities
// other than XML's five are errors, unknown elements are errors, and Limits
// bound the bytes read, the nesting of arrays and structs and the number of
// values while the document streams in.
package xmlrpc

import (
	"errors"
	"fmt"
)

// Fault is an XML-RPC fault. It is an error.
type Fault struct {
	Code   int
	String string
}

// Error returns "fault CODE: STRING".
func (f *Fault) Error() string { return fmt.Sprintf("fault %d: %s", f.Code, f.String) }

// Limits bound what a decoder accepts from a peer. A zero (or negative)
// field means the corresponding field of DefaultLimits.
type Limits struct {
	MaxBytes int64 // body size
	MaxDepth int   // nesting of arrays/structs; a scalar parameter is depth 0
	MaxItems int   // total number of values in one document
}

// DefaultLimits are the limits used for zero fields of a Limits, and a
// server's limits on a request.
var DefaultLimits = Limits{MaxBytes: 8 << 20, MaxDepth: 64, MaxItems: 1 << 20}

// ResponseLimits are what a Client accepts in an answer: generous, since
// a server's answers are as large as its process table and its logs (a
// tail of 32 MiB of log text can take five times that once escaped), but
// bounded, so that a hostile server cannot make a client use any amount
// of memory.
var ResponseLimits = Limits{MaxBytes: 256 << 20, MaxDepth: 64, MaxItems: 16 << 20}

func (l Limits) norm() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxItems <= 0 {
		l.MaxItems = DefaultLimits.MaxItems
	}
	return l
}

// DecodeError reports a malformed XML or XML-RPC document. Msg says what
// was wrong and where ("line L, column C: ...").
type DecodeError struct{ Msg string }

func (e *DecodeError) Error() string { return "xmlrpc: " + e.Msg }

// ErrTooLarge is returned when a document exceeds Limits.MaxBytes.
var ErrTooLarge = errors.New("xmlrpc: document too large")
