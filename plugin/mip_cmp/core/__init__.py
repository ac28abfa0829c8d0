"""What every stage shares: the limits of a render and their meter, the words of Argo CD, External Secrets and
Kubernetes, the names the platform reserves, the one error path, and small helpers (where a value sits,
Helm's merge, "did you mean", what may be printed). Nothing here reads a file or knows a stage."""
