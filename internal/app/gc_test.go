package app

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })

	env := map[string]string{"GOGC": "150"}
	if got := TuneGC(func(k string) string { return env[k] }); got != 150 {
		t.Errorf("with GOGC=150: %d", got)
	}
	if cur := debug.SetGCPercent(100); cur != 100 {
		t.Errorf("GOGC set in the environment must be left alone, found %d", cur)
	}
	if got := TuneGC(func(string) string { return "" }); got != DefaultGOGC {
		t.Errorf("without GOGC: %d", got)
	}
	if cur := debug.SetGCPercent(100); cur != DefaultGOGC {
		t.Errorf("the runtime's target is %d, want %d", cur, DefaultGOGC)
	}
}
