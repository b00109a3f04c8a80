"""Commissioning as code: checks judged on a scenario's runs, faults injected at the seam
between plant and controller, and named cases run as a suite (``twin commission``)."""
