"""Dataset releases: immutable, versioned snapshots of the trusted dataset,
their exports (FERV39k layout, manifest, votes, card) and the dataset pages."""
