package audit

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/chancery/chancery/projections"
)

// ProgressBar draws a replay's progress on w when it is a terminal; in
// scripts (w not a terminal) it is nil and draws nothing. now times the
// rate and the time left.
func ProgressBar(w io.Writer, now func() time.Time) projections.Progress {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	start := now()
	var first uint64
	return func(pos, last uint64) {
		if first == 0 {
			first = pos
		}
		done := float64(pos) / float64(max(last, 1))
		rate := float64(pos-first) / max(now().Sub(start).Seconds(), 1e-3)
		left := "?"
		if rate > 0 {
			left = (time.Duration(float64(last-pos)/rate) * time.Second).Round(time.Second).String()
		}
		const width = 30
		n := int(done * width)
		fmt.Fprintf(f, "\r[%s%s] %3.0f%%  %s/%s events  %s events/s  %s left ",
			strings.Repeat("=", n), strings.Repeat(" ", width-n), done*100, thousands(pos), thousands(last), thousands(uint64(rate)), left)
		if pos >= last {
			fmt.Fprintln(f)
		}
	}
}
