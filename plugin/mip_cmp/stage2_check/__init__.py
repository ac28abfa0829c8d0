"""The second stage: checking what was read. Each file against its model (`modelcheck`), the files against
each other (`crosscheck`), and the network flows the apps declare (`flows`). Checks read nothing: they are
given documents and models, and return located problems."""
