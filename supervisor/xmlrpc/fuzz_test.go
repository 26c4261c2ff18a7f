package xmlrpc

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// fuzzLimits are small so that the fuzzer reaches them.
var fuzzLimits = Limits{MaxBytes: 16 << 10, MaxDepth: 8, MaxItems: 200}

func fuzzSeeds(f *testing.F, call bool) {
	for _, c := range decodeCases {
		if call {
			f.Add([]byte("<methodCall><methodName>m</methodName><params><param>" + c.frag + "</param></params></methodCall>"))
		} else {
			f.Add([]byte(wrapResponse(c.frag)))
		}
	}
	for _, c := range encodeCases {
		var b bytes.Buffer
		if call {
			EncodeCall(&b, "a.b", c.in)
		} else {
			EncodeResponse(&b, c.in)
		}
		f.Add(b.Bytes())
	}
	for _, c := range malformedCases {
		f.Add([]byte(c.doc))
	}
	var b bytes.Buffer
	EncodeFault(&b, &Fault{10, "BAD_NAME: foo"})
	f.Add(b.Bytes())
	f.Add([]byte(nest(9, "array")))
	f.Add([]byte(nest(9, "struct")))
}

// measure returns the number of values in v and its container depth.
func measure(v any) (items, depth int) {
	switch v := v.(type) {
	case []any:
		items = 1
		for _, x := range v {
			n, d := measure(x)
			items += n
			depth = max(depth, d)
		}
		return items, depth + 1
	case map[string]any:
		items = 1
		for _, x := range v {
			n, d := measure(x)
			items += n
			depth = max(depth, d)
		}
		return items, depth + 1
	}
	return 1, 0
}

// checkDecoded checks the limits on a decoded value and that encoding it
// (when it can be) decodes back to the same value.
func checkDecoded(t *testing.T, values []any, read int64) {
	if read > fuzzLimits.MaxBytes+1 {
		t.Fatalf("read %d bytes", read)
	}
	items := 0
	for _, v := range values {
		n, d := measure(v)
		items += n
		if d > fuzzLimits.MaxDepth {
			t.Fatalf("depth %d", d)
		}
	}
	if items > fuzzLimits.MaxItems {
		t.Fatalf("%d items", items)
	}
	var b bytes.Buffer
	if err := EncodeCall(&b, "m", values...); err != nil {
		if !strings.Contains(err.Error(), "exceeds XML-RPC limits") && !strings.Contains(err.Error(), "cannot be encoded") {
			t.Fatalf("re-encoding: %v", err)
		}
		return
	}
	_, back, err := DecodeCall(&b, Limits{MaxBytes: 1 << 30})
	if err != nil {
		t.Fatalf("decoding our own encoding: %v\n%s", err, b.String())
	}
	if !equal(any(back), any(values)) && !(len(back) == 0 && len(values) == 0) {
		t.Fatalf("round trip:\n%#v\n%#v", values, back)
	}
}

func checkErr(t *testing.T, err error) {
	var de *DecodeError
	var f *Fault
	if err == ErrTooLarge || errors.As(err, &de) || errors.As(err, &f) {
		return
	}
	t.Fatalf("unexpected error %T: %v", err, err)
}

func FuzzDecodeCall(f *testing.F) {
	fuzzSeeds(f, true)
	f.Fuzz(func(t *testing.T, doc []byte) {
		cr := &countingReader{r: bytes.NewReader(doc)}
		start := time.Now()
		method, params, err := DecodeCall(cr, fuzzLimits)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v", d)
		}
		if err != nil {
			checkErr(t, err)
			if cr.n > fuzzLimits.MaxBytes+1 {
				t.Fatalf("read %d bytes", cr.n)
			}
			return
		}
		if method == "" {
			t.Fatal("empty method name accepted")
		}
		checkDecoded(t, params, cr.n)
	})
}

func FuzzDecodeResponse(f *testing.F) {
	fuzzSeeds(f, false)
	f.Fuzz(func(t *testing.T, doc []byte) {
		cr := &countingReader{r: bytes.NewReader(doc)}
		start := time.Now()
		v, err := DecodeResponse(cr, fuzzLimits)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v", d)
		}
		if err != nil {
			checkErr(t, err)
			if cr.n > fuzzLimits.MaxBytes+1 {
				t.Fatalf("read %d bytes", cr.n)
			}
			var fault *Fault
			if errors.As(err, &fault) {
				var b bytes.Buffer
				if err := EncodeFault(&b, fault); err != nil {
					if fault.Code >= math.MinInt32 && fault.Code <= math.MaxInt32 {
						t.Fatal(err)
					}
					return
				}
				_, err := DecodeResponse(&b, Limits{})
				var back *Fault
				if !errors.As(err, &back) || *back != *fault {
					t.Fatalf("fault round trip: %v, %v", fault, err)
				}
			}
			return
		}
		checkDecoded(t, []any{v}, cr.n)
	})
}
