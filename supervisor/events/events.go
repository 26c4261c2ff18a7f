// Package events is supervisor's event system: the event types and their
// payloads, serial numbers, and the pools of event listeners with the
// READY / RESULT protocol, as Python supervisor 4.2.5 has them.
//
// Nothing here is safe for concurrent use: the daemon's event loop owns the
// bus and the pools.
package events

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gpudesk/runtime/supervisor/internal/pystr"
)

// Event type names.
const (
	ProcessStateStopped    = "PROCESS_STATE_STOPPED"
	ProcessStateExited     = "PROCESS_STATE_EXITED"
	ProcessStateStarting   = "PROCESS_STATE_STARTING"
	ProcessStateStopping   = "PROCESS_STATE_STOPPING"
	ProcessStateBackoff    = "PROCESS_STATE_BACKOFF"
	ProcessStateFatal      = "PROCESS_STATE_FATAL"
	ProcessStateRunning    = "PROCESS_STATE_RUNNING"
	ProcessStateUnknown    = "PROCESS_STATE_UNKNOWN"
	ProcessLogStdout       = "PROCESS_LOG_STDOUT"
	ProcessLogStderr       = "PROCESS_LOG_STDERR"
	ProcessCommStdout      = "PROCESS_COMMUNICATION_STDOUT"
	ProcessCommStderr      = "PROCESS_COMMUNICATION_STDERR"
	RemoteCommunication    = "REMOTE_COMMUNICATION"
	SupervisorStateRunning = "SUPERVISOR_STATE_CHANGE_RUNNING"
	SupervisorStateStop    = "SUPERVISOR_STATE_CHANGE_STOPPING"
	Tick5                  = "TICK_5"
	Tick60                 = "TICK_60"
	Tick3600               = "TICK_3600"
	ProcessGroupAdded      = "PROCESS_GROUP_ADDED"
	ProcessGroupRemoved    = "PROCESS_GROUP_REMOVED"
)

// parents maps each concrete type to the abstract types it belongs to
// (besides EVENT, which every type belongs to).
var parents = map[string]string{
	ProcessStateStopped: "PROCESS_STATE", ProcessStateExited: "PROCESS_STATE",
	ProcessStateStarting: "PROCESS_STATE", ProcessStateStopping: "PROCESS_STATE",
	ProcessStateBackoff: "PROCESS_STATE", ProcessStateFatal: "PROCESS_STATE",
	ProcessStateRunning: "PROCESS_STATE", ProcessStateUnknown: "PROCESS_STATE",
	ProcessLogStdout: "PROCESS_LOG", ProcessLogStderr: "PROCESS_LOG",
	ProcessCommStdout: "PROCESS_COMMUNICATION", ProcessCommStderr: "PROCESS_COMMUNICATION",
	SupervisorStateRunning: "SUPERVISOR_STATE_CHANGE", SupervisorStateStop: "SUPERVISOR_STATE_CHANGE",
	Tick5: "TICK", Tick60: "TICK", Tick3600: "TICK",
	ProcessGroupAdded: "PROCESS_GROUP", ProcessGroupRemoved: "PROCESS_GROUP",
}

// Matches reports whether a subscription to sub receives events of type t.
func Matches(sub, t string) bool {
	return sub == "EVENT" || sub == t || parents[t] == sub
}

// Event is one event: its type, payload, and the serials it was given.
type Event struct {
	Type    string
	Payload string
	Serial  int64
	// poolSerials are the serials each pool gave it, kept when the event
	// is rebuffered after a rejection.
	poolSerials map[string]int64
}

// ProcessState is a PROCESS_STATE_* event. extra holds the type's extra
// fields in order ("tries", "3", …).
func ProcessState(to, process, group, from string, extra ...string) *Event {
	parts := []string{"processname:" + process, "groupname:" + group, "from_state:" + from}
	for i := 0; i+1 < len(extra); i += 2 {
		parts = append(parts, extra[i]+":"+extra[i+1])
	}
	return &Event{Type: "PROCESS_STATE_" + to, Payload: strings.Join(parts, " ")}
}

// ProcessLog is a PROCESS_LOG_STDOUT/STDERR event with output data.
func ProcessLog(channel, process, group string, pid int, data []byte) *Event {
	return &Event{
		Type:    "PROCESS_LOG_" + strings.ToUpper(channel),
		Payload: fmt.Sprintf("processname:%s groupname:%s pid:%d channel:%s\n%s", process, group, pid, channel, text(data)),
	}
}

// ProcessCommunication is a PROCESS_COMMUNICATION_* event: what a process
// wrote between the XSUPERVISOR tokens.
func ProcessCommunication(channel, process, group string, pid int, data []byte) *Event {
	return &Event{
		Type:    "PROCESS_COMMUNICATION_" + strings.ToUpper(channel),
		Payload: fmt.Sprintf("processname:%s groupname:%s pid:%d\n%s", process, group, pid, text(data)),
	}
}

// Remote is a REMOTE_COMMUNICATION event (supervisor.sendRemoteCommEvent).
func Remote(typ, data string) *Event {
	return &Event{Type: RemoteCommunication, Payload: "type:" + typ + "\n" + data}
}

// SupervisorState is SUPERVISOR_STATE_CHANGE_RUNNING or _STOPPING.
func SupervisorState(typ string) *Event { return &Event{Type: typ} }

// Tick is a TICK_* event for the start of a period.
func Tick(typ string, when int64) *Event {
	return &Event{Type: typ, Payload: fmt.Sprintf("when:%d", when)}
}

// Group is PROCESS_GROUP_ADDED or _REMOVED.
func Group(typ, name string) *Event {
	return &Event{Type: typ, Payload: "groupname:" + name + "\n"}
}

// text decodes output as supervisor does: UTF-8, else a repr.
func text(data []byte) string {
	if utf8.Valid(data) {
		return string(data)
	}
	return "Undecodable: " + pystr.BytesRepr(data)
}

// Bus hands events to the pools that subscribe to them, numbering each.
type Bus struct {
	serial int64
	pools  []*Pool
}

// Add subscribes a pool.
func (b *Bus) Add(p *Pool) { b.pools = append(b.pools, p) }

// Remove unsubscribes a pool.
func (b *Bus) Remove(p *Pool) {
	for i, q := range b.pools {
		if q == p {
			b.pools = append(b.pools[:i:i], b.pools[i+1:]...)
			return
		}
	}
}

// Subscribed reports whether any pool wants events of type t (so that the
// daemon can skip building events nobody reads, such as ticks).
func (b *Bus) Subscribed(t string) bool {
	for _, p := range b.pools {
		if p.wants(t) {
			return true
		}
	}
	return false
}

// Publish gives e a serial and buffers it in every subscribed pool.
func (b *Bus) Publish(e *Event) {
	var subs []*Pool
	for _, p := range b.pools {
		if p.wants(e.Type) {
			subs = append(subs, p)
		}
	}
	if len(subs) == 0 {
		return
	}
	b.serial++
	e.Serial = b.serial - 1
	e.poolSerials = map[string]int64{}
	for _, p := range subs {
		p.accept(e, false)
	}
}
