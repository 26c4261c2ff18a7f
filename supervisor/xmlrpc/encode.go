package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const xmlHeader = "<?xml version='1.0'?>\n"

// maxEncodeDepth stops the encoder on self-referencing containers.
const maxEncodeDepth = 256

// EncodeResponse writes a <methodResponse> holding v, laid out as Python's
// xmlrpc.client.dumps((v,), methodresponse=True) does. Nothing is written
// when v cannot be encoded.
func EncodeResponse(w io.Writer, v any) error {
	var b bytes.Buffer
	b.WriteString(xmlHeader + "<methodResponse>\n<params>\n<param>\n")
	if err := encodeValue(&b, v, 0); err != nil {
		return err
	}
	b.WriteString("</param>\n</params>\n</methodResponse>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// EncodeFault writes a fault <methodResponse>, as Python's
// xmlrpc.client.dumps(Fault(...)) does.
func EncodeFault(w io.Writer, f *Fault) error {
	if f == nil {
		return errors.New("xmlrpc: nil fault")
	}
	var b bytes.Buffer
	b.WriteString(xmlHeader + "<methodResponse>\n<fault>\n")
	if err := encodeValue(&b, map[string]any{"faultCode": f.Code, "faultString": f.String}, 0); err != nil {
		return err
	}
	b.WriteString("</fault>\n</methodResponse>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// EncodeCall writes a <methodCall>, as Python's
// xmlrpc.client.dumps(params, methodname) does (always with a <params>
// element). Nothing is written when a parameter cannot be encoded.
func EncodeCall(w io.Writer, method string, params ...any) error {
	if method == "" {
		return errors.New("xmlrpc: empty method name")
	}
	var b bytes.Buffer
	b.WriteString(xmlHeader + "<methodCall>\n<methodName>")
	escape(&b, method)
	b.WriteString("</methodName>\n<params>\n")
	for _, v := range params {
		b.WriteString("<param>\n")
		if err := encodeValue(&b, v, 0); err != nil {
			return err
		}
		b.WriteString("</param>\n")
	}
	b.WriteString("</params>\n</methodCall>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func encodeInt(b *bytes.Buffer, n int64) error {
	if n < math.MinInt32 || n > math.MaxInt32 {
		return fmt.Errorf("xmlrpc: int %d exceeds XML-RPC limits", n)
	}
	b.WriteString("<value><int>")
	b.WriteString(strconv.FormatInt(n, 10))
	b.WriteString("</int></value>\n")
	return nil
}

func encodeUint(b *bytes.Buffer, n uint64) error {
	if n > math.MaxInt32 {
		return fmt.Errorf("xmlrpc: int %d exceeds XML-RPC limits", n)
	}
	return encodeInt(b, int64(n))
}

func encodeValue(b *bytes.Buffer, v any, depth int) error {
	if depth > maxEncodeDepth {
		return fmt.Errorf("xmlrpc: values nested deeper than %d (a cycle?)", maxEncodeDepth)
	}
	switch v := v.(type) {
	case nil:
		b.WriteString("<value><nil/></value>") // no newline, as Python
	case bool:
		if v {
			b.WriteString("<value><boolean>1</boolean></value>\n")
		} else {
			b.WriteString("<value><boolean>0</boolean></value>\n")
		}
	case string:
		b.WriteString("<value><string>")
		escape(b, v)
		b.WriteString("</string></value>\n")
	case int:
		return encodeInt(b, int64(v))
	case int8:
		return encodeInt(b, int64(v))
	case int16:
		return encodeInt(b, int64(v))
	case int32:
		return encodeInt(b, int64(v))
	case int64:
		return encodeInt(b, v)
	case uint:
		return encodeUint(b, uint64(v))
	case uint8:
		return encodeUint(b, uint64(v))
	case uint16:
		return encodeUint(b, uint64(v))
	case uint32:
		return encodeUint(b, uint64(v))
	case uint64:
		return encodeUint(b, v)
	case float64:
		b.WriteString("<value><double>")
		b.WriteString(pyFloat(v, 64))
		b.WriteString("</double></value>\n")
	case float32:
		b.WriteString("<value><double>")
		b.WriteString(pyFloat(float64(v), 32))
		b.WriteString("</double></value>\n")
	case time.Time:
		if y := v.Year(); y < 0 || y > 9999 {
			return fmt.Errorf("xmlrpc: year %d cannot be encoded", y)
		}
		b.WriteString("<value><dateTime.iso8601>")
		b.WriteString(v.Format("20060102T15:04:05"))
		b.WriteString("</dateTime.iso8601></value>\n")
	case []byte:
		// As base64.encodebytes: lines of 76 characters, each ending "\n".
		b.WriteString("<value><base64>\n")
		enc := base64.StdEncoding.EncodeToString(v)
		for len(enc) > 0 {
			n := min(76, len(enc))
			b.WriteString(enc[:n])
			b.WriteByte('\n')
			enc = enc[n:]
		}
		b.WriteString("</base64></value>\n")
	case []any:
		return encodeArray(b, v, depth)
	case []string:
		return encodeArray(b, v, depth)
	case []int:
		return encodeArray(b, v, depth)
	case []map[string]any:
		return encodeArray(b, v, depth)
	case map[string]any:
		return encodeStruct(b, v, depth)
	case map[string]string:
		return encodeStruct(b, v, depth)
	case map[string]int:
		return encodeStruct(b, v, depth)
	default:
		return fmt.Errorf("xmlrpc: cannot encode a value of type %T", v)
	}
	return nil
}

func encodeArray[T any](b *bytes.Buffer, s []T, depth int) error {
	b.WriteString("<value><array><data>\n")
	for _, v := range s {
		if err := encodeValue(b, v, depth+1); err != nil {
			return err
		}
	}
	b.WriteString("</data></array></value>\n")
	return nil
}

func encodeStruct[T any](b *bytes.Buffer, m map[string]T, depth int) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.WriteString("<value><struct>\n")
	for _, k := range keys {
		b.WriteString("<member>\n<name>")
		escape(b, k)
		b.WriteString("</name>\n")
		if err := encodeValue(b, m[k], depth+1); err != nil {
			return err
		}
		b.WriteString("</member>\n")
	}
	b.WriteString("</struct></value>\n")
	return nil
}

// escape writes s as XML character data: &, < and > escaped as Python
// does, a carriage return as a character reference (a raw one would reach
// the peer as a newline), and anything XML 1.0 cannot carry (C0 controls
// other than tab, newline and carriage return, U+FFFE, U+FFFF, invalid
// UTF-8) replaced by U+FFFD.
func escape(b *bytes.Buffer, s string) {
	if clean(s) {
		b.WriteString(s)
		return
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\r':
			b.WriteString("&#13;")
		case r == '\t' || r == '\n':
			b.WriteByte(byte(r))
		case r < 0x20 || r == 0xFFFE || r == 0xFFFF || r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
}

// clean reports whether s can be written as it is.
func clean(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80:
			ascii = false
		case c < 0x20 && c != '\t' && c != '\n', c == '&', c == '<', c == '>':
			return false
		}
	}
	return ascii || utf8.ValidString(s) && !strings.ContainsRune(s, 0xFFFE) && !strings.ContainsRune(s, 0xFFFF)
}

// pyFloat formats f as Python's repr(float) does: the shortest digits that
// read back to the same value, positional for exponents -4..15 (with ".0"
// when integral), scientific otherwise ("1e+16", "1e-05"); "inf", "-inf",
// "nan" for the non-finite values, which Python sends and reads back.
func pyFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(f, 'e', -1, bits) // -d.ddde±dd
	sign := ""
	if e[0] == '-' {
		sign, e = "-", e[1:]
	}
	mant, exp, _ := strings.Cut(e, "e")
	x, _ := strconv.Atoi(exp)
	digits := strings.Replace(mant, ".", "", 1)
	decpt := x + 1 // value is 0.DIGITS × 10^decpt
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			return sign + "0." + strings.Repeat("0", -decpt) + digits
		case decpt >= len(digits):
			return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
		default:
			return sign + digits[:decpt] + "." + digits[decpt:]
		}
	}
	m := digits[:1]
	if len(digits) > 1 {
		m += "." + digits[1:]
	}
	es := "+"
	if x < 0 {
		es, x = "-", -x
	}
	return fmt.Sprintf("%s%se%s%02d", sign, m, es, x)
}
