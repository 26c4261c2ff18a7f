package caddy

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Syncer keeps Caddy loaded with the configuration of the current sites:
// at each change, and at every check (a restarted Caddy comes back with
// its base configuration, which has none of the routes, and gets them
// again within a check).
type Syncer struct {
	Admin *Admin
	// Base is the configuration without sites; Sites are filled in.
	Base Options
	// Check is how often Caddy's configuration is compared with ours.
	Check time.Duration
	// RetryRefused is how often sites Caddy refused are tried again.
	RetryRefused time.Duration

	// Report, when set, is called (from Run) each time the error changes:
	// with the new error, or "" when Caddy runs the configuration again.
	Report func(problem string)

	wake     chan struct{}
	reported string
	mu       sync.Mutex
	want     []Site
	st       Status
}

// Status is what the portal shows about Caddy.
type Status struct {
	// Reachable says the admin API answered the last request.
	Reachable bool `json:"reachable"`
	// Applied says Caddy runs the configuration of every site.
	Applied bool `json:"applied"`
	// Error is the last problem (admin API down, configuration refused).
	Error string `json:"error,omitempty"`
	// Refused are the public ports Caddy would not take, with why.
	Refused map[int]string `json:"refused,omitempty"`
	// Loads counts configurations pushed.
	Loads    int       `json:"loads"`
	LastLoad time.Time `json:"last_load,omitzero"`
}

// NewSyncer returns a Syncer; call Run.
func NewSyncer(admin *Admin, base Options) *Syncer {
	return &Syncer{Admin: admin, Base: base, Check: time.Second, RetryRefused: 30 * time.Second, wake: make(chan struct{}, 1)}
}

// Set asks for sites to be served.
func (s *Syncer) Set(sites []Site) {
	s.mu.Lock()
	s.want = slices.Clone(sites)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Status returns the current status.
func (s *Syncer) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	return st
}

// Run applies the wanted sites until ctx is done.
func (s *Syncer) Run(ctx context.Context) {
	tick := time.NewTicker(s.Check)
	defer tick.Stop()
	var (
		loadedFor []Site // the wanted sites the loaded config was made for
		loaded    []byte // what Caddy was last given
		partialAt time.Time
	)
	for {
		s.mu.Lock()
		want := slices.Clone(s.want)
		s.mu.Unlock()
		retry := s.Status().Refused != nil && time.Since(partialAt) > s.RetryRefused
		if loaded == nil || !slices.Equal(want, loadedFor) || retry {
			cfg, refused, err := s.apply(ctx, want)
			if err == nil {
				loaded, loadedFor = cfg, want
				if refused != nil {
					partialAt = time.Now()
				}
			}
		} else if ok, err := s.Admin.Has(ctx, loaded); err != nil {
			s.setErr(err)
		} else if !ok {
			if err := s.Admin.Load(ctx, loaded); err != nil {
				s.setErr(err)
			} else {
				s.loadedOK(s.Status().Refused)
			}
		}
		if s.Report != nil {
			if e := s.Status().Error; e != s.reported {
				s.reported = e
				s.Report(e)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-tick.C:
		}
	}
}

func (s *Syncer) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Reachable = IsRefused(err)
	s.st.Applied = false
	s.st.Error = err.Error()
}

func (s *Syncer) loadedOK(refused map[int]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Reachable = true
	s.st.Applied = len(refused) == 0
	s.st.Refused = refused
	s.st.Error = ""
	if len(refused) > 0 {
		s.st.Error = "caddy refused some sites"
	}
	s.st.Loads++
	s.st.LastLoad = time.Now()
}

func (s *Syncer) build(sites []Site) ([]byte, error) {
	o := s.Base
	o.Sites = sites
	return Build(o)
}

// apply loads want. When Caddy refuses the whole (a port already in use,
// say), the sites are added one at a time so that one bad site cannot take
// the others down; the portal's own sites go first.
func (s *Syncer) apply(ctx context.Context, want []Site) ([]byte, map[int]string, error) {
	cfg, err := s.build(want)
	if err != nil {
		s.setErr(err)
		return nil, nil, err
	}
	if ok, err := s.Admin.Has(ctx, cfg); err == nil && ok {
		s.loadedOK(nil)
		return cfg, nil, nil
	}
	err = s.Admin.Load(ctx, cfg)
	if err == nil {
		s.loadedOK(nil)
		return cfg, nil, nil
	}
	if !IsRefused(err) {
		s.setErr(err)
		return nil, nil, err
	}
	var accepted []Site
	refused := map[int]string{}
	order := slices.Clone(want)
	slices.SortStableFunc(order, func(a, b Site) int {
		switch {
		case a.Portal == b.Portal:
			return 0
		case a.Portal:
			return -1
		}
		return 1
	})
	var last []byte
	for _, site := range order {
		try := append(slices.Clone(accepted), site)
		c, berr := s.build(try)
		if berr != nil {
			refused[site.PublicPort] = berr.Error()
			continue
		}
		if lerr := s.Admin.Load(ctx, c); lerr != nil {
			if !IsRefused(lerr) {
				s.setErr(lerr)
				return nil, nil, lerr
			}
			refused[site.PublicPort] = lerr.Error()
			continue
		}
		accepted, last = try, c
	}
	if last == nil {
		c, _ := s.build(nil)
		if lerr := s.Admin.Load(ctx, c); lerr != nil {
			s.setErr(lerr)
			return nil, nil, lerr
		}
		last = c
	}
	s.loadedOK(refused)
	return last, refused, nil
}
