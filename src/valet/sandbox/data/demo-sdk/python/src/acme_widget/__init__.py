"""acme-widget: the sample SDK that `valet demo` releases."""

__version__ = "0.9.0"


class Widget:
    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Widget) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)
