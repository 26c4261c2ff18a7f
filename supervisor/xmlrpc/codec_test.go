package xmlrpc

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// equal compares decoded values: NaN equals NaN, times by instant and zone
// offset, nil and empty slices/maps of the same kind are different.
func equal(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case float64:
		bf, ok := b.(float64)
		if !ok {
			return false
		}
		if math.IsNaN(a) || math.IsNaN(bf) {
			return math.IsNaN(a) && math.IsNaN(bf)
		}
		return a == bf && math.Signbit(a) == math.Signbit(bf)
	case time.Time:
		bt, ok := b.(time.Time)
		return ok && a.Equal(bt) && a.Location().String() == bt.Location().String()
	case []byte:
		bb, ok := b.([]byte)
		return ok && bytes.Equal(a, bb) && (a == nil) == (bb == nil)
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !equal(a[i], bs[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

func wrapResponse(frag string) string {
	return "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n" + frag + "</param>\n</params>\n</methodResponse>\n"
}

func utc(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

// encodeCases: a Go value and the exact <value> Python's dumps writes for
// the equivalent Python value.
var encodeCases = []struct {
	name string
	in   any
	want string
	back any // decoded again; nil means in itself
}{
	{"nil", nil, "<value><nil/></value>", nil},
	{"true", true, "<value><boolean>1</boolean></value>\n", nil},
	{"false", false, "<value><boolean>0</boolean></value>\n", nil},
	{"string", "hello", "<value><string>hello</string></value>\n", nil},
	{"empty string", "", "<value><string></string></value>\n", nil},
	{"escapes", `a&b<c>d"e'f`, "<value><string>a&amp;b&lt;c&gt;d\"e'f</string></value>\n", nil},
	{"unicode", "héllo ✓ 😀", "<value><string>héllo ✓ 😀</string></value>\n", nil},
	{"tab newline", "a\tb\nc", "<value><string>a\tb\nc</string></value>\n", nil},
	{"carriage return", "a\r\nb\rc", "<value><string>a&#13;\nb&#13;c</string></value>\n", nil},
	{"control chars", "a\x00b\x1bc\x7fd", "<value><string>a\uFFFDb\uFFFDc\x7fd</string></value>\n", "a\uFFFDb\uFFFDc\x7fd"},
	{"invalid utf8", "a\xffb", "<value><string>a\uFFFDb</string></value>\n", "a\uFFFDb"},
	{"nonchar", "a\uFFFEb", "<value><string>a\uFFFDb</string></value>\n", "a\uFFFDb"},
	{"int", 42, "<value><int>42</int></value>\n", int64(42)},
	{"int64 max32", int64(math.MaxInt32), "<value><int>2147483647</int></value>\n", nil},
	{"int64 min32", int64(math.MinInt32), "<value><int>-2147483648</int></value>\n", nil},
	{"int32", int32(-7), "<value><int>-7</int></value>\n", int64(-7)},
	{"uint8", uint8(255), "<value><int>255</int></value>\n", int64(255)},
	{"uint32", uint32(math.MaxInt32), "<value><int>2147483647</int></value>\n", int64(math.MaxInt32)},
	{"float", 1.5, "<value><double>1.5</double></value>\n", nil},
	{"float integral", 3.0, "<value><double>3.0</double></value>\n", nil},
	{"float tenth", 0.1, "<value><double>0.1</double></value>\n", nil},
	{"float 1e16", 1e16, "<value><double>1e+16</double></value>\n", nil},
	{"float 1e15", 1e15, "<value><double>1000000000000000.0</double></value>\n", nil},
	{"float 1e-4", 1e-4, "<value><double>0.0001</double></value>\n", nil},
	{"float 1e-5", 1e-5, "<value><double>1e-05</double></value>\n", nil},
	{"float big", 1.2345678901234568e+17, "<value><double>1.2345678901234568e+17</double></value>\n", nil},
	{"float neg zero", math.Copysign(0, -1), "<value><double>-0.0</double></value>\n", nil},
	{"float max", math.MaxFloat64, "<value><double>1.7976931348623157e+308</double></value>\n", nil},
	{"float inf", math.Inf(1), "<value><double>inf</double></value>\n", nil},
	{"float nan", math.NaN(), "<value><double>nan</double></value>\n", nil},
	{"float32", float32(0.1), "<value><double>0.1</double></value>\n", 0.1},
	{"time", utc(2024, 1, 2, 3, 4, 5), "<value><dateTime.iso8601>20240102T03:04:05</dateTime.iso8601></value>\n", nil},
	{"time zone kept", time.Date(2024, 1, 2, 3, 4, 5, 999, time.FixedZone("X", 3600)), "<value><dateTime.iso8601>20240102T03:04:05</dateTime.iso8601></value>\n", utc(2024, 1, 2, 3, 4, 5)},
	{"time year 1", time.Time{}, "<value><dateTime.iso8601>00010101T00:00:00</dateTime.iso8601></value>\n", nil},
	{"bytes", []byte{0, 1, 0xff}, "<value><base64>\nAAH/\n</base64></value>\n", nil},
	{"bytes empty", []byte{}, "<value><base64>\n</base64></value>\n", nil},
	{"bytes long", bytes.Repeat([]byte("x"), 60), "<value><base64>\n" + strings.Repeat("eHh4", 19) + "\neHh4\n</base64></value>\n", nil},
	{"array", []any{int64(1), "a"}, "<value><array><data>\n<value><int>1</int></value>\n<value><string>a</string></value>\n</data></array></value>\n", nil},
	{"array empty", []any{}, "<value><array><data>\n</data></array></value>\n", nil},
	{"array nil", []any(nil), "<value><array><data>\n</data></array></value>\n", []any{}},
	{"strings", []string{"a", "b"}, "<value><array><data>\n<value><string>a</string></value>\n<value><string>b</string></value>\n</data></array></value>\n", []any{"a", "b"}},
	{"ints", []int{1}, "<value><array><data>\n<value><int>1</int></value>\n</data></array></value>\n", []any{int64(1)}},
	{"structs", []map[string]any{{"a": nil}}, "<value><array><data>\n<value><struct>\n<member>\n<name>a</name>\n<value><nil/></value></member>\n</struct></value>\n</data></array></value>\n", []any{map[string]any{"a": nil}}},
	{"struct sorted", map[string]any{"b": 1, "a": true, "a&<>": ""}, "<value><struct>\n<member>\n<name>a</name>\n<value><boolean>1</boolean></value>\n</member>\n<member>\n<name>a&amp;&lt;&gt;</name>\n<value><string></string></value>\n</member>\n<member>\n<name>b</name>\n<value><int>1</int></value>\n</member>\n</struct></value>\n", map[string]any{"a": true, "a&<>": "", "b": int64(1)}},
	{"struct empty", map[string]any{}, "<value><struct>\n</struct></value>\n", nil},
	{"struct nil", map[string]any(nil), "<value><struct>\n</struct></value>\n", map[string]any{}},
	{"map string", map[string]string{"k": "v"}, "<value><struct>\n<member>\n<name>k</name>\n<value><string>v</string></value>\n</member>\n</struct></value>\n", map[string]any{"k": "v"}},
	{"map int", map[string]int{"k": 1}, "<value><struct>\n<member>\n<name>k</name>\n<value><int>1</int></value>\n</member>\n</struct></value>\n", map[string]any{"k": int64(1)}},
	{"nested", map[string]any{"l": []any{map[string]any{"x": []any{}}}}, "<value><struct>\n<member>\n<name>l</name>\n<value><array><data>\n<value><struct>\n<member>\n<name>x</name>\n<value><array><data>\n</data></array></value>\n</member>\n</struct></value>\n</data></array></value>\n</member>\n</struct></value>\n", nil},
}

func TestEncodeResponse_valuesAsPythonWritesThemAndBack(t *testing.T) {
	for _, c := range encodeCases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := EncodeResponse(&b, c.in); err != nil {
				t.Fatal(err)
			}
			if want := wrapResponse(c.want); b.String() != want {
				t.Fatalf("encoded\n%q\nwant\n%q", b.String(), want)
			}
			got, err := DecodeResponse(&b, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			want := c.back
			if want == nil {
				want = c.in
			}
			if !equal(got, want) {
				t.Fatalf("decoded %#v, want %#v", got, want)
			}
		})
	}
}

func TestEncode_errors(t *testing.T) {
	cyclic := []any{nil}
	cyclic[0] = cyclic
	type point struct{ X int }
	for _, c := range []struct {
		name string
		in   any
		want string
	}{
		{"int over", int64(math.MaxInt32) + 1, "exceeds XML-RPC limits"},
		{"int under", int64(math.MinInt32) - 1, "exceeds XML-RPC limits"},
		{"int big", math.MaxInt64, "exceeds XML-RPC limits"},
		{"uint32 over", uint32(math.MaxUint32), "exceeds XML-RPC limits"},
		{"uint64 over", uint64(math.MaxUint64), "exceeds XML-RPC limits"},
		{"nested over", map[string]any{"a": []int{1 << 40}}, "exceeds XML-RPC limits"},
		{"struct", point{1}, "cannot encode a value of type xmlrpc.point"},
		{"pointer", new(int), "cannot encode a value of type *int"},
		{"int map key", map[int]any{1: 1}, "cannot encode"},
		{"fault", &Fault{1, "x"}, "cannot encode"},
		{"year", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "year 10000"},
		{"cycle", cyclic, "nested deeper than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			err := EncodeResponse(&b, c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one containing %q", err, c.want)
			}
			if b.Len() != 0 {
				t.Fatalf("wrote %q on error", b.String())
			}
			if err := EncodeCall(&b, "m", 1, c.in); err == nil || b.Len() != 0 {
				t.Fatalf("EncodeCall: err %v, wrote %q", err, b.String())
			}
		})
	}
	if err := EncodeCall(new(bytes.Buffer), ""); err == nil {
		t.Fatal("EncodeCall with an empty method name succeeded")
	}
	if err := EncodeFault(new(bytes.Buffer), nil); err == nil {
		t.Fatal("EncodeFault(nil) succeeded")
	}
}

