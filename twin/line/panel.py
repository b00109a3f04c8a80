"""An operator panel: buttons, switches, lamps, a stack light and an emergency stop."""

from __future__ import annotations

from twin.scenario.signals import signals_of


class Panel:
    """Holds no parts. The operator's actions in the scenario press and release its buttons
    and turn its switches; the controller lights its lamps. While the emergency stop is
    pressed, the plant holds every actuator off, whatever the controller writes."""

    kind = "panel"
    states: tuple[str, ...] = ()

    def __init__(self, line, element_id: str, spec) -> None:
        self.line = line
        self.env = line.env
        self.id = element_id
        self.spec = spec
        self.values = {name: False for name in signals_of(spec)}
        self.router = None
        self.observer = line.observer

    def start(self) -> None:
        if self.spec.operator:
            self.env.process(self._operator())

    def _operator(self):
        env = self.env
        # Presses without a release are let go after their hold time; both kinds of step are
        # run in time order (a stable sort keeps the written order of steps at one time).
        steps = []
        for action in self.spec.operator:
            if action.press:
                steps.append((action.at_s, action.press, True))
                if not any(
                    a.release == action.press and a.at_s > action.at_s for a in self.spec.operator
                ):
                    steps.append((action.at_s + action.hold_s, action.press, False))
            elif action.release:
                steps.append((action.at_s, action.release, False))
            else:
                steps.append((action.at_s, action.switch, action.to))
        steps.sort(key=lambda step: step[0])
        for at_s, name, value in steps:
            if at_s > env.now:
                yield env.timeout(at_s - env.now)
            self.operate(name, value)

    def operate(self, name: str, value: bool) -> None:
        """The operator presses/releases a button or turns a switch (tests and the UI too)."""
        if name not in self.values:
            raise KeyError(f"{self.id} has no control {name!r}; it has {', '.join(self.values)}")
        self.values[name] = bool(value)
        if name == "estop":
            if self.observer is not None:
                text = "estop pressed" if value else "estop released"
                self.observer.event(self.env.now, self.id, text)
            self.line.estop_changed()

    @property
    def estop_pressed(self) -> bool:
        return self.values.get("estop", False)

    def sensor(self, name: str):
        """What reads a button, switch or the e-stop."""
        values = self.values
        return lambda: values[name]

    def actuator(self, name: str):
        """What lights a lamp or a stack light segment."""

        def light(value) -> None:
            self.values[name] = bool(value)

        return light

    def reset_statistics(self) -> None:
        pass

    def statistics(self, elapsed_s: float) -> dict:
        return {}
