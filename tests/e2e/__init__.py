"""The end-to-end suite: the real Argo CD, Kubernetes API server and External Secrets Operator on loopback
(`bash scripts/e2e.sh` builds them and runs it). Without their binaries every case is skipped, saying so."""
