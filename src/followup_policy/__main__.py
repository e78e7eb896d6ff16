"""``python -m followup_policy`` runs the command line."""

from .cli import main

main()