func TestEncodeCallAndFault_layout(t *testing.T) {
	var b bytes.Buffer
	if err := EncodeCall(&b, "supervisor.getProcessInfo", "web", 1); err != nil {
		t.Fatal(err)
	}
	want := "<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.getProcessInfo</methodName>\n<params>\n" +
		"<param>\n<value><string>web</string></value>\n</param>\n<param>\n<value><int>1</int></value>\n</param>\n" +
		"</params>\n</methodCall>\n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
	m, params, err := DecodeCall(&b, Limits{})
	if err != nil || m != "supervisor.getProcessInfo" || !equal(params, []any{"web", int64(1)}) {
		t.Fatalf("decoded %q %#v %v", m, params, err)
	}

	b.Reset()
	EncodeCall(&b, "system.listMethods")
	if want := "<?xml version='1.0'?>\n<methodCall>\n<methodName>system.listMethods</methodName>\n<params>\n</params>\n</methodCall>\n"; b.String() != want {
		t.Fatalf("got %q", b.String())
	}

	b.Reset()
	if err := EncodeFault(&b, &Fault{10, "BAD_NAME: foo"}); err != nil {
		t.Fatal(err)
	}
	want = "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n" +
		"<value><int>10</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>BAD_NAME: foo</string></value>\n" +
		"</member>\n</struct></value>\n</fault>\n</methodResponse>\n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
	v, err := DecodeResponse(&b, Limits{})
	var f *Fault
	if v != nil || !errors.As(err, &f) || *f != (Fault{10, "BAD_NAME: foo"}) {
		t.Fatalf("decoded %v, %v", v, err)
	}
	if f.Error() != "fault 10: BAD_NAME: foo" {
		t.Fatalf("Error() = %q", f.Error())
	}
}

