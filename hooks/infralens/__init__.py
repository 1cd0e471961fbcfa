"""InfraLens: generate annotated code reading labs from a registry and starter files."""
