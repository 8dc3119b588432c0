"""On-disk formats of a release: pure writers (rows and a folder in, files
out; no database), each tested by a round trip through its reader."""
