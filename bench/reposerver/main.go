// Command reposerver-bench asks a running argocd-repo-server for one app's manifests, as the application
// controller does (GenerateManifest over gRPC), several times, and prints each round trip's wall time.
//
// With -synced, each round is what the controller does for an app that carries the
// argocd.argoproj.io/manifest-generate-paths annotation and has synced an earlier revision: first
// UpdateRevisionForPaths (did a file under those paths change between the two revisions? if not, the
// repo-server moves the cached manifests to the new revision), then GenerateManifest with the manifest cache on.
//
// It is built inside a copy of the argo-cd Go module (scripts/e2e_build.sh), so the request is Argo CD's
// own type. bench/reposerver.py runs it; one JSON object per round on stdout (changes: what
// UpdateRevisionForPaths answered, false without -synced):
//
//	{"ms": 141.2, "objects": 37, "changes": false}
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/reposerver/apiclient"
)

type params []string

func (p *params) String() string     { return strings.Join(*p, ",") }
func (p *params) Set(v string) error { *p = append(*p, v); return nil }

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "the repo-server's address (plaintext)")
	repo := flag.String("repo", "", "repository URL")
	revision := flag.String("revision", "main", "revision to render")
	path := flag.String("path", ".", "the app's path in the repository")
	plugin := flag.String("plugin", "", "plugin name (empty: the source type Argo CD detects)")
	app := flag.String("app", "bench", "Application name")
	namespace := flag.String("namespace", "bench", "destination namespace")
	generatePaths := flag.String("generate-paths", "", "the app's argocd.argoproj.io/manifest-generate-paths")
	rounds := flag.Int("rounds", 10, "requests to make, one after the other")
	synced := flag.String("synced", "", "the revision the app last synced: ask UpdateRevisionForPaths first")
	cached := flag.Bool("cache", false, "let the repo-server answer from its manifest cache (default: render)")
	var parameters params
	flag.Var(&parameters, "param", "plugin parameter NAME=VALUE (repeatable)")
	flag.Parse()

	source := &v1alpha1.ApplicationSource{RepoURL: *repo, Path: *path, TargetRevision: *revision}
	if *plugin != "" {
		source.Plugin = &v1alpha1.ApplicationSourcePlugin{Name: *plugin}
		for _, p := range parameters {
			name, value, _ := strings.Cut(p, "=")
			source.Plugin.Parameters = append(source.Plugin.Parameters,
				v1alpha1.ApplicationSourcePluginParameter{Name: name, String_: &value})
		}
	}
	clientset := apiclient.NewRepoServerClientset(*addr, 300, apiclient.TLSConfiguration{DisableTLS: true})
	conn, client, err := clientset.NewRepoServerClient()
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	out := json.NewEncoder(os.Stdout)
	// The paths the controller sends: the annotation's, each absolute one without its leading slash.
	var refreshPaths []string
	for _, p := range strings.Split(*generatePaths, ";") {
		if p != "" {
			refreshPaths = append(refreshPaths, strings.TrimPrefix(p, "/"))
		}
	}
	for i := 0; i < *rounds; i++ {
		request := &apiclient.ManifestRequest{
			Repo:                            &v1alpha1.Repository{Repo: *repo},
			Revision:                        *revision,
			NoCache:                         !*cached, // default: every round renders (the cache would answer from Redis)
			AppLabelKey:                     "app.kubernetes.io/instance",
			AppName:                         *app,
			Namespace:                       *namespace,
			ApplicationSource:               source,
			KustomizeOptions:                &v1alpha1.KustomizeOptions{},
			KubeVersion:                     "1.33.1",
			ProjectName:                     "default",
			ProjectSourceRepos:              []string{"*"},
			TrackingMethod:                  "annotation",
			AnnotationManifestGeneratePaths: *generatePaths,
		}
		began := time.Now()
		changes := false
		if *synced != "" {
			update, err := client.UpdateRevisionForPaths(context.Background(), &apiclient.UpdateRevisionForPathsRequest{
				Repo: request.Repo, Revision: *revision, SyncedRevision: *synced, Paths: refreshPaths,
				AppLabelKey: request.AppLabelKey, AppName: *app, Namespace: *namespace, ApplicationSource: source,
				KubeVersion: request.KubeVersion, TrackingMethod: request.TrackingMethod,
			})
			if err != nil {
				fail(err)
			}
			changes = update.Changes
			if update.Revision != "" {
				request.Revision = update.Revision
			}
		}
		response, err := client.GenerateManifest(context.Background(), request)
		if err != nil {
			fail(err)
		}
		ms := float64(time.Since(began).Microseconds()) / 1000
		if err := out.Encode(map[string]any{"ms": ms, "objects": len(response.Manifests), "changes": changes}); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "reposerver-bench:", err)
	os.Exit(1)
}
