"""mip-cmp: an Argo CD config-management plugin that expands mip.yaml files into the MIP platform."""

__version__ = "0.1.0"
