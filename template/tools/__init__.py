"""Developer tools that are not part of the package: the runner behind `make check`."""
