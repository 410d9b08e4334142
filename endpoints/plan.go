package endpoints

import "sort"

// Move puts the stored rows of a provider's endpoint From under To.
type Move struct {
	Provider, From, To string
}

// Plan returns the moves that put stored endpoints under the endpoint the
// classifier now gives them (endpoint, for a provider, method and stored
// endpoint), and how many endpoints it leaves where they are because their
// methods disagree.
//
// Rollups count a provider's calls per endpoint without their method, so an
// endpoint moves only when every method it was stored with gives it the
// same template (the method "" of rows stored before methods were recorded
// counts only when no other is known).
func Plan(stored []Observation, endpoint func(provider, method, endpoint string) string) (moves []Move, conflicts int) {
	type key struct{ provider, endpoint string }
	methods := map[key][]string{}
	for _, o := range stored {
		if o.Endpoint == Other {
			continue
		}
		k := key{o.Provider, o.Endpoint}
		methods[k] = append(methods[k], o.Method)
	}
	for k, ms := range methods {
		known := ms[:0:0]
		for _, m := range ms {
			if m != "" {
				known = append(known, m)
			}
		}
		if len(known) == 0 {
			known = []string{""}
		}
		to := ""
		agree := true
		for i, m := range known {
			t := endpoint(k.provider, m, k.endpoint)
			if i == 0 {
				to = t
			} else if t != to {
				agree = false
			}
		}
		switch {
		case !agree:
			conflicts++
		case to != k.endpoint:
			moves = append(moves, Move{Provider: k.provider, From: k.endpoint, To: to})
		}
	}
	sort.Slice(moves, func(i, j int) bool {
		if moves[i].Provider != moves[j].Provider {
			return moves[i].Provider < moves[j].Provider
		}
		return moves[i].From < moves[j].From
	})
	return moves, conflicts
}