// decodeCases: <value> contents as peers send them, and what they mean.
var decodeCases = []struct {
	name string
	frag string
	want any
}{
	{"untyped", "<value>abc</value>", "abc"},
	{"untyped spaces kept", "<value>  a b \n</value>", "  a b \n"},
	{"untyped empty", "<value></value>", ""},
	{"untyped self-closing", "<value/>", ""},
	{"string empty", "<value><string/></value>", ""},
	{"string spaces kept", "<value><string> x </string></value>", " x "},
	{"string entities", "<value><string>&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#13;</string></value>", "&<>\"'AB\r"},
	{"string cdata", "<value><string><![CDATA[<a&b>]]></string></value>", "<a&b>"},
	{"string crlf normalised", "<value><string>a\r\nb\rc</string></value>", "a\nb\nc"},
	{"string comment", "<value><string>a<!-- x -->b</string></value>", "ab"},
	{"space around type", "<value>\n  <int>1</int>\n</value>", int64(1)},
	{"int", "<value><int>-12</int></value>", int64(-12)},
	{"int plus and spaces", "<value><int> +12 </int></value>", int64(12)},
	{"int leading zeros", "<value><int>007</int></value>", int64(7)},
	{"i4", "<value><i4>2147483647</i4></value>", int64(math.MaxInt32)},
	{"i8", "<value><i8>9223372036854775807</i8></value>", int64(math.MaxInt64)},
	{"i8 min", "<value><i8>-9223372036854775808</i8></value>", int64(math.MinInt64)},
	{"ex:i8", "<value><ex:i8 xmlns:ex='http://ws.apache.org/xmlrpc/namespaces/extensions'>5</ex:i8></value>", int64(5)},
	{"ex:i8 undeclared", "<value><ex:i8>5</ex:i8></value>", int64(5)},
	{"i1 i2 biginteger", "<value><array><data><value><i1>1</i1></value><value><i2>2</i2></value><value><biginteger>3</biginteger></value></data></array></value>", []any{int64(1), int64(2), int64(3)}},
	{"boolean 1", "<value><boolean>1</boolean></value>", true},
	{"boolean 0", "<value><boolean>0</boolean></value>", false},
	{"double", "<value><double>-1.5e3</double></value>", -1500.0},
	{"double int form", "<value><double>2</double></value>", 2.0},
	{"double inf", "<value><double>-inf</double></value>", math.Inf(-1)},
	{"double nan", "<value><double>nan</double></value>", math.NaN()},
	{"double overflow is inf", "<value><double>1e400</double></value>", math.Inf(1)},
	{"float", "<value><float>0.25</float></value>", 0.25},
	{"datetime", "<value><dateTime.iso8601>20240102T03:04:05</dateTime.iso8601></value>", utc(2024, 1, 2, 3, 4, 5)},
	{"datetime dashed", "<value><dateTime.iso8601>2024-01-02T03:04:05</dateTime.iso8601></value>", utc(2024, 1, 2, 3, 4, 5)},
	{"datetime basic Z", "<value><dateTime.iso8601> 20240102T030405Z </dateTime.iso8601></value>", utc(2024, 1, 2, 3, 4, 5)},
	{"base64", "<value><base64>\nAAH/\n</base64></value>", []byte{0, 1, 0xff}},
	{"base64 unpadded", "<value><base64>YQ</base64></value>", []byte("a")},
	{"base64 empty", "<value><base64/></value>", []byte{}},
	{"nil", "<value><nil/></value>", nil},
	{"ex:nil", "<value><ex:nil xmlns:ex='http://ws.apache.org/xmlrpc/namespaces/extensions'/></value>", nil},
	{"array", "<value><array><data><value>a</value><value><int>1</int></value></data></array></value>", []any{"a", int64(1)}},
	{"array spaced", "<value>\n<array>\n<data>\n<value>a</value>\n</data>\n</array>\n</value>", []any{"a"}},
	{"array empty data", "<value><array><data/></array></value>", []any{}},
	{"array no data", "<value><array/></value>", []any{}},
	{"array values without data", "<value><array><value>x</value></array></value>", []any{"x"}},
	{"struct", "<value><struct><member><name>b</name><value>2</value></member><member><name>a</name><value><int>1</int></value></member></struct></value>", map[string]any{"a": int64(1), "b": "2"}},
	{"struct value before name", "<value><struct><member><value>v</value><name>k</name></member></struct></value>", map[string]any{"k": "v"}},
	{"struct empty name", "<value><struct><member><name/><value/></member></struct></value>", map[string]any{"": ""}},
	{"struct dup last wins", "<value><struct><member><name>k</name><value>1</value></member><member><name>k</name><value>2</value></member></struct></value>", map[string]any{"k": "2"}},
	{"struct empty", "<value><struct/></value>", map[string]any{}},
	{"attributes ignored", "<value a='1'><string b='2'>x</string></value>", "x"},
}

