package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DecodeCall reads one <methodCall> document. A missing or empty <params>
// gives no params (nil). Malformed input gives a *DecodeError, a document
// over lim.MaxBytes gives ErrTooLarge; an error of r itself is returned
// wrapped. It never reads more than lim.MaxBytes+1 bytes from r.
func DecodeCall(r io.Reader, lim Limits) (method string, params []any, err error) {
	p := newParser(r, lim)
	root, err := p.root("methodCall")
	if err != nil {
		return "", nil, err
	}
	haveName, haveParams := false, false
	for {
		tok, err := p.skipSpace(root)
		if err != nil {
			return "", nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok { // </methodCall>
			break
		}
		switch se.Name.Local {
		case "methodName":
			if haveName {
				return "", nil, p.errorf("more than one <methodName>")
			}
			haveName = true
			s, err := p.text(se)
			if err != nil {
				return "", nil, err
			}
			method = strings.Trim(s, xmlSpace)
		case "params":
			if haveParams {
				return "", nil, p.errorf("more than one <params>")
			}
			haveParams = true
			if params, err = p.params(se); err != nil {
				return "", nil, err
			}
		default:
			return "", nil, p.unexpected(se, root)
		}
	}
	if method == "" {
		return "", nil, p.errorf("no method name")
	}
	if err := p.end(); err != nil {
		return "", nil, err
	}
	return method, params, nil
}

// DecodeResponse reads one <methodResponse> document and returns its single
// value, or a *Fault as the error for a fault response. Errors are as for
// DecodeCall.
func DecodeResponse(r io.Reader, lim Limits) (any, error) {
	p := newParser(r, lim)
	root, err := p.root("methodResponse")
	if err != nil {
		return nil, err
	}
	tok, err := p.skipSpace(root)
	if err != nil {
		return nil, err
	}
	se, ok := tok.(xml.StartElement)
	if !ok {
		return nil, p.errorf("empty <methodResponse>")
	}
	var (
		v     any
		fault *Fault
	)
	switch se.Name.Local {
	case "params":
		params, err := p.params(se)
		if err != nil {
			return nil, err
		}
		if len(params) != 1 {
			return nil, p.errorf("a response needs exactly one <param>, found %d", len(params))
		}
		v = params[0]
	case "fault":
		if fault, err = p.fault(se); err != nil {
			return nil, err
		}
	default:
		return nil, p.unexpected(se, root)
	}
	tok, err = p.skipSpace(root)
	if err != nil {
		return nil, err
	}
	if se, ok := tok.(xml.StartElement); ok {
		return nil, p.unexpected(se, root)
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	if fault != nil {
		return nil, fault
	}
	return v, nil
}

// xmlSpace is XML's white space.
const xmlSpace = " \t\r\n"

func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// limitReader passes through at most max+1 bytes of r; reading the byte
// past max makes it fail with ErrTooLarge from then on.
type limitReader struct {
	r        io.Reader
	left     int64 // bytes still allowed
	exceeded bool
	err      error // the last error of r other than io.EOF
}

func (l *limitReader) Read(b []byte) (int, error) {
	if l.exceeded {
		return 0, ErrTooLarge
	}
	if int64(len(b)) > l.left+1 {
		b = b[:l.left+1]
	}
	n, err := l.r.Read(b)
	if int64(n) > l.left {
		l.exceeded, l.left = true, 0
		return 0, ErrTooLarge
	}
	l.left -= int64(n)
	if err != nil && err != io.EOF {
		l.err = err
	}
	return n, err
}

type parser struct {
	d     *xml.Decoder
	lr    *limitReader
	lim   Limits
	items int
	inDoc bool // inside the document element
}

func newParser(r io.Reader, lim Limits) *parser {
	lim = lim.norm()
	lr := &limitReader{r: r, left: lim.MaxBytes}
	d := xml.NewDecoder(lr)
	d.Strict = true
	d.CharsetReader = charsetReader
	return &parser{d: d, lr: lr, lim: lim}
}

// charsetReader accepts the single-byte encodings a Python peer might
// declare besides UTF-8.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1":
		return &latin1Reader{r: in}, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", label)
}

type latin1Reader struct {
	r   io.Reader
	buf []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	if len(p) < 2 {
		return 0, io.ErrShortBuffer
	}
	if cap(l.buf) < len(p)/2 {
		l.buf = make([]byte, len(p)/2)
	}
	n, err := l.r.Read(l.buf[:len(p)/2])
	out := 0
	for _, c := range l.buf[:n] {
		out += utf8.EncodeRune(p[out:], rune(c))
	}
	return out, err
}

// errorf makes a *DecodeError at the decoder's current position.
func (p *parser) errorf(format string, args ...any) error {
	line, col := p.d.InputPos()
	return &DecodeError{Msg: fmt.Sprintf("line %d, column %d: %s", line, col, fmt.Sprintf(format, args...))}
}

func (p *parser) unexpected(se xml.StartElement, in xml.StartElement) error {
	return p.errorf("unexpected element <%s> in <%s>", se.Name.Local, in.Name.Local)
}

// wrap turns an error from the xml.Decoder into ours.
func (p *parser) wrap(err error) error {
	if p.lr.exceeded || errors.Is(err, ErrTooLarge) {
		return ErrTooLarge
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return &DecodeError{Msg: fmt.Sprintf("line %d: %s", se.Line, se.Msg)}
	}
	if err == io.EOF {
		if p.inDoc {
			return p.errorf("unexpected end of document")
		}
		return p.errorf("no document element")
	}
	if p.lr.err != nil && errors.Is(err, p.lr.err) {
		return fmt.Errorf("xmlrpc: reading: %w", err)
	}
	// Anything else comes from the decoder itself: an unsupported XML
	// version or encoding.
	return p.errorf("%s", strings.TrimPrefix(err.Error(), "xml: "))
}

// next returns the next token that matters: comments and processing
// instructions are skipped, directives (DOCTYPE, ENTITY) are refused.
// CharData is only valid until the following call.
func (p *parser) next() (xml.Token, error) {
	for {
		tok, err := p.d.Token()
		if err != nil {
			return nil, p.wrap(err)
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
			continue
		case xml.Directive:
			// The keyword: DOCTYPE, ENTITY, ELEMENT, ...
			word := t[:min(len(t), 20)]
			for i, c := range word {
				if c < 'A' || c > 'Z' && c < 'a' || c > 'z' {
					word = word[:i]
					break
				}
			}
			return nil, p.errorf("<!%s> is not allowed", word)
		}
		return tok, nil
	}
}

// root reads up to the document element, which must be named want.
func (p *parser) root(want string) (xml.StartElement, error) {
	first := true
	for {
		tok, err := p.next()
		if err != nil {
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if first {
				t = bytes.TrimPrefix(t, []byte("\uFEFF"))
			}
			if !isSpace(t) {
				return xml.StartElement{}, p.errorf("text before the document element")
			}
		case xml.StartElement:
			if t.Name.Local != want {
				return xml.StartElement{}, p.errorf("expected <%s>, found <%s>", want, t.Name.Local)
			}
			p.inDoc = true
			return t, nil
		default:
			return xml.StartElement{}, p.errorf("unexpected %T before the document element", tok)
		}
		first = false
	}
}

// end checks that only white space, comments and processing instructions
// follow the document element.
func (p *parser) end() error {
	p.inDoc = false
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			if p.lr.exceeded {
				return ErrTooLarge
			}
			return nil
		}
		if err != nil {
			return p.wrap(err)
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if !isSpace(t) {
				return p.errorf("text after the document element")
			}
		default:
			return p.errorf("junk after the document element")
		}
	}
}

