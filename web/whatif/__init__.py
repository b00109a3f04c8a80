"""What-if: a recorded run's scenario as a form, and the new run made from its changes."""