func TestDecodeResponse_values(t *testing.T) {
	for _, c := range decodeCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeResponse(strings.NewReader(wrapResponse(c.frag)), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, c.want) {
				t.Fatalf("got %#v, want %#v", got, c.want)
			}
			call := "<methodCall><methodName>m</methodName><params><param>" + c.frag + "</param><param><value>x</value></param></params></methodCall>"
			m, params, err := DecodeCall(strings.NewReader(call), Limits{})
			if err != nil || m != "m" || !equal(params, []any{c.want, "x"}) {
				t.Fatalf("DecodeCall: %q %#v %v", m, params, err)
			}
		})
	}
}

func TestDecode_documentForms(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		method    string
		params    []any
	}{
		{"no params", "<methodCall><methodName>a.b</methodName></methodCall>", "a.b", nil},
		{"empty params", "<methodCall><methodName>a.b</methodName><params/></methodCall>", "a.b", nil},
		{"params first", "<methodCall><params><param><value>1</value></param></params><methodName>a.b</methodName></methodCall>", "a.b", []any{"1"}},
		{"name trimmed", "<methodCall><methodName>\n  a.b\n</methodName></methodCall>", "a.b", nil},
		{"declaration bom comments", "\uFEFF<?xml version='1.0' encoding='UTF-8'?>\n<!-- hi --><methodCall><?pi x?><methodName>a</methodName></methodCall>\n<!-- bye -->\n", "a", nil},
		{"latin-1", "<?xml version='1.0' encoding='iso-8859-1'?><methodCall><methodName>a</methodName><params><param><value>caf\xe9</value></param></params></methodCall>", "a", []any{"café"}},
		{"namespaced", "<x:methodCall xmlns:x='u'><x:methodName>a</x:methodName></x:methodCall>", "a", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, params, err := DecodeCall(strings.NewReader(c.doc), Limits{})
			if err != nil || m != c.method || !equal(params, c.params) && !(len(params) == 0 && len(c.params) == 0) {
				t.Fatalf("got %q %#v %v", m, params, err)
			}
		})
	}
}

