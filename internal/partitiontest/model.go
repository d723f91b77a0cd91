package main

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/chancery/chancery/internal/fleet"
)

// register is a meeting as a compare-and-set register: its version and
// its state (the date it is set for). A reschedule with If-Match is a
// compare-and-set: from this version, to this date.
type register struct {
	Version int
	Start   string
}

type casInput struct {
	From int    // If-Match
	To   string // the new date
}

type casOutput struct {
	Outcome string // fleet.OK, fleet.Fail, fleet.Unknown
	Version int    // the version the service answered, when ok
}

// casModel is linearizable CAS on one meeting. An unknown outcome (a
// timeout, a 503, a 500) may or may not have taken effect: both are
// allowed, which needs the nondeterministic form.
func casModel(initial register) porcupine.Model {
	m := &porcupine.NondeterministicModel{
		Init: func() []any { return []any{initial} },
		Step: func(state, input, output any) []any {
			s, in, out := state.(register), input.(casInput), output.(casOutput)
			applied := register{Version: in.From + 1, Start: in.To}
			switch out.Outcome {
			case fleet.OK:
				if s.Version == in.From && out.Version == in.From+1 {
					return []any{applied}
				}
				return nil
			case fleet.Fail:
				if s.Version != in.From {
					return []any{s}
				}
				return nil
			default:
				if s.Version == in.From {
					return []any{s, applied}
				}
				return []any{s}
			}
		},
		Equal: func(a, b any) bool { return a.(register) == b.(register) },
		DescribeOperation: func(input, output any) string {
			in, out := input.(casInput), output.(casOutput)
			return fmt.Sprintf("cas(%d→%s) %s v%d", in.From, in.To, out.Outcome, out.Version)
		},
		DescribeState: func(state any) string { s := state.(register); return fmt.Sprintf("v%d %s", s.Version, s.Start) },
	}
	return m.ToModel()
}

// linearizable checks each meeting's reschedules with porcupine and
// returns, per meeting, the result and the number of operations.
func linearizable(ops []fleet.Op, initial map[string]register) (map[string]string, int) {
	byAgg := map[string][]porcupine.Operation{}
	clients := map[string]int{}
	for _, op := range ops {
		if op.Kind != "cas" {
			continue
		}
		if _, ok := clients[op.Writer]; !ok {
			clients[op.Writer] = len(clients)
		}
		ret := op.Complete.UnixNano()
		if op.Outcome == fleet.Unknown {
			ret = math.MaxInt64 // it may take effect at any time after it was sent
		}
		byAgg[op.Aggregate] = append(byAgg[op.Aggregate], porcupine.Operation{
			ClientId: clients[op.Writer],
			Input:    casInput{From: op.IfMatch, To: op.Start},
			Call:     op.Invoke.UnixNano(),
			Output:   casOutput{Outcome: op.Outcome, Version: op.Version},
			Return:   ret,
		})
	}
	out := map[string]string{}
	total := 0
	aggs := make([]string, 0, len(byAgg))
	for a := range byAgg {
		aggs = append(aggs, a)
	}
	sort.Strings(aggs)
	for _, a := range aggs {
		h := byAgg[a]
		total += len(h)
		res := porcupine.CheckOperationsTimeout(casModel(initial[a]), h, time.Minute)
		out[a] = fmt.Sprintf("%s (%d operations)", res, len(h))
	}
	return out, total
}
