"""Python controllers the control tests drive their plants with (one small story each)."""


class StationHandshake:
    """Start the machine as soon as a part is there and it is neither busy nor done."""

    def scan(self, inputs):
        ready = inputs["m1.part_present"] and not inputs["m1.busy"] and not inputs["m1.done"]
        return {"m1.start": ready}


class BeltPause:
    """Run the belt, except from 2 s to 5 s."""

    def scan(self, inputs):
        return {"belt.run": not 2.0 <= self.time_s < 5.0}


class ReleaseEveryTwoSeconds:
    """Pulse the source's release: on at 0 s, 2 s, 4 s ... for one scan each."""

    def __init__(self):
        self.last_s = None

    def scan(self, inputs):
        due = self.last_s is None or self.time_s - self.last_s >= 2.0 - 1e-9
        if due:
            self.last_s = self.time_s
        return {"feed.release": due}


class RobotToSecondTarget:
    """Robot handshake: start until the robot says done, then drop start (which clears done);
    place on target 2."""

    def scan(self, inputs):
        return {"r1.program": 2, "r1.start": not inputs["r1.done"]}


class FailsAtTenSeconds:
    """Runs the belt, then divides by zero at t = 10 s."""

    def scan(self, inputs):
        if self.time_s >= 10.0:
            return {"belt.run": 1 / 0 > 0}
        return {"belt.run": True}


class AlwaysRun:
    def scan(self, inputs):
        return {"belt.run": True}


class WritesASensor:
    def scan(self, inputs):
        return {"belt.exit": True}


class CountedHandshake:
    """The station handshake, counting the starts it gave; ``ready`` is its last decision."""

    def __init__(self):
        self.starts = 0
        self.ready = False
        self.name = "handshake"

    def scan(self, inputs):
        ready = inputs["m1.part_present"] and not inputs["m1.busy"] and not inputs["m1.done"]
        if ready and not self.ready:
            self.starts += 1
        self.ready = ready
        return {"m1.start": ready}


class ModeTurnsToText:
    """Runs the belt; its watched ``mode`` is a number until 2 s, then a word."""

    def __init__(self):
        self.mode = 0

    def scan(self, inputs):
        if self.time_s >= 2.0:
            self.mode = "auto"
        return {"belt.run": True}


class CountsItsReads:
    """Runs the belt; its ``level`` counts how often it is read."""

    def __init__(self):
        self.reads = 0

    @property
    def level(self):
        self.reads += 1
        return 0

    def scan(self, inputs):
        return {"belt.run": True}


class BeltNeverRuns:
    """Waits for an operator who never comes: the belt stays off."""

    def scan(self, inputs):
        return {"belt.run": False}
