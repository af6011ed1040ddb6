package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"encoding/json"
	"unicode/utf8"
)

// maxNesting is encoding/json's bound on nested objects and arrays: deeper
// input is refused here too, and left to encoding/json to reject.
const maxNesting = 10000

// jsonScanner reads JSON strictly, as encoding/json's own scanner does: every
// method fails on input encoding/json would refuse, so that what the scanner
// accepts decodes the same either way. It may also fail on valid input it
// does not handle (a key with an escape sequence); callers then take the
// encoding/json path. Strings come out as substrings of text, which holds the
// same bytes as b: a string without escape sequences costs no allocation.
type jsonScanner struct {
	b     []byte
	text  string
	i     int
	depth int
}

func newJSONScanner(b []byte) *jsonScanner {
	return &jsonScanner{b: b, text: string(b)}
}

// object reads an object, calling member with each key (ok false when the
// key has an escape sequence, which never matches a known key) and the
// scanner at its value, which member must read.
func (s *jsonScanner) object(member func(key string, ok bool) bool) bool {
	if s.ws(); s.peek() != '{' {
		return false
	}
	if s.depth++; s.depth > maxNesting {
		return false
	}
	s.i++
	if s.ws(); s.peek() == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		s.ws()
		start, end, plain, ok := s.stringSpan()
		if !ok {
			return false
		}
		if s.ws(); s.peek() != ':' {
			return false
		}
		s.i++
		if !member(s.text[start:end], plain) {
			return false
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// array reads an array, calling elem with the scanner at each element.
func (s *jsonScanner) array(elem func() bool) bool {
	if s.ws(); s.peek() != '[' {
		return false
	}
	if s.depth++; s.depth > maxNesting {
		return false
	}
	s.i++
	if s.ws(); s.peek() == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		if !elem() {
			return false
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// stringSpan reads a string; its content is text[start:end]. plain is false
// when the content needs decoding: an escape sequence, or bytes that are not
// UTF-8 (which encoding/json replaces).
func (s *jsonScanner) stringSpan() (start, end int, plain, ok bool) {
	if s.peek() != '"' {
		return 0, 0, false, false
	}
	start, plain = s.i+1, true
	ascii := true
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			if !ascii && plain {
				plain = utf8.ValidString(s.text[start:j])
			}
			return start, j, plain, true
		case c == '\\':
			if !s.escape(j + 1) {
				return 0, 0, false, false
			}
			plain = false
			if s.b[j+1] == 'u' {
				j += 4
			}
			j++
		case c < 0x20:
			return 0, 0, false, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return 0, 0, false, false
}

// escape reports whether an escape sequence starts at b[j] (after the backslash).
func (s *jsonScanner) escape(j int) bool {
	if j >= len(s.b) {
		return false
	}
	switch s.b[j] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	case 'u':
		if j+4 >= len(s.b) {
			return false
		}
		for _, c := range s.b[j+1 : j+5] {
			if !isHex(c) {
				return false
			}
		}
		return true
	}
	return false
}

// str reads a string value.
func (s *jsonScanner) str() (string, bool) {
	s.ws()
	at := s.i
	start, end, plain, ok := s.stringSpan()
	if !ok {
		return "", false
	}
	if plain {
		return s.text[start:end], true
	}
	var decoded string
	if json.Unmarshal(s.b[at:s.i], &decoded) != nil {
		return "", false
	}
	return decoded, true
}

// boolean reads true or false.
func (s *jsonScanner) boolean() (value, ok bool) {
	s.ws()
	switch {
	case s.literal("true"):
		return true, true
	case s.literal("false"):
		return false, true
	}
	return false, false
}

// raw reads any value and returns its bytes.
func (s *jsonScanner) raw() (json.RawMessage, bool) {
	s.ws()
	start := s.i
	if !s.value() {
		return nil, false
	}
	return s.b[start:s.i:s.i], true
}

// value reads any value.
func (s *jsonScanner) value() bool {
	s.ws()
	switch c := s.peek(); {
	case c == '"':
		_, _, _, ok := s.stringSpan()
		return ok
	case c == '{':
		return s.object(func(string, bool) bool { return s.value() })
	case c == '[':
		return s.array(s.value)
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || isDigit(c):
		return s.number()
	}
	return false
}

func (s *jsonScanner) literal(word string) bool {
	if len(s.b)-s.i < len(word) || s.text[s.i:s.i+len(word)] != word {
		return false
	}
	s.i += len(word)
	return true
}

// number reads a number as JSON's grammar has it: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
func (s *jsonScanner) number() bool {
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return false
	}
	if s.peek() == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits reads one or more digits.
func (s *jsonScanner) digits() bool {
	start := s.i
	for isDigit(s.peek()) {
		s.i++
	}
	return s.i > start
}

// end reports whether nothing but white space is left.
func (s *jsonScanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

func (s *jsonScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
