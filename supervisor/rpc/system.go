package rpc

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

func (s *Server) systemMethods() map[string]*method {
	m := map[string]*method{
		"listMethods":     {sig: []string{"array"}, help: "Return an array listing the available method names", fn: s.listMethods},
		"methodHelp":      {sig: []string{"string", "string"}, names: []string{"name"}, help: "Return a string showing the method's documentation", fn: s.methodHelp},
		"methodSignature": {sig: []string{"array", "string"}, names: []string{"name"}, help: "Return an array describing the method signature in the form [rtype, ptype, ptype...] where rtype is the return data type of the method, and ptypes are the parameter data types that the method accepts in method argument order.", fn: s.methodSignature},
		"multicall":       {sig: []string{"array", "array"}, names: []string{"calls"}, help: "Process an array of calls, and return an array of results. Calls should be structs of the form {'methodName': string, 'params': array}. Each result will either be a single-item array containing the result value, or a struct of the form {'faultCode': int, 'faultString': string}. This is useful when you need to make lots of small calls without lots of round trips.", fn: s.multicall},
	}
	for _, meth := range m {
		meth.help = helpText(meth)
	}
	return m
}

func (s *Server) listMethods(context.Context, []any) (any, error) {
	names := make([]string, 0, len(s.methods))
	for n := range s.methods {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out, nil
}

func (s *Server) methodHelp(_ context.Context, args []any) (any, error) {
	name, _ := args[0].(string)
	m, ok := s.methods[name]
	if !ok {
		return nil, fault(SignatureUnsupported)
	}
	return m.help, nil
}

func (s *Server) methodSignature(_ context.Context, args []any) (any, error) {
	name, _ := args[0].(string)
	m, ok := s.methods[name]
	if !ok {
		return nil, fault(SignatureUnsupported)
	}
	out := make([]any, len(m.sig))
	for i, t := range m.sig {
		out[i] = t
	}
	return out, nil
}

// MaxMulticallCalls and MaxMulticallAnswer bound one system.multicall,
// which otherwise turns one request into any amount of work and memory
// (a thousand 32 MiB log reads): more calls than MaxMulticallCalls is an
// INCORRECT_PARAMETERS fault for the whole request, and once the results
// hold about MaxMulticallAnswer bytes each remaining call is answered with
// a FAILED fault instead of being run. Python has no bounds.
const (
	MaxMulticallCalls  = 1000
	MaxMulticallAnswer = 64 << 20
)

// multicall runs each call in turn; a result is the bare value or a fault
// struct (supervisor does not wrap values in one-element arrays).
func (s *Server) multicall(ctx context.Context, args []any) (any, error) {
	calls, ok := args[0].([]any)
	if !ok {
		return nil, fault(IncorrectParameters)
	}
	if len(calls) > MaxMulticallCalls {
		return nil, fault(IncorrectParameters, fmt.Sprintf("system.multicall of %d calls: at most %d in one request", len(calls), MaxMulticallCalls))
	}
	results := make([]any, 0, len(calls))
	var size int64
	for _, c := range calls {
		var value any
		var err error
		call, _ := c.(map[string]any)
		name, hasName := call["methodName"].(string)
		switch {
		case !hasName:
			err = fault(IncorrectParameters, "No methodName")
		case name == "system.multicall":
			err = fault(IncorrectParameters, "Recursive system.multicall forbidden")
		case size >= MaxMulticallAnswer:
			err = fault(Failed, fmt.Sprintf("not run: the answer of this system.multicall already holds over %d MiB; make this call in a request of its own", MaxMulticallAnswer>>20))
		default:
			params, _ := call["params"].([]any)
			value, err = s.Call(ctx, name, params)
			size += approxSize(value)
		}
		if err != nil {
			var f *xmlrpc.Fault
			if !errors.As(err, &f) {
				f = fault(Failed, err.Error())
			}
			value = map[string]any{"faultCode": f.Code, "faultString": f.String}
		}
		results = append(results, value)
	}
	return results, nil
}

// approxSize is roughly how many bytes v takes in an answer, before
// escaping: enough to bound a multicall's memory.
func approxSize(v any) int64 {
	const overhead = 16
	switch v := v.(type) {
	case string:
		return int64(len(v)) + overhead
	case []byte:
		return int64(len(v))*4/3 + overhead
	case []any:
		n := int64(overhead)
		for _, x := range v {
			n += approxSize(x)
		}
		return n
	case map[string]any:
		n := int64(overhead)
		for k, x := range v {
			n += int64(len(k)) + approxSize(x)
		}
		return n
	}
	return overhead
}