// skipSpace returns the next StartElement or the EndElement closing in,
// refusing any text other than white space.
func (p *parser) skipSpace(in xml.StartElement) (xml.Token, error) {
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !isSpace(t) {
				return nil, p.errorf("unexpected text %s in <%s>", clip(string(t)), in.Name.Local)
			}
		case xml.StartElement, xml.EndElement:
			return tok, nil
		}
	}
}

// text returns the character content of in, which must have no children.
func (p *parser) text(in xml.StartElement) (string, error) {
	var sb strings.Builder
	for {
		tok, err := p.next()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.StartElement:
			return "", p.unexpected(t, in)
		case xml.EndElement:
			return sb.String(), nil
		}
	}
}

// params reads the <param>s of a <params> element.
func (p *parser) params(in xml.StartElement) ([]any, error) {
	var out []any
	for {
		tok, err := p.skipSpace(in)
		if err != nil {
			return nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			return out, nil
		}
		if se.Name.Local != "param" {
			return nil, p.unexpected(se, in)
		}
		v, err := p.single(se)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// single reads an element (<param>, <fault>) holding exactly one <value>.
func (p *parser) single(in xml.StartElement) (any, error) {
	tok, err := p.skipSpace(in)
	if err != nil {
		return nil, err
	}
	se, ok := tok.(xml.StartElement)
	if !ok {
		return nil, p.errorf("<%s> without a <value>", in.Name.Local)
	}
	if se.Name.Local != "value" {
		return nil, p.unexpected(se, in)
	}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	tok, err = p.skipSpace(in)
	if err != nil {
		return nil, err
	}
	if se, ok := tok.(xml.StartElement); ok {
		return nil, p.errorf("<%s> holds more than one value (<%s>)", in.Name.Local, se.Name.Local)
	}
	return v, nil
}

func (p *parser) fault(in xml.StartElement) (*Fault, error) {
	v, err := p.single(in)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, p.errorf("<fault> value is not a struct")
	}
	code, ok := m["faultCode"].(int64)
	if !ok || code < math.MinInt || code > math.MaxInt {
		return nil, p.errorf("<fault> without an int faultCode")
	}
	s, ok := m["faultString"].(string)
	if !ok {
		return nil, p.errorf("<fault> without a string faultString")
	}
	return &Fault{Code: int(code), String: s}, nil
}

// value reads the content of a <value> whose start tag was just read;
// depth is the number of arrays and structs around it.
func (p *parser) value(depth int) (any, error) {
	p.items++
	if p.items > p.lim.MaxItems {
		return nil, p.errorf("more than %d values", p.lim.MaxItems)
	}
	in := xml.StartElement{Name: xml.Name{Local: "value"}}
	var text strings.Builder
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			// No type element: a string, as Python reads it.
			return text.String(), nil
		case xml.StartElement:
			if !isSpace([]byte(text.String())) {
				return nil, p.errorf("text and <%s> mixed in <value>", t.Name.Local)
			}
			v, err := p.typed(t, depth)
			if err != nil {
				return nil, err
			}
			tok, err := p.skipSpace(in)
			if err != nil {
				return nil, err
			}
			if se, ok := tok.(xml.StartElement); ok {
				return nil, p.errorf("<value> holds more than one type (<%s> after <%s>)", se.Name.Local, t.Name.Local)
			}
			return v, nil
		}
	}
}

