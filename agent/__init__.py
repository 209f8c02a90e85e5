"""The agent loop: context building, planning, trajectory, recording and reports."""
