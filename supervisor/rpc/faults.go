package rpc

import (
	"fmt"

	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// Fault codes, as supervisor's xmlrpc.Faults.
const (
	UnknownMethod        = 1
	IncorrectParameters  = 2
	BadArguments         = 3
	SignatureUnsupported = 4
	ShutdownState        = 6
	BadName              = 10
	BadSignal            = 11
	NoFile               = 20
	NotExecutable        = 21
	Failed               = 30
	AbnormalTermination  = 40
	SpawnError           = 50
	AlreadyStarted       = 60
	NotRunning           = 70
	Success              = 80
	AlreadyAdded         = 90
	StillRunning         = 91
	CantReread           = 92
)

var faultNames = map[int]string{
	UnknownMethod: "UNKNOWN_METHOD", IncorrectParameters: "INCORRECT_PARAMETERS",
	BadArguments: "BAD_ARGUMENTS", SignatureUnsupported: "SIGNATURE_UNSUPPORTED",
	ShutdownState: "SHUTDOWN_STATE", BadName: "BAD_NAME", BadSignal: "BAD_SIGNAL",
	NoFile: "NO_FILE", NotExecutable: "NOT_EXECUTABLE", Failed: "FAILED",
	AbnormalTermination: "ABNORMAL_TERMINATION", SpawnError: "SPAWN_ERROR",
	AlreadyStarted: "ALREADY_STARTED", NotRunning: "NOT_RUNNING", Success: "SUCCESS",
	AlreadyAdded: "ALREADY_ADDED", StillRunning: "STILL_RUNNING", CantReread: "CANT_REREAD",
}

// fault builds supervisor's fault: faultString is "NAME" or "NAME: extra".
func fault(code int, extra ...any) *xmlrpc.Fault {
	name, ok := faultNames[code]
	if !ok {
		name = "UNKNOWN"
	}
	if len(extra) > 0 {
		return &xmlrpc.Fault{Code: code, String: fmt.Sprintf("%s: %v", name, extra[0])}
	}
	return &xmlrpc.Fault{Code: code, String: name}
}
