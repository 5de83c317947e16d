package bidi

import (
	"errors"
	"fmt"
)

var (
	// ErrBadMessage: the remote end sent something that is not a BiDi message.
	ErrBadMessage = errors.New("bidi: bad message")
	// ErrBadRemoteValue: a script result is not a well-formed RemoteValue.
	ErrBadRemoteValue = errors.New("bidi: bad remote value")
	// ErrClosed: the connection to the browser is gone.
	ErrClosed = errors.New("bidi: connection closed")
	// ErrNoListenLine: the browser exited or timed out before printing
	// "WebDriver BiDi listening on ws://…".
	ErrNoListenLine = errors.New("bidi: browser did not announce its WebDriver BiDi address")
	// ErrNoElement: a selector matched nothing.
	ErrNoElement = errors.New("bidi: no element matches")
)

// CommandError is an error answer to a command (§ "Errors").
type CommandError struct {
	Method  string
	Code    string // e.g. "no such frame", "invalid argument"
	Message string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("bidi: %s: %s: %s", e.Method, e.Code, e.Message)
}

// ScriptError is an exception thrown (or a promise rejected) by a script
// that Evaluate or CallFunction ran.
type ScriptError struct {
	Text   string
	Line   int
	Column int
}

func (e *ScriptError) Error() string {
	return fmt.Sprintf("bidi: script threw at %d:%d: %s", e.Line+1, e.Column+1, e.Text)
}
