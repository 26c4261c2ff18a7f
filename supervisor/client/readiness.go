package client

import (
	"context"
	"time"
)

// Readiness is supervisor.getReadiness's answer (an extension of ours).
type Readiness struct {
	Ready     bool
	Processes []ProcessReadiness
}

// ProcessReadiness is one process's part of Readiness.
type ProcessReadiness struct {
	Name, Group, StateName string
	Ready, Required        bool
	Reason                 string
	DependsOn              []string
	ReadyAt                int64
	TimeToReady, SinceBoot time.Duration
}

// GetReadiness is supervisor.getReadiness.
func (c *Client) GetReadiness(ctx context.Context) (Readiness, error) {
	const method = "supervisor.getReadiness"
	v, err := c.Call(ctx, method)
	if err != nil {
		return Readiness{}, err
	}
	m, err := structOf(method, v)
	if err != nil {
		return Readiness{}, err
	}
	procs, err := arrayOf(method, m["processes"], nil)
	if err != nil {
		return Readiness{}, err
	}
	out := Readiness{Ready: field[bool](m, "ready")}
	for _, pv := range procs {
		p, err := structOf(method, pv)
		if err != nil {
			return Readiness{}, err
		}
		deps, _ := stringList(method, p["depends_on"], nil)
		out.Processes = append(out.Processes, ProcessReadiness{
			Name: field[string](p, "name"), Group: field[string](p, "group"), StateName: field[string](p, "statename"),
			Ready: field[bool](p, "ready"), Required: field[bool](p, "required"), Reason: field[string](p, "reason"),
			DependsOn: deps, ReadyAt: intField(p, "ready_at"),
			TimeToReady: seconds(p["time_to_ready"]), SinceBoot: seconds(p["since_boot"]),
		})
	}
	return out, nil
}

func seconds(v any) time.Duration {
	f, _ := v.(float64)
	return time.Duration(f * float64(time.Second))
}
