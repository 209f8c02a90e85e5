"""The practice apps agents act on: `sandbox/` (local web apps with server-side state the evaluators
read, served by SandboxServer) and `desktop/` (small Tk apps that log every input they receive)."""
