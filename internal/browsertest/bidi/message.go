package bidi

import (
	"encoding/json"
	"fmt"
)

// Message types of the WebDriver BiDi transport (§ "Transport": every
// message the remote end sends is a command result, an error or an event).
const (
	typeSuccess = "success"
	typeError   = "error"
	typeEvent   = "event"
)

// command is what the client sends: {"id", "method", "params"}.
type command struct {
	ID     uint64 `json:"id"`
	Method string `json:"method"`
	Params any    `json:"params"`
}

// Message is one decoded message from the remote end.
type Message struct {
	Type string `json:"type"`
	// ID is the command id of a success or error; nil on events and on
	// errors the remote end could not tie to a command (bad JSON).
	ID *uint64 `json:"id,omitempty"`
	// Result is the command result of a success.
	Result json.RawMessage `json:"result,omitempty"`
	// Error, ErrMessage and Stacktrace describe an error.
	Error      string `json:"error,omitempty"`
	ErrMessage string `json:"message,omitempty"`
	Stacktrace string `json:"stacktrace,omitempty"`
	// Method and Params are set on events.
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
}

// DecodeMessage parses one message from the remote end and checks the
// fields its type requires. It never panics on bad input.
func DecodeMessage(b []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	switch m.Type {
	case typeSuccess:
		if m.ID == nil {
			return Message{}, fmt.Errorf("%w: success without id", ErrBadMessage)
		}
		if !isJSONObject(m.Result) {
			return Message{}, fmt.Errorf("%w: success result is not an object", ErrBadMessage)
		}
	case typeError:
		if m.Error == "" {
			return Message{}, fmt.Errorf("%w: error without error code", ErrBadMessage)
		}
	case typeEvent:
		if m.Method == "" {
			return Message{}, fmt.Errorf("%w: event without method", ErrBadMessage)
		}
		if !isJSONObject(m.Params) {
			return Message{}, fmt.Errorf("%w: event %s params are not an object", ErrBadMessage, m.Method)
		}
	default:
		return Message{}, fmt.Errorf("%w: unknown type %q", ErrBadMessage, m.Type)
	}
	return m, nil
}

// isJSONObject reports whether raw (valid JSON) is an object.
func isJSONObject(raw json.RawMessage) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}
