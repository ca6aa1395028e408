"""bootstrap: converge an Azure DevOps MLOps project to a config file, idempotently."""

__version__ = "0.1.0"
