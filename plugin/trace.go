package main

// phaseTracer marks the phases of one invocation for a podnet_trace build
// (trace_on.go, docs/measurements/2026-12-06-podnet-phases.md). A release
// build never sets it: every mark is one nil check, and nothing else of the
// trace mode is compiled in.
type phaseTracer struct {
	// mark ends the phase named phase, which began at the previous mark (or
	// at main).
	mark func(phase string)
	// done ends the invocation: the phases are written out.
	done func(err error)
}

var phases phaseTracer

func (t phaseTracer) at(phase string) {
	if t.mark != nil {
		t.mark(phase)
	}
}

// traced runs cmd and then ends the trace, in a podnet_trace build.
func traced[T any](cmd func(T) error) func(T) error {
	return func(args T) error {
		err := cmd(args)
		if phases.done != nil {
			phases.done(err)
		}
		return err
	}
}
