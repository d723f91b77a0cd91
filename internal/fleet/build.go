package fleet

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
)

// Binaries are the programs a fleet runs.
type Binaries struct {
	NATSServer string
	Chancery   string
}

// Build builds the nats-server of this module's go.mod and the chancery
// binary into dir. It must run inside the module.
func Build(ctx context.Context, dir string) (Binaries, error) {
	b := Binaries{NATSServer: filepath.Join(dir, "nats-server"), Chancery: filepath.Join(dir, "chancery")}
	for _, p := range []struct{ out, pkg string }{
		{b.NATSServer, "github.com/nats-io/nats-server/v2"},
		{b.Chancery, "github.com/chancery/chancery/cmd/chancery"},
	} {
		out, err := exec.CommandContext(ctx, "go", "build", "-o", p.out, p.pkg).CombinedOutput()
		if err != nil {
			return b, fmt.Errorf("build %s: %v: %s", p.pkg, err, out)
		}
	}
	return b, nil
}
