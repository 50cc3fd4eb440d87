package glinttest

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
)

func TestRandomFaults(t *testing.T) {
	s := Start(t, Options{})
	tests := []struct {
		name   string
		rf     *RandomFaults
		status int // every request's status
	}{
		{name: "always 503", rf: &RandomFaults{Rand: rand.New(rand.NewPCG(1, 2)), Probability: 1, Kinds: []Kind{Status503}}, status: http.StatusServiceUnavailable},
		{name: "never", rf: &RandomFaults{Rand: rand.New(rand.NewPCG(1, 2)), Probability: 0, Kinds: []Kind{Status503}}, status: http.StatusOK},
		{name: "other route only", rf: &RandomFaults{Rand: rand.New(rand.NewPCG(1, 2)), Probability: 1, Kinds: []Kind{Status500}, Routes: []string{RouteBulk}}, status: http.StatusOK},
		{name: "401 spares the token route", rf: &RandomFaults{Rand: rand.New(rand.NewPCG(1, 2)), Probability: 1, Kinds: []Kind{Status401}}, status: http.StatusOK},
		{name: "207 only on bulk", rf: &RandomFaults{Rand: rand.New(rand.NewPCG(1, 2)), Probability: 1, Kinds: []Kind{Partial207}}, status: http.StatusOK},
		{name: "off", rf: nil, status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.SetRandomFaults(tt.rf)
			for range 5 {
				resp, err := http.Post(s.URL()+"/v1/auth/access_token", "application/json",
					strings.NewReader(`{"clientId":"glinttest-client","clientSecret":"glinttest-secret"}`))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
				}
			}
			counts := s.RandomFaultCounts()
			want := 0
			if tt.status != http.StatusOK {
				want = 5
			}
			n := 0
			for _, c := range counts {
				n += c
			}
			if n != want {
				t.Errorf("RandomFaultCounts = %v, want %d faults", counts, want)
			}
		})
	}
}
