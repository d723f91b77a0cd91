package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chancery/chancery/projections"
)

func TestSnapshotLimitsInTheDocsAreTheDefaults(t *testing.T) {
	for _, doc := range []string{"../../docs/configuration.md", "../../docs/operations.md"} {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]int64{
			"builds": projections.DefaultSnapshotBuilds, "cache_mib": projections.DefaultSnapshotCacheBytes >> 20, "files": projections.DefaultSnapshotFiles,
		} {
			// configuration.md: "  builds: 2", operations.md: "`snapshots.builds`: ... | 2 |"
			re := regexp.MustCompile(`(?m)^  ` + key + `: (\d+)|snapshots\.` + key + "`" + `[^|]*\| (\d+)`)
			m := re.FindSubmatch(raw)
			if m == nil {
				t.Errorf("%s does not give the default of snapshots.%s", doc, key)
				continue
			}
			got, _ := strconv.ParseInt(string(m[1])+string(m[2]), 10, 64)
			if got != want {
				t.Errorf("%s gives snapshots.%s %d, the code %d", doc, key, got, want)
			}
		}
	}
}

func TestConfigRefusesANegativeSnapshotLimitNamingIt(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	_, err := loadText(t, p, "snapshots:\n  builds: 2\n  cache_mib: -1\n")
	if err == nil || !strings.Contains(err.Error(), ":3: snapshots.cache_mib:") {
		t.Fatalf("cache_mib -1: %v, want an error naming line 3 and snapshots.cache_mib", err)
	}
	cfg, err := loadText(t, p, "snapshots:\n  builds: 4\n  cache_mib: 64\n  files: 3\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.SnapshotLimits(); got != (projections.SnapshotLimits{Builds: 4, CacheBytes: 64 << 20, Files: 3}) {
		t.Errorf("limits %+v", got)
	}
}