func (p *parser) typed(se xml.StartElement, depth int) (any, error) {
	name := se.Name.Local
	switch name {
	case "array", "struct":
		if depth+1 > p.lim.MaxDepth {
			return nil, p.errorf("arrays and structs nested deeper than %d", p.lim.MaxDepth)
		}
		if name == "array" {
			return p.array(se, depth+1)
		}
		return p.structure(se, depth+1)
	}
	switch name {
	case "string", "int", "i4", "i8", "i1", "i2", "biginteger", "boolean",
		"double", "float", "dateTime.iso8601", "base64", "nil":
	default:
		return nil, p.errorf("unknown type <%s>", clipName(name))
	}
	s, err := p.text(se)
	if err != nil {
		return nil, err
	}
	switch name {
	case "string":
		return s, nil
	case "int", "i4", "i8", "i1", "i2", "biginteger":
		t := strings.Trim(s, xmlSpace)
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, p.errorf("<%s> %s out of range", name, clip(t))
			}
			return nil, p.errorf("bad <%s> %s", name, clip(s))
		}
		return n, nil
	case "boolean":
		switch strings.Trim(s, xmlSpace) {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
		return nil, p.errorf("bad <boolean> %s", clip(s))
	case "double", "float":
		t := strings.Trim(s, xmlSpace)
		f, err := strconv.ParseFloat(t, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) || strings.ContainsAny(t, "_xXpP") {
			// Go would take 0x1p3 and 1_0; Python's float() takes neither
			// hex nor (here) anything Go rejects. Overflow is ±inf, as in
			// Python.
			return nil, p.errorf("bad <%s> %s", name, clip(s))
		}
		return f, nil
	case "dateTime.iso8601":
		t, ok := parseTime(strings.Trim(s, xmlSpace))
		if !ok {
			return nil, p.errorf("bad <dateTime.iso8601> %s", clip(s))
		}
		return t, nil
	case "base64":
		b, ok := decodeBase64(s)
		if !ok {
			return nil, p.errorf("bad <base64> data")
		}
		return b, nil
	case "nil":
		if !isSpace([]byte(s)) {
			return nil, p.errorf("text in <nil>")
		}
		return nil, nil
	}
	panic("unreachable")
}

