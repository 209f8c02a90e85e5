"""`python -m tasks.cli`: the `qwen-agent` command line."""

from tasks.cli import main

main()
