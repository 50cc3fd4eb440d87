package main

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"time"
)

// resetPeakRSS returns memory the runtime holds but does not use to the
// OS and resets the kernel's high-water mark of this process's RSS
// (VmHWM) to its current RSS, by writing 5 to /proc/self/clear_refs
// (Linux 4.0 and later). It reports whether the reset took: VmHWM is
// process-wide and only grows otherwise.
func resetPeakRSS() bool {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return false
	}
	hwm, rss := procStatusKiB("VmHWM"), procStatusKiB("VmRSS")
	// After a reset VmHWM is the RSS of that moment, give or take the pages
	// touched since.
	return hwm > 0 && hwm <= rss+4096
}

// heapSampler samples the Go heap (live and unswept objects) every few
// milliseconds and keeps its maximum: the Go heap's high-water mark, which
// the runtime does not record itself.
type heapSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
	// profile, when capture is set, is a heap profile taken when the live
	// heap (as the last GC marked it, which is also what a heap profile
	// shows) last grew 5% over the previous capture: close to the peak of
	// live memory. It forces no GC, so the pass runs as it would.
	capture bool
	profile bytes.Buffer
	taken   uint64
}

const (
	heapMetric = "/memory/classes/heap/objects:bytes"
	liveMetric = "/gc/heap/live:bytes"
)

func startHeapSampler(capture bool) *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), capture: capture}
	sample := []metrics.Sample{{Name: heapMetric}, {Name: liveMetric}}
	read := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			h.peak = max(h.peak, sample[0].Value.Uint64())
		}
		if sample[1].Value.Kind() != metrics.KindUint64 {
			return
		}
		if live := sample[1].Value.Uint64(); h.capture && live > h.taken+h.taken/20 {
			h.taken = live
			h.profile.Reset()
			_ = pprof.Lookup("heap").WriteTo(&h.profile, 0)
		}
	}
	read()
	h.done.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				read()
			case <-h.stop:
				read()
				return
			}
		}
	})
	return h
}

// Stop stops sampling and returns the peak in bytes.
func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	h.done.Wait()
	return h.peak
}