// malformed documents and the DecodeError each must give.
var malformedCases = []struct {
	name, doc string
	call      bool // for DecodeCall; else DecodeResponse
	want      string
}{
	{"empty", "", true, "line 1, column 1: no document element"},
	{"spaces only", "  \n ", true, "no document element"},
	{"text", "hello", true, "text before the document element"},
	{"not xml", "<methodCall><methodName>x</methodName>", true, "line 1: unexpected EOF"},
	{"mismatched tags", "<methodCall><methodName>x</methodCall>", true, "line 1: element <methodName> closed by </methodCall>"},
	{"wrong root call", "<methodResponse/>", true, "expected <methodCall>, found <methodResponse>"},
	{"wrong root response", "<methodCall/>", false, "expected <methodResponse>, found <methodCall>"},
	{"no method name", "<methodCall><params/></methodCall>", true, "no method name"},
	{"empty method name", "<methodCall><methodName> </methodName></methodCall>", true, "no method name"},
	{"two method names", "<methodCall><methodName>a</methodName><methodName>b</methodName></methodCall>", true, "more than one <methodName>"},
	{"element in method name", "<methodCall><methodName>a<b/></methodName></methodCall>", true, "unexpected element <b> in <methodName>"},
	{"unknown in call", "<methodCall><methodName>a</methodName><foo/></methodCall>", true, "unexpected element <foo> in <methodCall>"},
	{"text in params", "<methodCall><methodName>a</methodName><params>x</params></methodCall>", true, `unexpected text "x" in <params>`},
	{"empty param", "<methodCall><methodName>a</methodName><params><param/></params></methodCall>", true, "<param> without a <value>"},
	{"two values in param", "<methodCall><methodName>a</methodName><params><param><value/><value/></param></params></methodCall>", true, "<param> holds more than one value"},
	{"unknown type", "<methodCall><methodName>a</methodName><params><param><value><long>1</long></value></param></params></methodCall>", true, "line 1, column 67: unknown type <long>"},
	{"line numbers", "<methodCall>\n<methodName>a</methodName>\n<params>\n<param>\n<value><int>x</int></value>\n</param></params></methodCall>", true, "line 5, column 20: bad <int> \"x\""},
	{"two types", "<methodResponse><params><param><value><int>1</int><int>2</int></value></param></params></methodResponse>", false, "<value> holds more than one type (<int> after <int>)"},
	{"mixed text", "<methodResponse><params><param><value>a<int>1</int></value></param></params></methodResponse>", false, "text and <int> mixed in <value>"},
	{"text after type", "<methodResponse><params><param><value><int>1</int>a</value></param></params></methodResponse>", false, `unexpected text "a" in <value>`},
	{"huge int", "<methodResponse><params><param><value><int>99999999999999999999999</int></value></param></params></methodResponse>", false, `<int> "99999999999999999999999" out of range`},
	{"huge negative i8", "<methodResponse><params><param><value><i8>-9223372036854775809</i8></value></param></params></methodResponse>", false, "out of range"},
	{"empty int", "<methodResponse><params><param><value><int/></value></param></params></methodResponse>", false, `bad <int> ""`},
	{"float int", "<methodResponse><params><param><value><int>1.0</int></value></param></params></methodResponse>", false, `bad <int> "1.0"`},
	{"long bad int clipped", "<methodResponse><params><param><value><int>" + strings.Repeat("x", 1000) + "</int></value></param></params></methodResponse>", false, `bad <int> "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"...`},
	{"bad boolean", "<methodResponse><params><param><value><boolean>true</boolean></value></param></params></methodResponse>", false, `bad <boolean> "true"`},
	{"bad double", "<methodResponse><params><param><value><double>1,5</double></value></param></params></methodResponse>", false, `bad <double> "1,5"`},
	{"hex double", "<methodResponse><params><param><value><double>0x1p3</double></value></param></params></methodResponse>", false, `bad <double> "0x1p3"`},
	{"bad datetime", "<methodResponse><params><param><value><dateTime.iso8601>2024-13-01T00:00:00</dateTime.iso8601></value></param></params></methodResponse>", false, "bad <dateTime.iso8601>"},
	{"datetime with offset", "<methodResponse><params><param><value><dateTime.iso8601>20240102T03:04:05+01:00</dateTime.iso8601></value></param></params></methodResponse>", false, "bad <dateTime.iso8601>"},
	{"bad base64", "<methodResponse><params><param><value><base64>!!!!</base64></value></param></params></methodResponse>", false, "bad <base64> data"},
	{"text in nil", "<methodResponse><params><param><value><nil>x</nil></value></param></params></methodResponse>", false, "text in <nil>"},
	{"element in string", "<methodResponse><params><param><value><string>a<b/></string></value></param></params></methodResponse>", false, "unexpected element <b> in <string>"},
	{"value in struct", "<methodResponse><params><param><value><struct><value/></struct></value></param></params></methodResponse>", false, "unexpected element <value> in <struct>"},
	{"member without name", "<methodResponse><params><param><value><struct><member><value/></member></struct></value></param></params></methodResponse>", false, "<member> without <name>"},
	{"member without value", "<methodResponse><params><param><value><struct><member><name>a</name></member></struct></value></param></params></methodResponse>", false, "<member> without <value>"},
	{"member two names", "<methodResponse><params><param><value><struct><member><name>a</name><name>b</name><value/></member></struct></value></param></params></methodResponse>", false, "<member> with two <name>s"},
	{"member two values", "<methodResponse><params><param><value><struct><member><name>a</name><value/><value/></member></struct></value></param></params></methodResponse>", false, "<member> with two <value>s"},
	{"struct in name", "<methodResponse><params><param><value><struct><member><name><struct/></name><value/></member></struct></value></param></params></methodResponse>", false, "unexpected element <struct> in <name>"},
	{"array junk", "<methodResponse><params><param><value><array><data><int>1</int></data></array></value></param></params></methodResponse>", false, "unexpected element <int> in <data>"},
	{"array member", "<methodResponse><params><param><value><array><member/></array></value></param></params></methodResponse>", false, "unexpected element <member> in <array>"},
	{"empty response", "<methodResponse></methodResponse>", false, "empty <methodResponse>"},
	{"no param", "<methodResponse><params/></methodResponse>", false, "a response needs exactly one <param>, found 0"},
	{"two params", "<methodResponse><params><param><value/></param><param><value/></param></params></methodResponse>", false, "found 2"},
	{"params and fault", "<methodResponse><params><param><value/></param></params><fault><value><struct/></value></fault></methodResponse>", false, "unexpected element <fault> in <methodResponse>"},
	{"fault not struct", "<methodResponse><fault><value>x</value></fault></methodResponse>", false, "<fault> value is not a struct"},
	{"fault string code", "<methodResponse><fault><value><struct><member><name>faultCode</name><value>1</value></member><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>", false, "<fault> without an int faultCode"},
	{"fault no string", "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member></struct></value></fault></methodResponse>", false, "<fault> without a string faultString"},
	{"junk after", "<methodResponse><params><param><value/></param></params></methodResponse><x/>", false, "junk after the document element"},
	{"text after", "<methodCall><methodName>a</methodName></methodCall>x", true, "text after the document element"},
	{"doctype", "<!DOCTYPE methodCall><methodCall><methodName>a</methodName></methodCall>", true, "<!DOCTYPE> is not allowed"},
	{"entity bomb", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><methodCall><methodName>&lol3;</methodName></methodCall>`, true, "<!DOCTYPE> is not allowed"},
	{"external entity", `<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><methodCall><methodName>&x;</methodName></methodCall>`, true, "is not allowed"},
	{"doctype inside", "<methodCall><!DOCTYPE x><methodName>a</methodName></methodCall>", true, "is not allowed"},
	{"undefined entity", "<methodCall><methodName>&nbsp;</methodName></methodCall>", true, "invalid character entity &nbsp;"},
	{"control char", "<methodCall><methodName>a\x01</methodName></methodCall>", true, "illegal character code U+0001"},
	{"control char ref", "<methodCall><methodName>a&#1;</methodName></methodCall>", true, "illegal character code U+0001"},
	{"invalid utf8", "<methodCall><methodName>a\xff</methodName></methodCall>", true, "invalid UTF-8"},
	{"unknown charset", "<?xml version='1.0' encoding='shift_jis'?><methodCall/>", true, `unsupported encoding "shift_jis"`},
}

func TestDecode_malformed(t *testing.T) {
	for _, c := range malformedCases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.call {
				_, _, err = DecodeCall(strings.NewReader(c.doc), Limits{})
			} else {
				_, err = DecodeResponse(strings.NewReader(c.doc), Limits{})
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err %v (%T), want a *DecodeError", err, err)
			}
			if !strings.Contains(de.Msg, c.want) {
				t.Fatalf("Msg %q, want it to contain %q", de.Msg, c.want)
			}
			if !strings.HasPrefix(de.Msg, "line ") || !strings.HasPrefix(de.Error(), "xmlrpc: line ") {
				t.Fatalf("Error() %q does not say where", de.Error())
			}
		})
	}
}

// nest returns a response whose value is n arrays (or structs) deep.
func nest(n int, kind string) string {
	var b strings.Builder
	b.WriteString("<methodResponse><params><param>")
	for range n {
		if kind == "array" {
			b.WriteString("<value><array><data>")
		} else {
			b.WriteString("<value><struct><member><name>k</name>")
		}
	}
	b.WriteString("<value>x</value>")
	for range n {
		if kind == "array" {
			b.WriteString("</data></array></value>")
		} else {
			b.WriteString("</member></struct></value>")
		}
	}
	b.WriteString("</param></params></methodResponse>")
	return b.String()
}

func TestLimits_depth(t *testing.T) {
	for _, kind := range []string{"array", "struct"} {
		if _, err := DecodeResponse(strings.NewReader(nest(64, kind)), Limits{}); err != nil {
			t.Fatalf("%s depth 64: %v", kind, err)
		}
		_, err := DecodeResponse(strings.NewReader(nest(65, kind)), Limits{})
		var de *DecodeError
		if !errors.As(err, &de) || !strings.Contains(de.Msg, "nested deeper than 64") {
			t.Fatalf("%s depth 65: %v", kind, err)
		}
		if _, err := DecodeResponse(strings.NewReader(nest(3, kind)), Limits{MaxDepth: 3}); err != nil {
			t.Fatalf("%s depth 3 of 3: %v", kind, err)
		}
		if _, err := DecodeResponse(strings.NewReader(nest(4, kind)), Limits{MaxDepth: 3}); !errors.As(err, &de) {
			t.Fatalf("%s depth 4 of 3: %v", kind, err)
		}
	}
	// A million nested arrays must fail early, not recurse a million times.
	deep := strings.Repeat("<value><array><data>", 1_000_000)
	_, _, err := DecodeCall(strings.NewReader("<methodCall><methodName>a</methodName><params><param>"+deep), Limits{MaxBytes: 64 << 20})
	var de *DecodeError
	if !errors.As(err, &de) || !strings.Contains(de.Msg, "nested deeper than 64") {
		t.Fatalf("deep: %v", err)
	}
}

func TestLimits_items(t *testing.T) {
	doc := func(n int) string {
		return "<methodResponse><params><param><value><array><data>" + strings.Repeat("<value/>", n) + "</data></array></value></param></params></methodResponse>"
	}
	// The array itself is one value.
	v, err := DecodeResponse(strings.NewReader(doc(9)), Limits{MaxItems: 10})
	if err != nil || len(v.([]any)) != 9 {
		t.Fatalf("9+1 of 10: %v %v", v, err)
	}
	_, err = DecodeResponse(strings.NewReader(doc(10)), Limits{MaxItems: 10})
	var de *DecodeError
	if !errors.As(err, &de) || !strings.Contains(de.Msg, "more than 10 values") {
		t.Fatalf("10+1 of 10: %v", err)
	}
	// Struct members count too, duplicates included.
	s := "<methodResponse><params><param><value><struct>" + strings.Repeat("<member><name>a</name><value/></member>", 10) + "</struct></value></param></params></methodResponse>"
	if _, err := DecodeResponse(strings.NewReader(s), Limits{MaxItems: 10}); !errors.As(err, &de) {
		t.Fatalf("struct: %v", err)
	}
	// The default: 1<<20.
	big := doc(1 << 20)
	if _, err := DecodeResponse(strings.NewReader(big), Limits{MaxBytes: 64 << 20}); !errors.As(err, &de) {
		t.Fatalf("default items: %v", err)
	}
}

// countingReader counts what is read from it.
type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestLimits_bytes(t *testing.T) {
	doc := wrapResponse("<value><string>" + strings.Repeat("x", 1000) + "</string></value>\n")
	n := int64(len(doc))
	if _, err := DecodeResponse(strings.NewReader(doc), Limits{MaxBytes: n}); err != nil {
		t.Fatalf("exactly MaxBytes: %v", err)
	}
	for _, max := range []int64{n - 1, 100, 1} {
		cr := &countingReader{r: strings.NewReader(doc)}
		_, err := DecodeResponse(cr, Limits{MaxBytes: max})
		if err != ErrTooLarge {
			t.Fatalf("MaxBytes %d: err %v, want ErrTooLarge", max, err)
		}
		if cr.n > max+1 {
			t.Fatalf("MaxBytes %d: read %d bytes", max, cr.n)
		}
	}
	// Trailing space counts too.
	if _, err := DecodeResponse(strings.NewReader(doc+"   "), Limits{MaxBytes: n + 2}); err != ErrTooLarge {
		t.Fatalf("trailing: %v", err)
	}
	// A DOCTYPE bigger than the limit is too large; under it, refused.
	bomb := "<!DOCTYPE x [" + strings.Repeat(`<!ENTITY a "aaaaaaaaaaaaaaaaaaaa">`, 10000) + "]><methodCall/>"
	if _, _, err := DecodeCall(strings.NewReader(bomb), Limits{MaxBytes: 1000}); err != ErrTooLarge {
		t.Fatalf("big doctype: %v", err)
	}
	var de *DecodeError
	if _, _, err := DecodeCall(strings.NewReader(bomb), Limits{}); !errors.As(err, &de) {
		t.Fatalf("doctype: %v", err)
	}
}

// errReader fails after its data.
type errReader struct {
	data string
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if e.data == "" {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestDecode_readerErrorWrapped(t *testing.T) {
	boom := errors.New("boom")
	_, _, err := DecodeCall(&errReader{"<methodCall><methodName>a", boom}, Limits{})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	var de *DecodeError
	if errors.As(err, &de) || err == ErrTooLarge {
		t.Fatalf("err %v is not just the reader's", err)
	}
}

func TestPyFloat(t *testing.T) {
	// Checked against Python 3.11 repr().
	for f, want := range map[float64]string{
		0: "0.0", 1: "1.0", -2.5: "-2.5", 100: "100.0", 123456789: "123456789.0",
		1e22: "1e+22", 1.5e-10: "1.5e-10", 0.001: "0.001", 2.5e-05: "2.5e-05",
		9007199254740993: "9007199254740992.0", 1e100: "1e+100", 5e-324: "5e-324",
		1.7976931348623157e308: "1.7976931348623157e+308", 123.456: "123.456",
	} {
		if got := pyFloat(f, 64); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", f, got, want)
		}
	}
	if got := pyFloat(float64(float32(1.1)), 32); got != "1.1" {
		t.Errorf("float32 1.1: %q", got)
	}
}
