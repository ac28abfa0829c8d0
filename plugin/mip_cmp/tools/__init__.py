"""The commands around the platform for people and CI: `validate`, `render`, `bootstrap`, `doctor`, `diff`,
`graph`, `import`.

Nothing here is on the `generate` path, and the core never imports this package: these commands may use
heavier optional libraries (deepdiff), which are imported only by the command that needs them.
"""
