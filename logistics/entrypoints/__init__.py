"""Entry points: the command line (and, later, the web server)."""
