"""How a partnership file is refused: whole, with every problem."""

from __future__ import annotations


class PartnershipFileError(Exception):
    """The file was refused whole; `problems` lists each as "path: message"."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"the partnership file was refused and nothing was changed:\n{lines}")
