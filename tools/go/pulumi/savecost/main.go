// savecost: what one checkpoint save costs Pulumi's file and bucket backends,
// timed on a real checkpoint (`npm run bench -- --engine-save-cost`, bench/engine.ts).
//
// It runs, again and again for SECONDS (at least 3 times), the work Pulumi 3.276 does to the state on every save
// (pkg/backend/snapshot.go saveSnapshot: Deployment, i.e. NormalizeURNReferences
// and SerializeDeploymentWithMetadata, then VerifyIntegrity; pkg/backend/diy/state.go
// saveStack and saveCheckpoint: DeploymentV3ToCheckpointWithMarshaler, the versioned
// checkpoint marshalled around it, VerifyIntegrity again, zstd), on the snapshot
// deserialised from FILE, and prints one JSON line per FILE. The write itself is left
// out. Secrets are opened with PULUMI_CONFIG_PASSPHRASE, as the CLI opens them.
//
//	savecost SECONDS FILE...
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pulumi/pulumi/pkg/v3/backend/httpstate/client"
	"github.com/pulumi/pulumi/pkg/v3/backend/secrets"
	"github.com/pulumi/pulumi/pkg/v3/resource/stack"
	"github.com/pulumi/pulumi/pkg/v3/resource/stack/snapshot"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: savecost SECONDS FILE...")
		os.Exit(2)
	}
	seconds, err := strconv.Atoi(os.Args[1])
	if err != nil || seconds < 1 {
		fmt.Fprintf(os.Stderr, "savecost: SECONDS %q is not allowed (allowed: a whole number, 1 or more)\n", os.Args[1])
		os.Exit(2)
	}
	for _, file := range os.Args[2:] {
		if err := one(file, time.Duration(seconds)*time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "savecost: %s: %v\n", file, err)
			os.Exit(1)
		}
	}
}

func one(file string, budget time.Duration) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var vc apitype.VersionedCheckpoint
	if err := json.Unmarshal(raw, &vc); err != nil {
		return err
	}
	var chk apitype.CheckpointV3
	if err := json.Unmarshal(vc.Checkpoint, &chk); err != nil {
		return err
	}
	ctx := context.Background()
	// No Pulumi Cloud client: the passphrase provider is the only one these stacks use.
	provider := secrets.NewProvider(func(context.Context, string, bool) (*client.Client, error) {
		return nil, fmt.Errorf("not a Pulumi Cloud stack")
	})
	snap, err := stack.DeserializeDeploymentV3(ctx, *chk.Latest, provider)
	if err != nil {
		return err
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		return err
	}
	size, n := 0, 0
	start := time.Now()
	for ; n < 3 || time.Since(start) < budget; n++ {
		normal, err := snap.NormalizeURNReferences()
		if err != nil {
			return err
		}
		dep, version, features, err := stack.SerializeDeploymentWithMetadata(ctx, normal, false)
		if err != nil {
			return err
		}
		_ = snapshot.VerifyIntegrity(dep)
		inner, err := json.Marshal(apitype.CheckpointV3{Stack: chk.Stack, Latest: dep})
		if err != nil {
			return err
		}
		outer, err := json.Marshal(apitype.VersionedCheckpoint{Version: version, Features: features, Checkpoint: json.RawMessage(inner)})
		if err != nil {
			return err
		}
		_ = snapshot.VerifyIntegrity(dep)
		_ = enc.EncodeAll(outer, nil)
		size = len(outer)
	}
	perSave := time.Since(start) / time.Duration(n)
	out, _ := json.Marshal(map[string]any{"file": file, "resources": len(chk.Latest.Resources), "bytes": size, "saves": n, "msPerSave": float64(perSave.Microseconds()) / 1000})
	fmt.Println(string(out))
	return nil
}