func (p *parser) array(in xml.StartElement, depth int) ([]any, error) {
	out := []any{}
	for {
		tok, err := p.skipSpace(in)
		if err != nil {
			return nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			return out, nil
		}
		switch se.Name.Local {
		case "data":
			for {
				tok, err := p.skipSpace(se)
				if err != nil {
					return nil, err
				}
				ve, ok := tok.(xml.StartElement)
				if !ok {
					break
				}
				if ve.Name.Local != "value" {
					return nil, p.unexpected(ve, se)
				}
				v, err := p.value(depth)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
		case "value": // without <data>, which Python also takes
			v, err := p.value(depth)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		default:
			return nil, p.unexpected(se, in)
		}
	}
}

func (p *parser) structure(in xml.StartElement, depth int) (map[string]any, error) {
	out := map[string]any{}
	for {
		tok, err := p.skipSpace(in)
		if err != nil {
			return nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			return out, nil
		}
		if se.Name.Local != "member" {
			return nil, p.unexpected(se, in)
		}
		var (
			name              string
			v                 any
			haveName, haveVal bool
		)
		for {
			tok, err := p.skipSpace(se)
			if err != nil {
				return nil, err
			}
			me, ok := tok.(xml.StartElement)
			if !ok {
				break
			}
			switch me.Name.Local {
			case "name":
				if haveName {
					return nil, p.errorf("<member> with two <name>s")
				}
				haveName = true
				if name, err = p.text(me); err != nil {
					return nil, err
				}
			case "value":
				if haveVal {
					return nil, p.errorf("<member> with two <value>s")
				}
				haveVal = true
				if v, err = p.value(depth); err != nil {
					return nil, err
				}
			default:
				return nil, p.unexpected(me, se)
			}
		}
		if !haveName {
			return nil, p.errorf("<member> without <name>")
		}
		if !haveVal {
			return nil, p.errorf("<member> without <value>")
		}
		out[name] = v // a repeated name: the last wins, as in Python
	}
}

// Python writes %Y%m%dT%H:%M:%S; others use the dashed or basic forms.
var timeLayouts = []string{
	"20060102T15:04:05",
	"2006-01-02T15:04:05",
	"20060102T150405",
}

func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSuffix(s, "Z")
	for _, l := range timeLayouts {
		if len(s) != len(l) {
			continue
		}
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func decodeBase64(s string) ([]byte, bool) {
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			clean = append(clean, c)
		}
	}
	out := make([]byte, len(clean)/4*3+3)
	n, err := base64.StdEncoding.Decode(out, clean)
	if err != nil {
		if len(clean)%4 == 0 {
			return nil, false
		}
		if n, err = base64.RawStdEncoding.Decode(out, clean); err != nil {
			return nil, false
		}
	}
	return out[:n], true
}

// clipName shortens an element name (which can hold no control
// characters) for an error message.
func clipName(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// clip quotes s for an error message, shortened.
func clip(s string) string {
	const max = 40
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}
