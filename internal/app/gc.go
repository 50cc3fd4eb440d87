package app

import (
	"runtime/debug"
	"strconv"
)

// DefaultGOGC is the garbage collector's target the program runs with when
// the GOGC environment variable is not set: the heap may grow 75% over the
// live set between collections, not Go's default 100%. A pass holds the
// whole snapshot and the owned entities at once, so peak memory is about
// (1 + GOGC/100) times that live set; Prometheus makes the same choice for
// the same reason.
const DefaultGOGC = 75

// TuneGC sets the garbage collector's target to DefaultGOGC unless GOGC is
// set in the environment, which the Go runtime has then already applied.
// It returns the target in force. GOMEMLIMIT is left to the runtime.
func TuneGC(getenv func(string) string) int {
	if v := getenv("GOGC"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
		return -1 // "off" or a value the runtime read its own way
	}
	debug.SetGCPercent(DefaultGOGC)
	return DefaultGOGC
}
