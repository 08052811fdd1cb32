"""The run as a whole: the typed configuration that the flows, the command line and the deployments share."""
